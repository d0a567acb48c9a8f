"""The smart render's pure planning: GOP indexes, copied runs, audio skews and pieces."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

from cinestitch.media.gop import GopIndex, annexb_to_length_prefixed
from cinestitch.media.splice import (
    GLIDE_RATE,
    AudioCopy,
    AudioEncode,
    AudioSource,
    VideoCopy,
    VideoEncode,
    audio_glide,
    audio_skews,
    plan_audio,
    plan_video,
)
from cinestitch.media.timeline import plan_timeline
from cinestitch.media.types import ClipInfo, ClipSpec, StitchPlan, Transition

PYRAMID = [0, 4, 2, 1, 3, 8, 6, 5, 7, 9, 12, 10, 11]
"""Display order of an x264 B-pyramid stream, decode order: IDRs at 0 and 9 (keyframes)."""


def pyramid() -> GopIndex:
    return GopIndex(tuple(PYRAMID), tuple(d in (0, 9) for d in PYRAMID))


def test_index_from_timestamps_ranks_them() -> None:
    """Display indices are the ranks of the packets' pts."""
    index = GopIndex.from_pts([0, 2048, 1024, 512, 1536], [True, False, False, False, False])
    assert index.display == (0, 4, 2, 1, 3) and index.delay == 2


def test_copy_run_starts_on_a_clean_keyframe_and_stops_on_a_boundary() -> None:
    """A run inside [2, 13) starts on the IDR at 9; one inside [0, 8) stops at the mini-GOP
    boundary 5 (packets 0..4 show frames 0..4), never halfway through a B-pyramid."""
    index = pyramid()
    assert index.clean_keyframes == (0, 9)
    late = index.copy_run(2, 13)
    assert late is not None and (late.first, late.stop) == (9, 13)
    early = index.copy_run(0, 8)
    assert early is not None and (early.first, early.stop, early.stop_packet) == (0, 5, 5)
    assert index.copy_run(1, 9) is None
    assert index.keyframe_at_or_before(8) == 0


def test_annexb_becomes_length_prefixed() -> None:
    """Start codes (3 and 4 bytes) become 4-byte big-endian lengths."""
    data = b"\x00\x00\x00\x01\x67\xaa\x00\x00\x01\x68\xbb\xcc"
    assert (
        annexb_to_length_prefixed(data) == b"\x00\x00\x00\x02\x67\xaa\x00\x00\x00\x03\x68\xbb\xcc"
    )


def info(name: str, frames: int = 13) -> ClipInfo:
    return ClipInfo(Path(name), 64, 48, Fraction(12), frames / 12, frames, "h264", "aac", 48_000, 2)


def test_video_plan_covers_the_output_with_copies_and_seams() -> None:
    """A 3-frame crossfade between two pyramid clips: copy the first clip's untouched 10
    frames, encode the blend and the second clip's head up to its IDR, then copy from it."""
    plan = StitchPlan(
        clips=(
            ClipSpec(Path("a"), transition_out=Transition("crossfade", 0.25)),
            ClipSpec(Path("b")),
        ),
        width=64,
        height=48,
        fps=12,
    )
    timeline = plan_timeline(plan, [info("a"), info("b")])
    pieces = plan_video(timeline, [pyramid(), pyramid()])
    assert pieces == [
        VideoCopy(0, 0, 0, 0, 10),
        VideoEncode(10, 19),
        VideoCopy(1, 19, 9, 9, 13),
    ]
    assert timeline.total_frames == 23


def test_audio_skews_stay_within_half_a_packet_and_pieces_tile() -> None:
    """Each clip's skew is within ±512 samples, and the pieces tile [0, total) with copies on
    the 1024-sample grid."""
    plan = StitchPlan(clips=tuple(ClipSpec(Path(n)) for n in "abc"), width=64, height=48, fps=12)
    timeline = plan_timeline(plan, [info(n, 50) for n in "abc"])
    sources: list[AudioSource | None] = [AudioSource(0, 200_000)] * 3
    skews = audio_skews(timeline, 48_000, sources)
    assert all(-512 <= s < 512 for s in skews) and skews[0] == 0
    pieces = plan_audio(timeline, 48_000, sources, skews)
    at = 0
    for piece in pieces:
        assert piece.start == at
        at = piece.stop
        if isinstance(piece, AudioCopy):
            assert piece.start % 1024 == 0 and piece.stop % 1024 == 0
    assert at == 150 * 4000 and isinstance(pieces[-1], AudioEncode)
    assert sum(isinstance(p, AudioCopy) for p in pieces) == 3


def copies_and_joins(seconds: list[float]) -> tuple[list[AudioCopy], list[AudioEncode], list[int]]:
    """Cut-only clips of these lengths at 12 fps: the audio plan's copies, joins and skews."""
    names = [f"c{i}" for i in range(len(seconds))]
    plan = StitchPlan(clips=tuple(ClipSpec(Path(n)) for n in names), width=64, height=48, fps=12)
    infos = [info(n, round(s * 12)) for n, s in zip(names, seconds, strict=True)]
    timeline = plan_timeline(plan, infos)
    sources: list[AudioSource | None] = [AudioSource(0, round(s * 48_000)) for s in seconds]
    skews = audio_skews(timeline, 48_000, sources)
    pieces = plan_audio(timeline, 48_000, sources, skews)
    copies = [p for p in pieces if isinstance(p, AudioCopy)]
    joins = [p for p in pieces if isinstance(p, AudioEncode)]
    return copies, joins, skews


def test_each_join_is_just_wide_enough_for_its_glide() -> None:
    """Between two copies the lag changes by at most GLIDE_RATE a sample, and a join no
    wider than that needs (plus the packet overlapping each copy, and the grid) is kept."""
    copies, _, skews = copies_and_joins([1.0, 1.5, 1.25, 2.0, 1.0])
    assert len(copies) == 5 and len({skews[c.clip] for c in copies}) > 2
    for before, after in itertools.pairwise(copies):
        change = abs(skews[after.clip] - skews[before.clip])
        glide = after.start - (before.stop + 1024)
        assert glide >= change / GLIDE_RATE
        assert glide < change / GLIDE_RATE + 4 * 1024, (before, after, change)


def test_the_lag_is_each_copys_skew_and_zero_at_the_ends() -> None:
    """The re-encoded sound plays with the skew of the copy it meets, from a copy's first
    sample to one packet past its last, and in place at the output's two ends."""
    copies, joins, skews = copies_and_joins([1.0, 1.0, 1.0])
    pieces = sorted([*copies, *joins], key=lambda p: p.start)
    at, lag = audio_glide(pieces, skews, pieces[-1].stop)
    assert (at[0], lag[0], at[-1], lag[-1]) == (0, 0, pieces[-1].stop, 0)
    assert at == sorted(at)
    for copy in copies:
        i = at.index(copy.start)
        assert at[i + 1] == copy.stop + 1024 and lag[i] == lag[i + 1] == skews[copy.clip]
