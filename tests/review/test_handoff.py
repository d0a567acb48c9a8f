"""The editor's timeline: ``build/<name>.otio`` reads back with OpenTimelineIO frame-exact
(clips, dissolves, gaps for fades, the music on its own track, markers per segment), and the
CMX 3600 EDL of its picture reads back as long."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from cinestitch.media import probe_clip
from tests.review.review_support import FPS, IDS

RT = otio.opentime.RationalTime


def _read(root: Path) -> otio.schema.Timeline:
    return otio.adapters.read_from_file(str(root / "build" / "review.otio"))


def test_otio_tracks_last_exactly_the_video(built_review: tuple[Path, str]) -> None:
    """The picture and the segments' sound last the final video's frame count exactly, the
    music bed (2 s, not looped) sits on its own track from the start."""
    root, _ = built_review
    timeline = _read(root)
    frames = probe_clip(root / "build" / "review.mp4").frame_count
    names = [t.name for t in timeline.tracks]
    assert names == ["V1", "A1", "A2"]
    v1, a1, a2 = timeline.tracks
    assert v1.kind == otio.schema.TrackKind.Video and a2.kind == otio.schema.TrackKind.Audio
    assert v1.duration() == RT(frames, FPS) and a1.duration() == RT(frames, FPS)
    assert timeline.duration() == RT(frames, FPS)
    (music,) = list(a2)
    assert music.source_range.duration == RT(48, FPS)
    assert music.media_reference.target_url.endswith("/assets/tone.wav")


def test_otio_clips_are_the_kept_ranges_of_the_conformed_clips(
    built_review: tuple[Path, str],
) -> None:
    """Each segment is one clip of build/conformed/<id>.mp4 over the frames the video shows
    untouched; the crossfade is a dissolve the outgoing clip runs under, the fade a dissolve
    into and out of black (a gap)."""
    root, _ = built_review
    timeline = _read(root)
    v1 = timeline.tracks[0]
    items = [(type(i).__name__, i) for i in v1]
    assert [kind for kind, _ in items] == [
        "Clip", "Clip", "Transition", "Clip", "Transition", "Gap", "Transition", "Clip", "Clip",
    ]  # fmt: skip
    clips = [i for kind, i in items if kind == "Clip"]
    urls = [c.media_reference.target_url for c in clips]
    assert urls == [(root / "build" / "conformed" / f"{sid}.mp4").as_uri() for sid in IDS]
    ranges = [(c.source_range.start_time.value, c.source_range.duration.value) for c in clips]
    # leap ends under a 6-frame crossfade; land fades out over 6 frames, jump fades in over 6
    assert ranges == [(0, 24), (0, 18), (0, 18), (6, 18), (0, 24)]
    assert all(c.source_range.duration.rate == FPS for c in clips)
    crossfade, fade_out, fade_in = (i for kind, i in items if kind == "Transition")
    assert crossfade.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert (crossfade.in_offset.value, crossfade.out_offset.value) == (0, 6)
    assert (fade_out.in_offset.value, fade_out.out_offset.value) == (0, 6)
    assert (fade_in.in_offset.value, fade_in.out_offset.value) == (6, 0)
    gap = items[5][1]
    assert gap.source_range.duration == RT(12, FPS)
    available = clips[1].media_reference.available_range
    assert available.duration == RT(24, FPS)


def test_otio_markers_name_each_segment(built_review: tuple[Path, str]) -> None:
    """Each picture clip carries one marker: its chapter title, with the segment's id,
    prompt, provider and model in the metadata."""
    root, _ = built_review
    timeline = _read(root)
    clips = [i for i in timeline.tracks[0] if isinstance(i, otio.schema.Clip)]
    markers = [c.markers[0] for c in clips]
    assert [len(c.markers) for c in clips] == [1] * 5
    assert [m.name for m in markers] == ["The <intro>", "leap", "land", "jump", "Flight"]
    info = markers[1].metadata["cinestitch"]
    assert info["segment"] == "leap" and info["provider"] == "animatic"
    assert info["prompt"].startswith("The fox leaps")
    assert markers[3].marked_range.start_time == clips[3].source_range.start_time


def test_edl_reads_back_as_long_as_the_video(built_review: tuple[Path, str]) -> None:
    """The CMX 3600 EDL (picture only) has one event per segment and its dissolves, and
    reads back with the adapter to the video's length."""
    root, _ = built_review
    edl = (root / "build" / "review.edl").read_text()
    assert edl.startswith("TITLE: Review & finish")
    assert "D 006" in edl and "BL" in edl
    for sid in IDS:
        assert f"conformed/{sid}.mp4" in edl
    back = otio.adapters.read_from_string(edl, adapter_name="cmx_3600", rate=FPS)
    frames = probe_clip(root / "build" / "review.mp4").frame_count
    assert back.tracks[0].duration() == RT(frames, FPS)
