"""The chapters come from the stitch itself: after a restitch the chapters step only reads
them back and writes the WebVTT file, and a new title alone rewrites the container."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinestitch.actions import run_chapters
from cinestitch.media.chapters import read_chapters
from cinestitch.tasks import load_plan_or_exit
from tests.conftest import run_doit
from tests.review.review_support import FPS


def test_chapters_step_leaves_a_stitched_video_alone(copy_built: Path) -> None:
    """When the video already holds the chapters the manifest asks for, the step does not
    rewrite it (same file, same time) and still writes the WebVTT file."""
    video = copy_built / "build" / "review.mp4"
    vtt = copy_built / "build" / "review.chapters.vtt"
    vtt.unlink()
    before = video.stat()
    assert run_chapters(load_plan_or_exit(copy_built)) is None
    after = video.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert vtt.read_text().startswith("WEBVTT\n\nintro\n")


def test_chapters_step_retitles_in_place_of_the_stitch(copy_built: Path) -> None:
    """A new title makes the step copy the video into one with the new chapters, at the
    times the stitch gave them."""
    video = copy_built / "build" / "review.mp4"
    times = [(c.start, c.end) for c in read_chapters(video)]
    manifest = copy_built / "cinestitch.yaml"
    manifest.write_text(manifest.read_text().replace("title: Flight", "title: Gone"))
    assert run_chapters(load_plan_or_exit(copy_built)) is None
    stored = read_chapters(video)
    assert stored[-1].title == "Gone"
    assert [(c.start, c.end) for c in stored] == times


def test_transition_edit_moves_the_chapters(copy_built: Path) -> None:
    """A longer crossfade restitches, and the video's chapters and the WebVTT file follow
    the new timeline: the chapter after the crossfade starts earlier."""
    manifest = copy_built / "cinestitch.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("crossfade, seconds: 0.25", "crossfade, seconds: 0.5"))
    result = run_doit(copy_built)
    assert result.returncode == 0, result.stdout + result.stderr
    ran = [line.split()[1] for line in result.stdout.splitlines() if line.startswith(".  ")]
    assert "stitch" in ran and "chapters" in ran
    stored = read_chapters(copy_built / "build" / "review.mp4")
    frames = [0, 24, 36, 60, 84]  # leap's 0.5 s crossfade into land overlaps 12 frames
    assert [c.start for c in stored] == pytest.approx([f / FPS for f in frames], abs=0.001)
    vtt = (copy_built / "build" / "review.chapters.vtt").read_text()
    assert "land\n00:00:01.500 --> 00:00:02.500\nland\n" in vtt
