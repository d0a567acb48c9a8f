"""Measure what a viewer sees at each seam: how alike the pictures either side of it are
(SSIM and PSNR of the last kept frame before it and the first kept frame after it), and each
segment's mean colour (CIE L*a*b*), from which the report computes colour drift.

The frames compared are the ones the stitch keeps (after trims, at the output's rate), taken
from the conformed clips the stitcher copies, so a score describes the video as built.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from cinestitch.media.frames import Rgb, psnr
from cinestitch.media.probe import probe_clip
from cinestitch.media.stills import frames_at
from cinestitch.media.timeline import ClipTrack, plan_timeline
from cinestitch.media.types import StitchPlan

Floats = npt.NDArray[np.float64]
SSIM_WIDTH = 320
"""Pictures are compared at most this wide: seams are about content, not grain."""
WINDOW = 7
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
_CODES = np.arange(256, dtype=np.float64) / 255.0
SRGB_TO_LINEAR: Floats = np.where(
    _CODES <= 0.04045, _CODES / 12.92, ((_CODES + 0.055) / 1.055) ** 2.4
)
"""sRGB's transfer curve undone, for each 8-bit code."""


@dataclass(frozen=True)
class ClipLook:
    """What one clip shows as the stitch keeps it."""

    path: Path
    start: float
    """Seconds into the output where its first kept frame shows."""
    seconds: float
    """Seconds of it the output keeps."""
    lab: tuple[float, float, float]
    """Mean CIE L*a*b* colour of its first, middle and last kept frames."""


@dataclass(frozen=True)
class SeamLook:
    """How alike the pictures either side of one seam are."""

    ssim: float
    psnr: float


def measure_stitch(plan: StitchPlan) -> tuple[list[ClipLook], list[SeamLook]]:
    """Every clip's colour and every seam's continuity, from the clips ``plan`` stitches."""
    timeline = plan_timeline(plan, [probe_clip(c.path) for c in plan.clips])
    fps = timeline.fps
    edges = [_kept_frames(track, fps) for track in timeline.tracks]
    looks = [
        ClipLook(track.path, track.start / fps, track.kept / fps, mean_lab(frames))
        for track, frames in zip(timeline.tracks, edges, strict=True)
    ]
    seams = [
        SeamLook(ssim(before[-1], after[0]), psnr(before[-1], after[0]))
        for before, after in itertools.pairwise(edges)
    ]
    return looks, seams


def _kept_frames(track: ClipTrack, fps: int) -> list[Rgb]:
    """The clip's first, middle and last kept frames."""
    picks = [track.source_frame(i, fps) for i in (0, track.kept // 2, track.kept - 1)]
    return frames_at(track.path, picks)


def luma(picture: Rgb) -> Floats:
    """BT.601 luma of an RGB picture, at most ``SSIM_WIDTH`` wide."""
    image = Image.fromarray(picture).convert("L")
    if image.width > SSIM_WIDTH:
        height = max(WINDOW, round(image.height * SSIM_WIDTH / image.width))
        image = image.resize((SSIM_WIDTH, height), Image.Resampling.BOX)
    values: Floats = np.asarray(image, dtype=np.float64)
    return values


def ssim(a: Rgb, b: Rgb) -> float:
    """Mean structural similarity of two same-shaped pictures' luma (1 identical, about 0
    unrelated), over 7x7 windows (the whole picture when it is smaller than that)."""
    if a.shape != b.shape:
        raise ValueError(f"cannot compare pictures of shapes {a.shape} and {b.shape}")
    x, y = luma(a), luma(b)
    w = min(WINDOW, *x.shape)
    mx, my = _box(x, w), _box(y, w)
    sxx = _box(x * x, w) - mx * mx
    syy = _box(y * y, w) - my * my
    sxy = _box(x * y, w) - mx * my
    top = (2 * mx * my + C1) * (2 * sxy + C2)
    bottom = (mx * mx + my * my + C1) * (sxx + syy + C2)
    return float(np.mean(top / bottom))


def _box(values: Floats, w: int) -> Floats:
    """Means over every w x w window (summed-area table)."""
    table = np.pad(values, ((1, 0), (1, 0))).cumsum(axis=0).cumsum(axis=1)
    sums: Floats = table[w:, w:] - table[:-w, w:] - table[w:, :-w] + table[:-w, :-w]
    return sums / (w * w)


def small(picture: Rgb) -> Rgb:
    """``picture`` at most ``SSIM_WIDTH`` wide (box-filtered, so its mean colour stays)."""
    image = Image.fromarray(picture)
    if image.width <= SSIM_WIDTH:
        return picture
    height = max(1, round(image.height * SSIM_WIDTH / image.width))
    return np.asarray(image.resize((SSIM_WIDTH, height), Image.Resampling.BOX), dtype=np.uint8)


def mean_lab(pictures: list[Rgb]) -> tuple[float, float, float]:
    """The mean CIE L*a*b* (D65) colour of the pictures' pixels (taken at most
    ``SSIM_WIDTH`` wide: a 720p frame's mean colour costs a 320-wide one's)."""
    shrunk = [small(p) for p in pictures]
    pixels = np.concatenate([p.reshape(-1, 3) for p in shrunk])
    linear = SRGB_TO_LINEAR[pixels]  # (n, 3), a table look-up per sample
    r, g, b = linear[:, 0], linear[:, 1], linear[:, 2]
    xyz = [
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    ]
    fx, fy, fz = (
        np.where(v > (6 / 29) ** 3, np.cbrt(v), v / (3 * (6 / 29) ** 2) + 4 / 29) for v in xyz
    )
    lab = np.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)])
    mean = lab.mean(axis=1)
    return float(mean[0]), float(mean[1]), float(mean[2])
