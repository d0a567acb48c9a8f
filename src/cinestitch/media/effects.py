"""Sound at the cuts: effects placed at the seams, and the music bed ducked under the clips.

A transition's effect starts ``offset`` seconds from its *seam*: the cut itself, the black
instant between the two halves of a fade, or the middle of a crossfade's overlap (on the
last clip, the end of the video). Effects are decoded once, whole, at the output's rate.

Ducking follows the clips' own mix one output frame at a time: where its RMS is above the
threshold the bed's gain glides toward the ducked level, elsewhere back to 1, at most by
the full difference per ``ramp`` seconds. The mix is produced frame by frame in both the
reference and the smart render, so both duck identically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cinestitch.media.finish import Duck
from cinestitch.media.timeline import Timeline
from cinestitch.media.types import StitchPlan

Samples = npt.NDArray[np.float32]
Reader = Callable[[Path, int], Samples]
"""``read(path, rate)``: the whole sound of a file as stereo float at ``rate``."""


@dataclass(frozen=True, eq=False)
class PlacedEffect:
    """An effect's samples (volume applied) and the output sample it starts on."""

    first: int
    samples: Samples

    @property
    def stop(self) -> int:
        return self.first + int(self.samples.shape[1])


def seam_seconds(timeline: Timeline, clip: int) -> float:
    """When clip ``clip`` hands over to the next: the cut, the black point of a fade, or the
    middle of a crossfade (on the last clip, the end of the video)."""
    track = timeline.tracks[clip]
    end = track.start + track.kept
    if track.leave.kind == "crossfade":
        return (end - track.leave.frames / 2) / timeline.fps
    return end / timeline.fps


def place_effects(
    plan: StitchPlan, timeline: Timeline, rate: int, read: Reader
) -> list[PlacedEffect]:
    """Every transition's sound effect, decoded and placed on the output's samples."""
    placed: list[PlacedEffect] = []
    decoded: dict[Path, Samples] = {}
    for i, spec in enumerate(plan.clips):
        sfx = spec.transition_out.sfx
        if sfx is None:
            continue
        if sfx.path not in decoded:
            decoded[sfx.path] = read(sfx.path, rate)
        first = round((seam_seconds(timeline, i) + sfx.offset) * rate)
        samples = (decoded[sfx.path] * np.float32(sfx.volume)).astype(np.float32)
        placed.append(PlacedEffect(first, samples))
    return placed


def add_effects(out: Samples, at: int, effects: Sequence[PlacedEffect]) -> None:
    """Add the effects' samples that fall on output samples [at, at + len(out)) to ``out``."""
    stop = at + out.shape[1]
    for effect in effects:
        a, b = max(at, effect.first), min(stop, effect.stop)
        if a < b:
            out[:, a - at : b - at] += effect.samples[:, a - effect.first : b - effect.first]


class Ducker:
    """The bed's gain, chunk by chunk, from the clips' sound in the same chunk."""

    def __init__(self, duck: Duck, rate: int) -> None:
        self.low = duck.gain
        self.threshold = float(10 ** (duck.threshold / 20))
        self.per_sample = (1.0 - self.low) / max(1.0, duck.ramp * rate)
        self.gain = 1.0

    def __call__(self, voice: Samples) -> npt.NDArray[np.float32]:
        """The gain for each sample of the bed under ``voice`` (the clips' mix)."""
        n = int(voice.shape[1])
        if n == 0:
            return np.ones(0, dtype=np.float32)
        level = float(np.sqrt(np.mean(np.square(voice, dtype=np.float64))))
        target = self.low if level > self.threshold else 1.0
        steps = np.arange(1, n + 1, dtype=np.float64) * self.per_sample
        if target < self.gain:
            gain = np.maximum(self.gain - steps, target)
        else:
            gain = np.minimum(self.gain + steps, target)
        self.gain = float(gain[-1])
        return gain.astype(np.float32)
