"""Plan a smart render (pure: no PyAV): which stretches of the output are copied packet for
packet from a clip and which are re-encoded around the seams.

Video: an output frame can be copied when it shows a clip's own frame untouched (a ``Plain``
span without a ramp, from a clip whose packets fit the output). Each such stretch shrinks to
start on a clean keyframe and stop on a mini-GOP boundary (see ``gop``); everything between
copied runs, the transitions and the edges they drag in, becomes an ``EncodeRun``.

Audio: MP4 audio is a gapless chain of 1024-sample AAC packets, so a clip's packets can be
copied only onto the output's packet grid. Each copied clip's audio is therefore placed
``skew`` samples (within half a packet, at most 10.7 ms at 48 kHz) from its exact place; the
error does not add up from clip to clip. The joins, the first and the last packets are
re-encoded from the exact mix played with a *lag* that is each copied clip's skew over its
copied packets, 0 at the output's two ends, and glides linearly in between (``audio_glide``),
so the sound is continuous across every splice and crossfaded clips stay aligned with each
other. A join is as long as its transition needs, plus what the glide needs at
``GLIDE_RATE``: a cut between clips of equal skew re-encodes two or three packets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cinestitch.media.gop import GopIndex
from cinestitch.media.timeline import ClipTrack, Plain, Timeline
from cinestitch.media.types import StitchPlan, Transition

AAC_FRAME = 1024
GLIDE_RATE = 1 / 12
"""The largest speed change while a join's lag glides from one skew to the next (8 %, what
the earlier fixed six-packet margins allowed at worst). Joins are widened, by whole packets
taken from the copies beside them, until the glide fits; AAC encoding costs 0.3-0.7 ms a
packet, most of the cut path's time, so they are no wider."""
EDGE_PACKETS = 20
"""Packets of a clip's sound, past its trims and transitions, that its joins may decode: the
widest glide (12 packets), the join's own packets, the encoder's run-in and run-out, the
decoder's run-in and the skew (about 0.4 s at 48 kHz). The scan keeps them; a join reaching
further reads the clip again."""


@dataclass(frozen=True)
class VideoCopy:
    """Clip ``clip``'s packets [first_packet, stop_packet) shown as output frames from
    ``start``; they display source frames [first, first + frames)."""

    clip: int
    start: int
    first: int
    first_packet: int
    stop_packet: int

    @property
    def stop(self) -> int:
        return self.start + self.stop_packet - self.first_packet


@dataclass(frozen=True)
class VideoEncode:
    """Output frames [start, stop), rendered and encoded as one seam piece."""

    start: int
    stop: int


VideoPiece = VideoCopy | VideoEncode


@dataclass(frozen=True)
class AudioCopy:
    """Clip ``clip``'s AAC packets laid on output samples [start, stop); ``source`` is the
    clip's (decoded) sample at ``start``."""

    clip: int
    start: int
    stop: int
    source: int


@dataclass(frozen=True)
class AudioEncode:
    """Output samples [start, stop), mixed and encoded as one join piece."""

    start: int
    stop: int


AudioPiece = AudioCopy | AudioEncode


@dataclass(frozen=True)
class AudioSource:
    """A clip's copyable AAC track, as the planner needs it."""

    grid: int
    samples: int


def sample_at(frame: int, fps: int, rate: int) -> int:
    return frame * rate // fps


def head_samples(track: ClipTrack, rate: int) -> int:
    """Samples trimmed from the clip's audio start, rounded as the reference mix rounds."""
    return round(float(track.head) * rate)


def head_frames(track: ClipTrack, fps: int) -> int:
    """Source frames before clip frame 0 (exact when the clip runs at the output's rate)."""
    return int(track.head * fps)


def audio_edges(plan: StitchPlan) -> list[tuple[float, float]]:
    """Per clip, the seconds of sound at its head and at its tail that the joins may decode
    (what the scan keeps, so the joins need not open the clips again)."""
    slack = EDGE_PACKETS * AAC_FRAME / plan.encoder.sample_rate
    leaves = [_ramp_seconds(c.transition_out) for c in plan.clips]
    enters = [0.0, *leaves[:-1]]
    return [
        (c.head_trim + enter + slack, c.tail_trim + leave + slack)
        for c, enter, leave in zip(plan.clips, enters, leaves, strict=True)
    ]


def _ramp_seconds(t: Transition) -> float:
    """How long a transition touches each clip it joins."""
    return {"cut": 0.0, "fade": t.seconds / 2, "crossfade": t.seconds}[t.kind]


def plan_video(timeline: Timeline, indexes: list[GopIndex | None]) -> list[VideoPiece]:
    """The output's frames in order as copied runs and encoded pieces, covering it exactly."""
    copies = sorted(
        (run for span in timeline.spans for run in _copy_of(timeline, indexes, span)),
        key=lambda run: run.start,
    )
    pieces: list[VideoPiece] = []
    at = 0
    for run in copies:
        if run.start > at:
            pieces.append(VideoEncode(at, run.start))
        pieces.append(run)
        at = run.stop
    if at < timeline.total_frames:
        pieces.append(VideoEncode(at, timeline.total_frames))
    return pieces


def _copy_of(timeline: Timeline, indexes: list[GopIndex | None], span: object) -> list[VideoCopy]:
    if not isinstance(span, Plain) or span.ramp != "none":
        return []
    index = indexes[span.clip]
    if index is None:
        return []
    track = timeline.tracks[span.clip]
    h = head_frames(track, timeline.fps)
    run = index.copy_run(h + span.start, min(h + span.stop, len(index)))
    if run is None:
        return []
    start = track.start + run.first - h
    return [VideoCopy(span.clip, start, run.first, run.first_packet, run.stop_packet)]


def audio_skews(timeline: Timeline, rate: int, sources: list[AudioSource | None]) -> list[int]:
    """Per clip, how many samples late its audio plays so its packets land on the grid."""
    skews = []
    for track, source in zip(timeline.tracks, sources, strict=True):
        if source is None:
            skews.append(0)
            continue
        first = sample_at(track.start, timeline.fps, rate)
        e = (head_samples(track, rate) - first - source.grid) % AAC_FRAME
        skews.append(e - AAC_FRAME if e >= AAC_FRAME // 2 else e)
    return skews


def plan_audio(
    timeline: Timeline, rate: int, sources: list[AudioSource | None], skews: list[int]
) -> list[AudioPiece]:
    """The output's samples in order as copied packet runs and re-encoded pieces."""
    total = sample_at(timeline.total_frames, timeline.fps, rate)
    copies = [
        copy
        for i, source in enumerate(sources)
        if source is not None
        for copy in _audio_copy(timeline, rate, i, source, skews[i], total)
    ]
    pieces: list[AudioPiece] = []
    at = 0
    for copy in _with_room_to_glide(copies, skews, total):
        if copy.start > at:
            pieces.append(AudioEncode(at, copy.start))
        pieces.append(copy)
        at = copy.stop
    if at < total:
        pieces.append(AudioEncode(at, total))
    return pieces


def audio_glide(
    pieces: list[AudioPiece], skews: list[int], total: int
) -> tuple[list[int], list[int]]:
    """The lag (samples late) the re-encoded sound plays with, as knots (output sample, lag)
    joined by straight lines: the clip's skew from a copy's first sample to one packet past
    its last (that packet's decoded samples overlap the last copied one's), 0 at both ends."""
    at, lag = [0], [0]
    for piece in pieces:
        if isinstance(piece, AudioCopy):
            at += [piece.start, piece.stop + AAC_FRAME]
            lag += [skews[piece.clip]] * 2
    return [*at, total], [*lag, 0]


def _audio_copy(
    timeline: Timeline, rate: int, i: int, source: AudioSource, skew: int, total: int
) -> list[AudioCopy]:
    """The clip's untouched stretch of sound on the packet grid: the packets that hold only
    its own samples, where the mix played ``skew`` late is this clip alone at full level, up
    to one packet before that stretch ends (see ``audio_glide``)."""
    track, fps = timeline.tracks[i], timeline.fps
    first = sample_at(track.start, fps, rate)
    end = sample_at(track.start + track.kept, fps, rate)
    alone, until = first, end
    if track.enter.kind != "cut":
        alone = sample_at(track.start + track.enter.frames, fps, rate)
    if track.leave.kind != "cut":
        until = sample_at(track.start + track.kept - track.leave.frames, fps, rate)
    # the output sample where the clip's decoded sample 0 plays
    origin = first - head_samples(track, rate) + skew
    lo = max(alone + skew, origin, 2 * AAC_FRAME)
    hi = min(until + skew, origin + source.samples, total) - AAC_FRAME
    start = -(-lo // AAC_FRAME) * AAC_FRAME
    stop = hi // AAC_FRAME * AAC_FRAME
    if stop <= start:
        return []
    return [AudioCopy(i, start, stop, start - origin)]


def _with_room_to_glide(copies: list[AudioCopy], skews: list[int], total: int) -> list[AudioCopy]:
    """The copies, shortened by whole packets where the join between two of them (or between
    one and an end of the output, where the lag is 0) is too short for the glide; a copy
    left empty is dropped and its neighbours' join checked again. Linear: every step takes a
    packet from a copy, and a join never needs more than ``512 / GLIDE_RATE`` samples."""
    kept = list(copies)
    j = 0
    while j <= len(kept):
        before = kept[j - 1] if j > 0 else None
        after = kept[j] if j < len(kept) else None
        if _glide_fits(before, after, skews, total):
            j += 1
            continue
        if before is not None and (after is None or _length(before) >= _length(after)):
            kept[j - 1] = replace(before, stop=before.stop - AAC_FRAME)
            if _length(kept[j - 1]) <= 0:
                del kept[j - 1]
                j -= 1
        elif after is not None:
            kept[j] = replace(after, start=after.start + AAC_FRAME, source=after.source + AAC_FRAME)
            if _length(kept[j]) <= 0:
                del kept[j]
        else:
            break
    return kept


def _glide_fits(
    before: AudioCopy | None, after: AudioCopy | None, skews: list[int], total: int
) -> bool:
    a = before.stop + AAC_FRAME if before is not None else 0
    b = after.start if after is not None else total
    change = abs((skews[after.clip] if after else 0) - (skews[before.clip] if before else 0))
    return b - a >= math.ceil(change / GLIDE_RATE)


def _length(copy: AudioCopy) -> int:
    return copy.stop - copy.start
