"""Fit a picture of any size and aspect ratio into the output's frame: pad, crop or stretch.

Providers return 16:9, 9:16 and other sizes; the output has one. ``plan_fit`` (pure) says
where the scaled picture lands on the output's canvas, and ``fit_frame`` does it in the
encoder's format (yuv420p, see ``yuv``). Scaled sizes and offsets are even, so the half-size
chroma planes line up with the luma plane and no colour bleeds across the bars' edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np

from cinestitch.media.yuv import SWS_EXACT, Yuv, black, split_planes

FitMode = Literal["pad", "crop", "stretch"]
FIT_MODES: tuple[FitMode, ...] = ("pad", "crop", "stretch")
"""``pad``: the whole picture, letterboxed or pillarboxed in black; ``crop``: the frame filled,
the overflow cut equally from both sides; ``stretch``: scaled to the frame, aspect ignored."""


@dataclass(frozen=True)
class Placement:
    """The scaled picture's size and its top-left corner on the output's canvas; the corner
    is negative on an axis where the picture overflows and is cropped."""

    width: int
    height: int
    x: int
    y: int


def plan_fit(src_w: int, src_h: int, width: int, height: int, fit: FitMode) -> Placement:
    """Where a ``src_w`` x ``src_h`` picture goes in a ``width`` x ``height`` frame."""
    if fit == "stretch" or (src_w, src_h) == (width, height):
        return Placement(width, height, 0, 0)
    if fit == "crop":
        scale = max(width / src_w, height / src_h)
        w = max(width, _even(math.ceil(src_w * scale - 1e-9)))
        h = max(height, _even(math.ceil(src_h * scale - 1e-9)))
        return Placement(w, h, -_even_floor((w - width) // 2), -_even_floor((h - height) // 2))
    scale = min(width / src_w, height / src_h)
    w = min(width, max(2, _even(round(src_w * scale))))
    h = min(height, max(2, _even(round(src_h * scale))))
    return Placement(w, h, _even_floor((width - w) // 2), _even_floor((height - h) // 2))


def fit_frame(frame: av.VideoFrame, width: int, height: int, fit: FitMode) -> Yuv:
    """``frame`` as a ``width`` x ``height`` yuv420p picture, fitted as ``fit`` says; a frame
    already of that size and format passes through untouched."""
    if (frame.width, frame.height, frame.format.name) == (width, height, "yuv420p"):
        return np.asarray(frame.to_ndarray(), dtype=np.uint8)
    place = plan_fit(frame.width, frame.height, width, height, fit)
    scaled = frame.reformat(
        width=place.width, height=place.height, format="yuv420p", interpolation=SWS_EXACT
    )
    picture = np.asarray(scaled.to_ndarray(), dtype=np.uint8)
    if (place.width, place.height) == (width, height):
        return picture
    return _place(picture, place, width, height)


def _place(picture: Yuv, place: Placement, width: int, height: int) -> Yuv:
    """Copy the part of ``picture`` that falls inside the frame onto a black canvas."""
    canvas = black(width, height)
    src = split_planes(picture, place.width, place.height)
    out = split_planes(canvas, width, height)
    for plane, dst, k in zip(src, out, (1, 2, 2), strict=True):
        x, y = place.x // k, place.y // k
        ox, oy = max(0, x), max(0, y)
        sx, sy = max(0, -x), max(0, -y)
        w = min(dst.shape[1] - ox, plane.shape[1] - sx)
        h = min(dst.shape[0] - oy, plane.shape[0] - sy)
        dst[oy : oy + h, ox : ox + w] = plane[sy : sy + h, sx : sx + w]
    return canvas


def _even(n: int) -> int:
    return n + (n % 2)


def _even_floor(n: int) -> int:
    return n - (n % 2)
