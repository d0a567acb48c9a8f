"""Chapters: the final MP4 carries one chapter per segment where the stitch's timeline puts
it (crossfades shorten the chapter before them), the WebVTT file beside it says the same,
and a new title rewrites the container only."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from cinestitch.chapters import Chapter, render_vtt, vtt_time
from cinestitch.media import probe_clip
from cinestitch.media.chapters import read_chapters
from cinestitch.storyboard import parse_vtt
from tests.conftest import run_doit
from tests.review.review_support import FPS, IDS


def test_video_carries_one_chapter_per_segment(built_review: tuple[Path, str]) -> None:
    """Read back with PyAV: titles from ``title:`` or the id, starts at each segment's first
    kept frame (the crossfade's overlap comes off the segment before it), the last ending
    where the video ends."""
    root, _ = built_review
    video = root / "build" / "review.mp4"
    chapters = read_chapters(video)
    assert [c.title for c in chapters] == ["The <intro>", "leap", "land", "jump", "Flight"]
    frames = [0, 24, 42, 66, 90]  # leap's 0.25 s crossfade into land overlaps 6 frames
    assert [c.start for c in chapters] == pytest.approx([f / FPS for f in frames], abs=0.001)
    assert [c.end for c in chapters[:-1]] == [c.start for c in chapters[1:]]
    info = probe_clip(video)
    assert info.frame_count == 114
    assert chapters[-1].end == pytest.approx(info.duration, abs=0.001)


def test_chapters_leave_picture_and_sound_as_they_were(built_review: tuple[Path, str]) -> None:
    """Adding the chapters copied the stitch's packets: one H.264 and one AAC stream with
    every frame, and the chapters as the MP4's own chapter track."""
    root, _ = built_review
    with av.open(str(root / "build" / "review.mp4")) as container:
        kinds = [
            (s.type, s.codec_context.name if s.codec_context else None) for s in container.streams
        ]
        video = container.streams.video[0]
        assert video.frames == 114
    assert kinds[:2] == [("video", "h264"), ("audio", "aac")]
    assert [k for k in kinds[2:]] == [("data", None)]


def test_webvtt_chapters_file_beside_the_video(built_review: tuple[Path, str]) -> None:
    """``build/<name>.chapters.vtt`` is a WebVTT file with one cue per segment, named by its
    id, timed like the MP4's chapters, titles escaped."""
    root, _ = built_review
    text = (root / "build" / "review.chapters.vtt").read_text()
    assert text.startswith("WEBVTT\n\n")
    assert "intro\n00:00:00.000 --> 00:00:01.000\nThe &lt;intro&gt;\n" in text
    assert "land\n00:00:01.750 --> 00:00:02.750\nland\n" in text
    marks = parse_vtt(text)
    assert [m.segment for m in marks] == IDS
    stored = read_chapters(root / "build" / "review.mp4")
    assert [m.start for m in marks] == pytest.approx([c.start for c in stored], abs=0.001)


def test_new_title_rewrites_chapters_without_restitching(copy_built: Path) -> None:
    """Editing a title reruns only the chapters step (and the pages that show it): no
    segment, seam or stitch runs again, and the video's frames are the same."""
    manifest = copy_built / "cinestitch.yaml"
    manifest.write_text(manifest.read_text().replace("title: Flight", "title: Away it goes"))
    result = run_doit(copy_built)
    assert result.returncode == 0, result.stdout + result.stderr
    ran = [line.split()[1] for line in result.stdout.splitlines() if line.startswith(".  ")]
    assert "stitch" not in ran and not any(r.startswith(("generate", "conform")) for r in ran)
    assert "chapters" in ran and "handoff" in ran
    titles = [c.title for c in read_chapters(copy_built / "build" / "review.mp4")]
    assert titles[-1] == "Away it goes"
    assert "Away it goes" in (copy_built / "build" / "review.chapters.vtt").read_text()


def test_vtt_times_and_text() -> None:
    """Cue times are hh:mm:ss.mmm past an hour; a title loses its line breaks and markup."""
    from fractions import Fraction

    assert vtt_time(3_723_004) == "01:02:03.004"
    text = render_vtt([Chapter("a", "one\ntwo & <b>", Fraction(0), Fraction(3, 2))])
    assert text == "WEBVTT\n\na\n00:00:00.000 --> 00:00:01.500\none two &amp; &lt;b&gt;\n"
