"""Colour anchoring: match a clip's colour to its chain's first clip, per channel.

Each generated shot starts from the previous shot's last frame, and a model's small colour
shifts add up along a chain: by the fifth shot the grass is yellow. Conforming a chained
clip with a *grade* taken against the chain's first clip (the anchor) stops the drift
adding up: every clip's Y', Cb and Cr planes are moved to the anchor's mean and spread
(mean/variance matching, as in Reinhard et al.), one lookup table per plane for the whole
clip, so the grade never flickers from frame to frame.

Statistics are taken over every ``STRIDE``-th frame, on every other pixel of every other
row, as the output shows the clip (fitted to its size), so bars and crops count alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cinestitch.media.conform import fit_frame, shown_frames
from cinestitch.media.fit import FitMode
from cinestitch.media.probe import probe_clip
from cinestitch.media.yuv import Yuv, split_planes

STRIDE = 3
"""Frames between two that the statistics sample."""
MAX_GAIN = 2.0
"""The most a grade stretches (or, inverted, squeezes) a plane's spread."""
LIMITS = ((16, 235), (16, 240), (16, 240))
"""Limited-range bounds of Y', Cb and Cr: a grade never leaves them."""
METHOD = "mean-variance 1"
"""Names the matching in the conformed clip's cache key; bumped if it changes."""


@dataclass(frozen=True)
class ColourStats:
    """Mean and standard deviation of each of the Y', Cb, Cr planes."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def picture_stats(pictures: Iterable[Yuv], width: int, height: int) -> ColourStats:
    """The statistics of ``pictures`` (yuv420p, ``width`` x ``height``) taken together."""
    sums = np.zeros(3)
    squares = np.zeros(3)
    counts = np.zeros(3)
    for picture in pictures:
        for k, plane in enumerate(split_planes(picture, width, height)):
            sample = plane[::2, ::2].astype(np.float64)
            sums[k] += sample.sum()
            squares[k] += np.square(sample).sum()
            counts[k] += sample.size
    if not counts.all():
        raise ValueError("no picture to take colour statistics from")
    mean = sums / counts
    std = np.sqrt(np.maximum(squares / counts - mean**2, 0.0))
    return ColourStats(_three(mean), _three(std))


def clip_stats(path: Path, width: int, height: int, fps: int, fit: FitMode) -> ColourStats:
    """The statistics of ``path`` as an output of that size and rate shows it."""
    info = probe_clip(path)

    def sampled() -> Iterable[Yuv]:
        with closing(shown_frames(path, info, fps)) as frames:
            for n, frame in enumerate(frames):
                if n % STRIDE == 0:
                    yield fit_frame(frame, width, height, fit)

    return picture_stats(sampled(), width, height)


@dataclass(frozen=True, eq=False)
class Grade:
    """One lookup table per plane (256 values each)."""

    tables: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]

    def apply(self, picture: Yuv, width: int, height: int) -> Yuv:
        """``picture`` graded (a new array)."""
        out = np.empty_like(picture)
        for table, src, dst in zip(
            self.tables,
            split_planes(picture, width, height),
            split_planes(out, width, height),
            strict=True,
        ):
            dst[...] = table[src]
        return out


def match_grade(clip: ColourStats, anchor: ColourStats) -> Grade:
    """The grade that gives ``clip`` the anchor's mean and spread on each plane."""
    values = np.arange(256, dtype=np.float64)
    tables = []
    for k, (low, high) in enumerate(LIMITS):
        gain = anchor.std[k] / clip.std[k] if clip.std[k] > 0.5 else 1.0
        gain = min(MAX_GAIN, max(1 / MAX_GAIN, gain))
        mapped = (values - clip.mean[k]) * gain + anchor.mean[k]
        tables.append(np.clip(np.rint(mapped), low, high).astype(np.uint8))
    return Grade((tables[0], tables[1], tables[2]))


def _three(values: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])
