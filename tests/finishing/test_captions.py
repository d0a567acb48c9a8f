"""Captions and scrolling comments: burned into exactly the frames that carry them, only those
spans re-encoded (the rest still copied), and the captions written as SRT and WebVTT."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from finishing_support import FPS, H, W, luma_frames, write_clip, yuv_frames

from cinestitch.media import ClipSpec, StitchPlan, Transition, plan_timeline, probe_clip
from cinestitch.media.carve import carve_copies
from cinestitch.media.finish import Caption, Comment, TextStyle
from cinestitch.media.gop import GopIndex
from cinestitch.media.remux import smart_stitch
from cinestitch.media.splice import VideoCopy, VideoEncode
from cinestitch.media.subtitles import caption_cues, render_srt, render_vtt, write_subtitles

DARK = (20, 20, 20)
BIG = TextStyle(size=0.3, box=0.0)
KEYINT = 4


def dark_clips(root: Path, seconds: float = 2) -> list[Path]:
    """Two dark, still clips with a keyframe every 4 frames (so text stays visible)."""
    return [
        write_clip(
            root / f"dark{i}.mp4",
            seconds=seconds,
            fps=FPS,
            width=W,
            height=H,
            color=DARK,
            pattern="solid",
            keyint=KEYINT,
        )
        for i in range(2)
    ]


def top_half(frames: list[np.ndarray]) -> list[int]:
    return [int(f[: H // 2].max()) for f in frames]


def test_caption_pixels_in_its_frames_only(tmp_path: Path) -> None:
    """A caption from 0.5 to 0.75 s shows bright text in frames 6-8 (at 12 fps), in the top
    half where it is placed, and nowhere else."""
    a, b = dark_clips(tmp_path)
    caption = Caption("GO", 0.5, 0.75, "top", BIG)
    plan = StitchPlan((ClipSpec(a, captions=(caption,)), ClipSpec(b)), W, H, FPS)
    smart_stitch(plan, tmp_path / "out.mp4", tmp_path / "seams")
    frames = luma_frames(tmp_path / "out.mp4")
    bright = [i for i, level in enumerate(top_half(frames)) if level > 150]
    assert bright == [6, 7, 8]
    assert all(level < 50 for level in top_half(frames)[:6] + top_half(frames)[9:])
    assert max(int(f[H // 2 :].max()) for f in frames) < 50


def test_adding_a_caption_reencodes_only_its_span(tmp_path: Path) -> None:
    """Restitching after adding one caption encodes one new piece, around the caption's
    frames and no wider than their GOPs; the crossfade's seam piece is reused, and every
    frame outside the new piece decodes exactly as before."""
    a, b = dark_clips(tmp_path)
    work = tmp_path / "seams"
    fade = Transition("crossfade", 0.5)
    before = StitchPlan((ClipSpec(a, transition_out=fade), ClipSpec(b)), W, H, FPS)
    first = smart_stitch(before, tmp_path / "before.mp4", work)
    caption = Caption("NEW", 0.5, 0.75, "top", BIG)
    after = StitchPlan(
        (ClipSpec(a, transition_out=fade, captions=(caption,)), ClipSpec(b)), W, H, FPS
    )
    second = smart_stitch(after, tmp_path / "after.mp4", work)
    assert (second.pieces_encoded, second.pieces_reused) == (1, first.pieces_encoded)
    new_frames = second.encoded_frames - first.encoded_frames
    assert 3 <= new_frames <= 3 + 2 * KEYINT
    old, new = yuv_frames(tmp_path / "before.mp4"), yuv_frames(tmp_path / "after.mp4")
    changed = [i for i, (x, y) in enumerate(zip(old, new, strict=True)) if not np.array_equal(x, y)]
    assert {6, 7, 8} <= set(changed)
    assert max(changed) - min(changed) < new_frames


def test_comment_scrolls_right_to_left(tmp_path: Path) -> None:
    """A comment enters at the right edge at its time and moves left frame by frame,
    crossing onto the next clip; before it enters there is no text."""
    a, b = dark_clips(tmp_path, seconds=1)
    comment = Comment("WOW", at=0.5, seconds=1.0, style=TextStyle(size=0.25, box=0.0))
    plan = StitchPlan((ClipSpec(a, comments=(comment,)), ClipSpec(b)), W, H, FPS)
    smart_stitch(plan, tmp_path / "out.mp4", tmp_path / "seams")
    frames = luma_frames(tmp_path / "out.mp4")
    assert all(int(f.max()) < 50 for f in frames[:6])
    centres = []
    for f in frames[7:16]:
        cols = np.nonzero((f > 150).any(axis=0))[0]
        assert cols.size, "the comment is on screen"
        centres.append(float(cols.mean()))
    assert all(later < earlier for earlier, later in itertools.pairwise(centres))
    assert all(int(f.max()) < 50 for f in frames[19:])


def test_text_spans_are_carved_out_of_copies() -> None:
    """A copied run over text frames is split: the text frames and their GOP margins become
    an encoded piece, the rest stays copied, and the pieces still cover the output."""
    index = GopIndex(tuple(range(24)), tuple(i % 4 == 0 for i in range(24)))
    video = [VideoCopy(0, 0, 0, 0, 24)]
    pieces = carve_copies(video, [(6, 9)], [index])
    assert pieces == [VideoCopy(0, 0, 0, 0, 6), VideoEncode(6, 12), VideoCopy(0, 12, 12, 12, 24)]
    assert carve_copies(video, [], [index]) == video


def test_subtitle_files_follow_the_burned_in_frames(tmp_path: Path) -> None:
    """The SRT and WebVTT cues are in output time (the second clip starts after the first)
    and escaped as each format needs."""
    a, b = dark_clips(tmp_path, seconds=1)
    plan = StitchPlan(
        (
            ClipSpec(a, captions=(Caption("Kick-off", 0.25, 0.5),)),
            ClipSpec(b, captions=(Caption("Goal <3 & more", 0.0, 0.75),)),
        ),
        W, H, FPS,
    )  # fmt: skip
    timeline = plan_timeline(plan, [probe_clip(c.path) for c in plan.clips])
    cues = caption_cues(plan, timeline)
    assert render_srt(cues) == (
        "1\n00:00:00,250 --> 00:00:00,500\nKick-off\n\n"
        "2\n00:00:01,000 --> 00:00:01,750\nGoal <3 & more\n"
    )
    assert render_vtt(cues) == (
        "WEBVTT\n\n00:00:00.250 --> 00:00:00.500\nKick-off\n\n"
        "00:00:01.000 --> 00:00:01.750\nGoal &lt;3 &amp; more\n"
    )
    written = write_subtitles(plan, timeline, tmp_path / "film.mp4")
    assert [p.name for p in written] == ["film.srt", "film.vtt"]


@pytest.mark.parametrize("position", ["top", "middle", "bottom"])
def test_caption_position(tmp_path: Path, position: str) -> None:
    """``position`` puts the text in the top, middle or bottom third of the frame."""
    (a, _) = dark_clips(tmp_path, seconds=1)
    caption = Caption("HI", 0.0, 1.0, position, TextStyle(size=0.2, box=0.0))  # type: ignore[arg-type]
    smart_stitch(
        StitchPlan((ClipSpec(a, captions=(caption,)),), W, H, FPS), tmp_path / "o.mp4", tmp_path
    )
    frame = luma_frames(tmp_path / "o.mp4")[3]
    rows = np.nonzero((frame > 150).any(axis=1))[0]
    third = {"top": 0, "middle": 1, "bottom": 2}[position]
    assert int(rows.mean()) * 3 // H == third
