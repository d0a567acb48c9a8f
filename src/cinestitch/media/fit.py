"""How a picture of any size and aspect ratio fits the output's frame: pad, crop or stretch.

Providers return 16:9, 9:16 and other sizes; the output has one. ``plan_fit`` says where the
scaled picture lands on the output's canvas (``conform.fit_frame`` does it to the pixels).
Scaled sizes and offsets are even, so the half-size chroma planes line up with the luma
plane and no colour bleeds across a bar's edge. Pure, and free of PyAV and numpy, so the
manifest model can name the modes without loading them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

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


def _even(n: int) -> int:
    return n + (n % 2)


def _even_floor(n: int) -> int:
    return n - (n % 2)
