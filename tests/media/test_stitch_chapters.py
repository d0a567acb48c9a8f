"""The stitch writes its chapters as it muxes (no second pass over the video), and keeps what
it read of each clip so that later steps lay the timeline out without opening the clips."""

from __future__ import annotations

import os
from pathlib import Path

import av
import pytest
from media_support import ClipFactory

from cinestitch.chapters import plan_chapters
from cinestitch.media import ClipSpec, StitchPlan, Transition, plan_timeline, probe_clip
from cinestitch.media.chapters import read_chapters, retitled
from cinestitch.media.probe_memo import ProbeMemo
from cinestitch.media.remux import smart_stitch

FPS, W, H = 12, 64, 36
TITLES = [("a", "The <first>"), ("b", "b"), ("c", "Third")]


def three_clips(make: ClipFactory, root: Path) -> list[Path]:
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
    return [
        make(root / f"c{i}.mp4", seconds=1, fps=FPS, width=W, height=H, color=c, keyint=6)
        for i, c in enumerate(colours)
    ]


def crossfaded(clips: list[Path]) -> StitchPlan:
    specs = (ClipSpec(clips[0], transition_out=Transition("crossfade", 0.25)), ClipSpec(clips[1]))
    return StitchPlan(clips=(*specs, ClipSpec(clips[2])), width=W, height=H, fps=FPS)


def test_stitch_writes_chapters_while_muxing(make_clip: ClipFactory, tmp_path: Path) -> None:
    """With titles, the stitched MP4 carries one chapter per clip where the timeline starts
    it (the crossfade's overlap comes off the first), beside one H.264 and one AAC stream."""
    clips = three_clips(make_clip, tmp_path)
    plan = crossfaded(clips)
    dest = tmp_path / "out.mp4"
    result = smart_stitch(plan, dest, tmp_path / "seams", titles=TITLES)
    stored = read_chapters(dest)
    assert [c.title for c in stored] == ["The <first>", "b", "Third"]
    assert [c.start for c in stored] == pytest.approx([0, 9 / FPS, 21 / FPS], abs=0.001)
    assert stored[-1].end == pytest.approx(33 / FPS, abs=0.001)
    expected = plan_chapters(plan_timeline(plan, [probe_clip(c) for c in clips]), TITLES)
    assert result.chapters == expected
    with av.open(str(dest)) as container:
        assert [s.type for s in container.streams] == ["video", "audio", "data"]
        assert container.streams.video[0].frames == 33


def test_stitch_without_titles_has_no_chapters(make_clip: ClipFactory, tmp_path: Path) -> None:
    """Without titles the output holds picture and sound only."""
    clips = three_clips(make_clip, tmp_path)
    dest = tmp_path / "out.mp4"
    smart_stitch(crossfaded(clips), dest, tmp_path / "seams")
    assert read_chapters(dest) == []


def test_retitled_keeps_the_stitch_times(make_clip: ClipFactory, tmp_path: Path) -> None:
    """New titles take the times the video holds; another number of segments means the
    chapters must be planned again."""
    clips = three_clips(make_clip, tmp_path)
    dest = tmp_path / "out.mp4"
    made = smart_stitch(crossfaded(clips), dest, tmp_path / "seams", titles=TITLES).chapters
    stored = read_chapters(dest)
    again = retitled(stored, [("a", "One"), ("b", "Two"), ("c", "Three")])
    assert again is not None
    assert [c.title for c in again] == ["One", "Two", "Three"]
    assert [(c.start_ms, c.end_ms) for c in again] == [(c.start_ms, c.end_ms) for c in made]
    assert retitled(stored, TITLES[:2]) is None


def test_probe_memo_reuses_what_the_stitch_read(make_clip: ClipFactory, tmp_path: Path) -> None:
    """What the stitch read of each clip is remembered across processes (a file); it equals
    a probe for the timeline's purposes, and a clip written again is probed again."""
    clips = three_clips(make_clip, tmp_path)
    result = smart_stitch(crossfaded(clips), tmp_path / "out.mp4", tmp_path / "seams")
    memo = ProbeMemo(tmp_path / "probes.json")
    memo.remember(result.clips)
    memo.save()
    fresh = ProbeMemo(tmp_path / "probes.json")
    for clip, seen in zip(clips, result.clips, strict=True):
        info = fresh.info(clip)
        assert info == seen
        probed = probe_clip(clip)
        assert (info.frame_count, info.fps, info.has_audio) == (
            probed.frame_count,
            probed.fps,
            probed.has_audio,
        )
    longer = make_clip(tmp_path / "new.mp4", seconds=2, fps=FPS, width=W, height=H)
    os.replace(longer, clips[0])
    assert fresh.info(clips[0]).frame_count == 2 * FPS


def test_probe_memo_survives_damage(make_clip: ClipFactory, tmp_path: Path) -> None:
    """A damaged memo file is read as empty: the clip is probed, and the memo written anew."""
    clip = three_clips(make_clip, tmp_path)[0]
    path = tmp_path / "probes.json"
    path.write_text("{not json")
    memo = ProbeMemo(path)
    assert memo.info(clip).frame_count == FPS
    memo.save()
    assert ProbeMemo(path).info(clip).frame_count == FPS


def test_fallback_stitch_carries_chapters(make_clip: ClipFactory, tmp_path: Path) -> None:
    """When no clip can be copied (here: none is in the output's size) the reference stitch
    runs, and its output carries the chapters too."""
    clips = [
        make_clip(tmp_path / f"odd{i}.mp4", seconds=1, fps=FPS, width=80, height=44)
        for i in range(3)
    ]
    dest = tmp_path / "out.mp4"
    notes: list[str] = []
    result = smart_stitch(
        crossfaded(clips), dest, tmp_path / "seams", note=notes.append, titles=TITLES
    )
    assert len(notes) == 3
    assert [c.title for c in read_chapters(dest)] == [t for _, t in TITLES]
    assert [c.start_ms for c in result.chapters] == [0, 750, 1750]
