"""Plain values that cross the media boundary; nothing here imports PyAV."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

from cinestitch.media.finish import Caption, Comment, Duck, SoundEffect

TransitionKind = Literal["cut", "fade", "crossfade"]


@dataclass(frozen=True)
class ClipInfo:
    """What a probe learns about a video file."""

    path: Path
    width: int
    height: int
    fps: Fraction
    duration: float
    """Seconds, from the video stream (frames / fps when known)."""
    frame_count: int
    video_codec: str
    audio_codec: str | None
    sample_rate: int | None
    audio_channels: int | None
    pixel_format: str | None = None
    """The decoder's picture format, e.g. ``yuv420p`` (what browsers play)."""

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


@dataclass(frozen=True)
class Transition:
    """How one clip hands over to the next.

    ``cut``: no overlap. ``fade``: the outgoing clip fades to black over its last
    ``seconds / 2`` and the incoming one fades in from black over its first ``seconds / 2``
    (no overlap, audio dips likewise). ``crossfade``: the clips overlap by ``seconds``;
    video and audio blend linearly. On the last clip, ``fade`` fades the video out to black.
    """

    kind: TransitionKind = "cut"
    seconds: float = 0.0
    sfx: SoundEffect | None = None
    """A sound effect mixed in at the seam (see ``media.effects``)."""


@dataclass(frozen=True)
class ClipSpec:
    """One input of a stitch: a file, what to trim from it, and how it hands over to the next."""

    path: Path
    head_trim: float = 0.0
    tail_trim: float = 0.0
    transition_out: Transition = field(default_factory=Transition)
    captions: tuple[Caption, ...] = ()
    """Text burned into the clip's frames (see ``media.captions``)."""
    comments: tuple[Comment, ...] = ()
    """Scrolling comments that enter over the clip."""


@dataclass(frozen=True)
class AudioBed:
    """Music mixed under the clips' own audio for the whole video."""

    path: Path
    volume: float = 1.0
    fade_in: float = 0.0
    fade_out: float = 0.0
    loop: bool = False


@dataclass(frozen=True)
class EncoderSettings:
    """Output encoding; defaults give a browser-playable H.264/AAC MP4."""

    crf: int = 20
    preset: str = "veryfast"
    audio_bitrate: int = 160_000
    sample_rate: int = 48_000
    threads: int = 2
    """Fixed, so that the same inputs give the same bytes on every machine."""


@dataclass(frozen=True)
class StitchPlan:
    """Everything the stitcher needs; equal plans produce byte-identical outputs."""

    clips: tuple[ClipSpec, ...]
    width: int
    height: int
    fps: int
    audio_bed: AudioBed | None = None
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    duck: Duck | None = None
    """How the music bed ducks under the clips' own sound."""

    @property
    def mixes_audio(self) -> bool:
        """Whether sound is added to the clips' own (music, effects): the whole track is
        then mixed and encoded, instead of copied between joins."""
        return self.audio_bed is not None or any(c.transition_out.sfx for c in self.clips)

    @property
    def has_text(self) -> bool:
        """Whether any clip carries captions or comments."""
        return any(c.captions or c.comments for c in self.clips)

    def expected_duration(self, clip_durations: list[float]) -> float:
        """Sum of kept clip durations minus crossfade overlaps (the output's length)."""
        kept = [
            d - c.head_trim - c.tail_trim for d, c in zip(clip_durations, self.clips, strict=True)
        ]
        overlaps = sum(
            c.transition_out.seconds
            for c in self.clips[:-1]
            if c.transition_out.kind == "crossfade"
        )
        return sum(kept) - overlaps
