"""Pictures as yuv420p numpy arrays: conform decoded frames, fade and blend them.

The stitcher works in the encoder's own format, one (h*3/2, w) uint8 array per frame (the Y
plane, then U, then V, as ``VideoFrame.to_ndarray`` packs them and ``Mp4Writer`` takes them),
so a frame that needs no change costs no colour conversion. Fades and crossfades are linear in
Y'CbCr, so blending the planes directly is exact; black is Y=16, U=V=128 (limited range).
"""

from __future__ import annotations

import math

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import Interpolation

Yuv = npt.NDArray[np.uint8]
"""One yuv420p picture packed as (height * 3 / 2, width)."""
Planes = tuple[Yuv, Yuv, Yuv]

SWS_EXACT = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.BITEXACT
"""libswscale flags that give the same pixels on every CPU (no SIMD shortcuts)."""
BLACK_Y, BLACK_C = 16, 128


def split_planes(packed: Yuv, width: int, height: int) -> Planes:
    flat = packed.reshape(-1)
    luma, chroma = width * height, (width // 2) * (height // 2)
    y = flat[:luma].reshape(height, width)
    u = flat[luma : luma + chroma].reshape(height // 2, width // 2)
    v = flat[luma + chroma : luma + 2 * chroma].reshape(height // 2, width // 2)
    return y, u, v


def join_planes(y: Yuv, u: Yuv, v: Yuv) -> Yuv:
    height, width = y.shape
    packed = np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)])
    return packed.reshape(height * 3 // 2, width)


def black(width: int, height: int) -> Yuv:
    picture = np.full((height * 3 // 2, width), BLACK_C, dtype=np.uint8)
    picture[:height] = BLACK_Y
    return picture


def conform(frame: av.VideoFrame, width: int, height: int) -> Yuv:
    """``frame`` as a width x height yuv420p picture: scaled to cover, then centre-cropped.

    A frame already of that size and format passes through untouched.
    """
    if (frame.width, frame.height, frame.format.name) == (width, height, "yuv420p"):
        return np.asarray(frame.to_ndarray(), dtype=np.uint8)
    scale = max(width / frame.width, height / frame.height)
    scaled_w = max(width, _even(math.ceil(frame.width * scale - 1e-9)))
    scaled_h = max(height, _even(math.ceil(frame.height * scale - 1e-9)))
    scaled = frame.reformat(
        width=scaled_w, height=scaled_h, format="yuv420p", interpolation=SWS_EXACT
    )
    y, u, v = split_planes(np.asarray(scaled.to_ndarray(), dtype=np.uint8), scaled_w, scaled_h)
    x0, y0 = _even_floor((scaled_w - width) // 2), _even_floor((scaled_h - height) // 2)
    cx, cy, cw, ch = x0 // 2, y0 // 2, width // 2, height // 2
    return join_planes(
        y[y0 : y0 + height, x0 : x0 + width],
        u[cy : cy + ch, cx : cx + cw],
        v[cy : cy + ch, cx : cx + cw],
    )


def fade(picture: Yuv, gain: float, floor: Yuv) -> Yuv:
    """``picture`` dimmed toward ``floor`` (black): gain 1 keeps it, gain 0 gives black."""
    return blend(floor, picture, gain)


def blend(a: Yuv, b: Yuv, alpha: float) -> Yuv:
    """``a * (1 - alpha) + b * alpha``, rounded; alpha is the weight of ``b``."""
    mixed = a.astype(np.float32) * np.float32(1.0 - alpha) + b.astype(np.float32) * np.float32(
        alpha
    )
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def _even(n: int) -> int:
    return n + (n % 2)


def _even_floor(n: int) -> int:
    return n - (n % 2)
