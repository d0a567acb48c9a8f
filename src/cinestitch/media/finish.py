"""Finishing values: sound effects at the cuts, music ducking, captions, scrolling comments
and speed changes (pure: no PyAV, numpy or Pillow, so the manifest model can hold them).

Times are seconds. A caption's and a comment's are counted from the first frame its
segment shows (after the head trim, and after any speed change); a speed range's are the
clip's own (before trims), like ``trim`` itself. ``Speed.output_time`` and
``Speed.source_time`` map between the two clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

CaptionPosition = Literal["bottom", "top", "middle"]
CAPTION_POSITIONS: tuple[CaptionPosition, ...] = ("bottom", "top", "middle")
SpeedAudio = Literal["pitch", "mute"]
SPEED_AUDIO: tuple[SpeedAudio, ...] = ("pitch", "mute")


@dataclass(frozen=True)
class SoundEffect:
    """A sound mixed in at a transition: it starts ``offset`` seconds from the seam
    (negative: before it) at ``volume`` (linear gain)."""

    path: Path
    offset: float = 0.0
    volume: float = 1.0


@dataclass(frozen=True)
class Duck:
    """The music bed lowered by ``db`` decibels wherever the segments' own sound is louder
    than ``threshold`` dBFS (RMS over one video frame), gliding over ``ramp`` seconds."""

    db: float
    threshold: float = -40.0
    ramp: float = 0.2

    @property
    def gain(self) -> float:
        """The bed's linear gain while ducked."""
        return float(10 ** (-self.db / 20))


@dataclass(frozen=True)
class TextStyle:
    """How on-screen text looks: ``size`` as a fraction of the frame's height, ``color`` as
    ``#rrggbb``, and the opacity of the dark box behind it (0: none)."""

    size: float = 0.08
    color: str = "#ffffff"
    box: float = 0.5


@dataclass(frozen=True)
class Caption:
    """Text burned into the picture from ``start`` to ``end`` seconds of its segment."""

    text: str
    start: float
    end: float
    position: CaptionPosition = "bottom"
    style: TextStyle = field(default_factory=TextStyle)


@dataclass(frozen=True)
class Comment:
    """A bullet comment: it enters at the right edge ``at`` seconds into its segment and
    crosses the frame to the left in ``seconds`` (it may scroll on over the next segment)."""

    text: str
    at: float
    seconds: float = 4.0
    style: TextStyle = field(default_factory=lambda: TextStyle(size=0.07, box=0.0))


@dataclass(frozen=True)
class Speed:
    """Play the clip ``rate`` times as fast (0.5: slow motion) from ``start`` to ``end``
    seconds of the clip (``None``: to its end); the sound there is time-stretched keeping
    its pitch, or muted."""

    rate: float
    start: float = 0.0
    end: float | None = None
    audio: SpeedAudio = "pitch"

    def bounds(self, duration: float) -> tuple[float, float]:
        """The range in the clip's seconds, within a clip of ``duration`` seconds."""
        end = duration if self.end is None else min(self.end, duration)
        start = min(max(0.0, self.start), end)
        return start, end

    def output_time(self, t: float, duration: float) -> float:
        """Where the clip's second ``t`` plays once the speed applies."""
        a, b = self.bounds(duration)
        inside = min(max(t, a), b) - a
        return t + inside * (1 / self.rate - 1)

    def source_time(self, t: float, duration: float) -> float:
        """The clip's second that plays at second ``t`` of the retimed clip."""
        a, b = self.bounds(duration)
        if t <= a:
            return t
        slow_end = a + (b - a) / self.rate
        if t <= slow_end:
            return a + (t - a) * self.rate
        return t - slow_end + b

    def trims(self, head: float, tail: float, duration: float) -> tuple[float, float]:
        """Head and tail trims given in the clip's seconds, in the retimed clip's."""
        total = self.output_time(duration, duration)
        kept_end = self.output_time(duration - tail, duration)
        return self.output_time(head, duration), total - kept_end


def subtitle_paths(video: Path) -> tuple[Path, Path]:
    """Where the subtitles of ``video`` go: beside it, ``.srt`` and ``.vtt``."""
    return video.with_suffix(".srt"), video.with_suffix(".vtt")
