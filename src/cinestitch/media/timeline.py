"""Lay out a stitch as whole output frames before touching any pixels (pure: no PyAV).

The output is an ordered list of spans. A ``Plain`` span is frames [start, stop) of one clip,
either untouched or ramping from or to black (a fade); a ``Crossfade`` span is the overlap of
one clip's tail with the next clip's head. Keeping this apart from rendering lets a later
change stream-copy untouched spans instead of re-encoding them.

Frame numbers inside a clip are *clip frames*: output frames (at the plan's fps) counted from
the first kept instant (after the head trim). ``ClipTrack.source_frame`` maps them to the
clip's own frames by time, so clips at another frame rate are conformed.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Literal

from cinestitch.errors import MediaError
from cinestitch.media.types import ClipInfo, StitchPlan, Transition

RampKind = Literal["none", "in", "out"]


@dataclass(frozen=True)
class Ramp:
    """How a clip enters or leaves: a cut, a fade through black, or a crossfade, in frames."""

    kind: Literal["cut", "fade", "crossfade"] = "cut"
    frames: int = 0


@dataclass(frozen=True)
class ClipTrack:
    """One input as the output uses it: where it lands and which of its frames it keeps."""

    path: Path
    start: int
    """Output frame showing the clip's first kept frame."""
    kept: int
    head: Fraction
    """Seconds trimmed from the clip's start."""
    source_fps: Fraction
    source_frames: int
    has_audio: bool
    enter: Ramp
    leave: Ramp

    def source_frame(self, i: int, fps: int) -> int:
        """The clip's own frame shown at clip frame ``i``: the one on screen at that instant."""
        at = (self.head + Fraction(i, fps)) * self.source_fps
        return min(max(0, int(at)), self.source_frames - 1)


@dataclass(frozen=True)
class Plain:
    """Clip frames [start, stop) of one clip; ``ramp`` fades them in from or out to black."""

    clip: int
    start: int
    stop: int
    ramp: RampKind = "none"

    @property
    def frames(self) -> int:
        return self.stop - self.start

    def gain(self, m: int) -> float:
        """Brightness of the span's m-th frame: in ends on 1, out ends on 0 (black)."""
        if self.ramp == "in":
            return (m + 1) / self.frames
        if self.ramp == "out":
            return (self.frames - 1 - m) / self.frames
        return 1.0


@dataclass(frozen=True)
class Crossfade:
    """The outgoing clip's clip frames [start, start + frames) blended with the incoming
    clip's first ``frames``; the incoming weight of the m-th is (m + 1) / (frames + 1)."""

    outgoing: int
    incoming: int
    start: int
    frames: int

    def alpha(self, m: int) -> float:
        return (m + 1) / (self.frames + 1)


Span = Plain | Crossfade


@dataclass(frozen=True)
class Timeline:
    """The whole output in frames: the clips as used, and the spans in output order."""

    width: int
    height: int
    fps: int
    tracks: tuple[ClipTrack, ...]
    spans: tuple[Span, ...]

    @cached_property
    def span_starts(self) -> tuple[int, ...]:
        """The output frame each span starts on (computed once: lookups bisect it)."""
        return tuple(itertools.accumulate((span.frames for span in self.spans), initial=0))[:-1]

    @cached_property
    def total_frames(self) -> int:
        return sum(span.frames for span in self.spans)

    def spans_between(self, start: int, stop: int) -> Iterator[tuple[int, Span]]:
        """The spans overlapping output frames [start, stop), each with its first frame;
        found by bisection, so a short stretch of a long timeline costs no full scan."""
        starts = self.span_starts
        i = max(0, bisect.bisect_right(starts, start) - 1)
        while i < len(self.spans) and starts[i] < stop:
            yield starts[i], self.spans[i]
            i += 1


def plan_timeline(plan: StitchPlan, infos: list[ClipInfo]) -> Timeline:
    """Frame-exact layout of ``plan`` given its probed clips; ``MediaError`` if impossible."""
    _check_output(plan, infos)
    kept = [
        _kept_frames(plan, spec.head_trim, spec.tail_trim, info)
        for spec, info in zip(plan.clips, infos, strict=True)
    ]
    leaves = [_ramp(plan, i) for i in range(len(plan.clips))]
    enters = [Ramp(), *leaves[:-1]]
    for i in range(len(infos)):
        _check_fits(plan, infos, kept, enters, leaves, i)
    tracks: list[ClipTrack] = []
    start = 0
    for i, (spec, info) in enumerate(zip(plan.clips, infos, strict=True)):
        tracks.append(
            ClipTrack(
                path=info.path,
                start=start,
                kept=kept[i],
                head=Fraction(spec.head_trim).limit_denominator(10_000),
                source_fps=info.fps,
                source_frames=info.frame_count,
                has_audio=info.has_audio,
                enter=enters[i],
                leave=leaves[i],
            )
        )
        start += kept[i] - (leaves[i].frames if leaves[i].kind == "crossfade" else 0)
    spans = [span for i, track in enumerate(tracks) for span in _clip_spans(i, track)]
    return Timeline(plan.width, plan.height, plan.fps, tuple(tracks), tuple(spans))


def _clip_spans(i: int, track: ClipTrack) -> list[Span]:
    """The clip's spans: fade-in, untouched body, then fade-out or the crossfade it leads."""
    spans: list[Span] = []
    body_start = track.enter.frames if track.enter.kind != "cut" else 0
    body_stop = track.kept - (track.leave.frames if track.leave.kind != "cut" else 0)
    if track.enter.kind == "fade" and body_start:
        spans.append(Plain(i, 0, body_start, "in"))
    if body_stop > body_start:
        spans.append(Plain(i, body_start, body_stop))
    if track.leave.kind == "fade" and track.leave.frames:
        spans.append(Plain(i, body_stop, track.kept, "out"))
    if track.leave.kind == "crossfade" and track.leave.frames:
        spans.append(Crossfade(i, i + 1, body_stop, track.leave.frames))
    return spans


def _check_output(plan: StitchPlan, infos: list[ClipInfo]) -> None:
    if not plan.clips:
        raise MediaError("stitch: the plan has no clips — add at least one")
    if len(infos) != len(plan.clips):
        raise ValueError(f"{len(infos)} probes for {len(plan.clips)} clips")
    if plan.width <= 0 or plan.height <= 0 or plan.width % 2 or plan.height % 2:
        raise MediaError(f"stitch: size {plan.width}x{plan.height} — use even, positive sizes")
    if plan.fps <= 0:
        raise MediaError(f"stitch: fps {plan.fps} — use a positive frame rate")


def _kept_frames(plan: StitchPlan, head: float, tail: float, info: ClipInfo) -> int:
    if head < 0 or tail < 0:
        raise MediaError(f"{info.path}: negative trim ({head:g} s, {tail:g} s) — trims are >= 0")
    kept = round((info.duration - head - tail) * plan.fps)
    if kept <= 0:
        raise MediaError(
            f"{info.path}: trims of {head + tail:g} s leave nothing of {info.duration:g} s "
            "— shorten the trims"
        )
    return kept


def _ramp(plan: StitchPlan, i: int) -> Ramp:
    """How clip ``i`` leaves: fades use half the seconds on each side, crossfades all."""
    spec = plan.clips[i]
    t: Transition = spec.transition_out
    if t.seconds < 0:
        raise MediaError(f"{spec.path}: transition of {t.seconds:g} s — use seconds >= 0")
    if t.kind == "crossfade" and i == len(plan.clips) - 1:
        raise MediaError(
            f"{spec.path}: the last clip has nothing to crossfade into — use fade or cut"
        )
    if t.kind == "fade":
        return Ramp("fade", round(t.seconds / 2 * plan.fps))
    if t.kind == "crossfade":
        return Ramp("crossfade", round(t.seconds * plan.fps))
    return Ramp()


def _check_fits(
    plan: StitchPlan,
    infos: list[ClipInfo],
    kept: list[int],
    enters: list[Ramp],
    leaves: list[Ramp],
    i: int,
) -> None:
    """A clip must hold its transitions: each one alone, and the one in plus the one out."""
    path, t = infos[i].path, plan.clips[i].transition_out
    joined = [i, i + 1] if i + 1 < len(infos) else [i]
    short = [k for k in joined if leaves[i].frames > kept[k]]
    if short:
        k = short[0]
        raise MediaError(
            f"{path}: a {t.seconds:g} s {t.kind} needs {leaves[i].frames} frames of each clip "
            f"it joins, but {infos[k].path} keeps only {kept[k]} — shorten the transition"
        )
    need = enters[i].frames + leaves[i].frames
    if need > kept[i]:
        raise MediaError(
            f"{path}: its transitions in and out need {need} frames but it keeps only "
            f"{kept[i]} — shorten a transition or the trims"
        )
