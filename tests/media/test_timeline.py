"""plan_timeline: the pure layout of a stitch in whole output frames (no media files)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from cinestitch.errors import MediaError
from cinestitch.media import ClipInfo, ClipSpec, Crossfade, Plain, StitchPlan, Transition
from cinestitch.media import plan_timeline as plan_timeline_
from cinestitch.media.timeline import Timeline

FPS = 12


def info(name: str, seconds: float = 1.0, fps: int = FPS, audio: bool = True) -> ClipInfo:
    frames = round(seconds * fps)
    return ClipInfo(
        path=Path(name),
        width=64,
        height=48,
        fps=Fraction(fps),
        duration=frames / fps,
        frame_count=frames,
        video_codec="h264",
        audio_codec="aac" if audio else None,
        sample_rate=48_000 if audio else None,
        audio_channels=2 if audio else None,
    )


def spec(name: str, kind: str = "cut", seconds: float = 0.0, head: float = 0, tail: float = 0):
    return ClipSpec(Path(name), head, tail, Transition(kind, seconds))  # type: ignore[arg-type]


def layout(specs: list[ClipSpec], infos: list[ClipInfo], width: int = 64) -> Timeline:
    return plan_timeline_(StitchPlan(tuple(specs), width, 48, FPS), infos)


def test_cuts_play_every_kept_frame_in_order() -> None:
    """Three 1 s clips joined by cuts: one untouched span each, 36 frames in all."""
    t = layout([spec("a"), spec("b"), spec("c")], [info("a"), info("b"), info("c")])
    assert t.spans == (Plain(0, 0, 12), Plain(1, 0, 12), Plain(2, 0, 12))
    assert t.total_frames == 36
    assert [track.start for track in t.tracks] == [0, 12, 24]


def test_crossfade_overlaps_tail_and_head() -> None:
    """A 0.25 s crossfade overlaps 3 frames: 24 - 3 = 21 frames, alphas (m+1)/(n+1)."""
    t = layout([spec("a", "crossfade", 0.25), spec("b")], [info("a"), info("b")])
    assert t.spans == (Plain(0, 0, 9), Crossfade(0, 1, 9, 3), Plain(1, 3, 12))
    assert t.total_frames == 21
    assert [t.tracks[0].start, t.tracks[1].start] == [0, 9]
    blend = t.spans[1]
    assert isinstance(blend, Crossfade)
    assert [blend.alpha(m) for m in range(3)] == [0.25, 0.5, 0.75]


def test_fade_ramps_through_black_without_overlap() -> None:
    """A 0.5 s fade darkens a's last 3 frames to black and lifts b's first 3; no overlap."""
    t = layout([spec("a", "fade", 0.5), spec("b")], [info("a"), info("b")])
    assert t.spans == (
        Plain(0, 0, 9),
        Plain(0, 9, 12, "out"),
        Plain(1, 0, 3, "in"),
        Plain(1, 3, 12),
    )
    assert t.total_frames == 24
    out, into = t.spans[1], t.spans[2]
    assert isinstance(out, Plain) and isinstance(into, Plain)
    assert [out.gain(m) for m in range(3)] == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert [into.gain(m) for m in range(3)] == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_fade_on_the_last_clip_fades_out_at_the_end() -> None:
    """Fade on the last clip ramps its last seconds/2 to black; a cut there does nothing."""
    t = layout([spec("a"), spec("b", "fade", 1.0)], [info("a"), info("b")])
    assert t.spans[-1] == Plain(1, 6, 12, "out")
    assert t.total_frames == 24
    assert t.tracks[1].leave.kind == "fade" and t.tracks[1].leave.frames == 6


def test_trims_keep_the_middle_and_shift_source_frames() -> None:
    """Trims keep round((duration - head - tail) * fps) frames, counted after the head."""
    t = layout([spec("a", head=0.25, tail=0.5), spec("b")], [info("a", 2.0), info("b")])
    first = t.tracks[0]
    assert first.kept == 15 and t.total_frames == 27
    assert [first.source_frame(i, FPS) for i in (0, 1, 14)] == [3, 4, 17]


def test_source_frames_are_chosen_by_time_across_frame_rates() -> None:
    """A 24 fps clip shows every other frame at 12 fps; a 6 fps clip shows each one twice."""
    t = layout([spec("fast"), spec("slow")], [info("fast", 1, 24), info("slow", 1, 6)])
    fast, slow = t.tracks
    assert (fast.kept, slow.kept) == (12, 12)
    assert [fast.source_frame(i, FPS) for i in range(4)] == [0, 2, 4, 6]
    assert [slow.source_frame(i, FPS) for i in range(4)] == [0, 0, 1, 1]
    assert slow.source_frame(11, FPS) == 5


def test_total_matches_the_plans_expected_duration() -> None:
    """The frame count agrees with StitchPlan.expected_duration (both count kept - overlaps)."""
    specs = [spec("a", "crossfade", 0.5, head=0.25), spec("b", "fade", 1.0), spec("c", tail=0.5)]
    infos = [info("a", 2), info("b", 2), info("c", 2)]
    plan = StitchPlan(tuple(specs), 64, 48, FPS)
    t = plan_timeline_(plan, infos)
    assert t.total_frames / FPS == pytest.approx(plan.expected_duration([2.0, 2.0, 2.0]))


def test_crossfade_longer_than_the_next_clip_is_refused() -> None:
    """A crossfade longer than the clip it joins raises MediaError naming both lengths."""
    with pytest.raises(MediaError, match=r"a 1 s crossfade needs 12 frames .* keeps only 6"):
        layout([spec("a", "crossfade", 1.0), spec("b")], [info("a", 2), info("b", 0.5)])


def test_transitions_in_and_out_must_fit_in_one_clip() -> None:
    """A clip cannot hold a 0.75 s crossfade in and a 0.75 s crossfade out in 1 s."""
    specs = [spec("a", "crossfade", 0.75), spec("b", "crossfade", 0.75), spec("c")]
    with pytest.raises(MediaError, match=r"^b: its transitions in and out need 18 frames"):
        layout(specs, [info("a"), info("b"), info("c")])


def test_trims_that_leave_nothing_are_refused() -> None:
    """Trims as long as the clip raise MediaError naming the clip."""
    with pytest.raises(MediaError, match=r"^a: trims of 1 s leave nothing of 1 s"):
        layout([spec("a", head=0.5, tail=0.5)], [info("a")])


def test_crossfade_out_of_the_last_clip_is_refused() -> None:
    """The last clip has nothing to crossfade into."""
    with pytest.raises(MediaError, match="nothing to crossfade into"):
        layout([spec("a", "crossfade", 0.25)], [info("a")])


def test_odd_output_size_is_refused() -> None:
    """yuv420p needs even sizes."""
    with pytest.raises(MediaError, match="size 63x48"):
        layout([spec("a")], [info("a")], width=63)


def test_spans_between_finds_only_the_overlapping_spans() -> None:
    """A stretch of output frames maps to exactly the spans it overlaps, each with its first
    frame, without walking the timeline from the start."""
    t = layout([spec("a", "crossfade", 0.25), spec("b"), spec("c")], [info(n) for n in "abc"])
    assert t.span_starts == (0, 9, 12, 21)
    assert list(t.spans_between(10, 13)) == [(9, t.spans[1]), (12, t.spans[2])]
    assert list(t.spans_between(0, 1)) == [(0, t.spans[0])]
    assert list(t.spans_between(21, 33)) == [(21, t.spans[3])]
