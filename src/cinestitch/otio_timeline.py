"""The stitch as an OpenTimelineIO timeline for an editor, and its CMX 3600 EDL.

The timeline is the stitch as cinestitch made it, frame for frame, so an editor starts from
the first cut rather than from a folder of clips:

- ``V1`` holds each segment's conformed clip (``build/conformed/<id>.mp4``) over the range
  the video keeps, a marker at its start (its chapter title, with the segment's prompt,
  provider, model and cost in the marker's metadata);
- a crossfade is a dissolve that starts where the incoming segment begins (the outgoing clip
  runs on under it, as CMX 3600 dissolves do); a fade through black is a dissolve into and
  out of a gap (black) as long as the fade;
- ``A1`` holds the segments' own sound on the same layout, ``A2`` the music bed (looped as
  the manifest says), ``A3`` and on the transitions' sound effects.

The track's duration is the video's frame count exactly. The EDL (video only, one track) is
written where the frame rate has a SMPTE timecode (``handoff.EDL_RATES``); elsewhere there
is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from cinestitch import __version__
from cinestitch.atomic import atomic_path
from cinestitch.handoff import has_edl
from cinestitch.lock import Lock
from cinestitch.media.timeline import ClipTrack, Timeline
from cinestitch.plan import BuildPlan

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
DISSOLVE = otio.schema.TransitionTypes.SMPTE_Dissolve


@dataclass(frozen=True)
class Cut:
    """One clip as the track shows it: frames of its source, and the dissolves around it."""

    source_start: int
    frames: int
    fade_in: int
    """Frames of black it dissolves in from (a fade), before it."""
    dissolve_out: int
    """Frames it runs on under the next clip (a crossfade) or into black (a fade)."""
    fade_out: bool


def plan_cuts(timeline: Timeline) -> list[Cut]:
    """Each clip's range on the track, so that the track lasts the video's frame count."""
    fps = timeline.fps
    cuts = []
    for track in timeline.tracks:
        head = track.enter.frames if track.enter.kind == "fade" else 0
        tail = track.leave.frames if track.leave.kind != "cut" else 0
        cuts.append(
            Cut(
                source_start=track.source_frame(head, fps),
                frames=track.kept - head - tail,
                fade_in=head,
                dissolve_out=tail,
                fade_out=track.leave.kind == "fade",
            )
        )
    return cuts


def build_handoff(
    plan: BuildPlan, timeline: Timeline, sounds: Mapping[Path, float], lock: Lock | None = None
) -> otio.schema.Timeline:
    """The OTIO timeline of ``timeline`` (the stitch laid out); ``sounds`` holds the length
    in seconds of the music and each sound effect."""
    fps = timeline.fps
    project = plan.project
    result = otio.schema.Timeline(name=project.title, global_start_time=RT(0, fps))
    result.metadata["cinestitch"] = {
        "version": __version__,
        "size": f"{timeline.width}x{timeline.height}",
        "fps": fps,
        "frames": timeline.total_frames,
    }
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    sound = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    for i, cut in enumerate(plan_cuts(timeline)):
        segment = project.segments[i]
        track = timeline.tracks[i]
        entry = lock.entry(segment.id) if lock is not None else None
        info = {
            "segment": segment.id,
            "prompt": project.prompts[segment.id].text if segment.id in project.prompts else "",
            "provider": entry.provider if entry else segment.provider.name,
            "model": entry.model if entry else segment.provider.model,
            "cost_usd": entry.cost_usd if entry else None,
        }
        for lane in (video, sound):
            _lay(lane, cut, track, fps, segment.chapter_title, info, marker=lane is video)
    result.tracks.append(video)
    result.tracks.append(sound)
    bed = plan.stitch.audio_bed
    if bed is not None and bed.path in sounds:
        result.tracks.append(_music(bed, sounds[bed.path], timeline))
    for lane in _effects(plan, timeline, sounds):
        result.tracks.append(lane)
    return result


def _media(path: Path, track: ClipTrack, fps: int) -> otio.schema.ExternalReference:
    available = TR(RT(0, fps), RT(track.source_frames, fps))
    return otio.schema.ExternalReference(target_url=path.as_uri(), available_range=available)


def _lay(
    lane: otio.schema.Track,
    cut: Cut,
    track: ClipTrack,
    fps: int,
    title: str,
    info: dict[str, Any],
    marker: bool,
) -> None:
    """Append one clip to ``lane`` with the gap and dissolves of its fades and crossfades."""
    if cut.fade_in:
        if not (len(lane) and isinstance(lane[-1], otio.schema.Gap)):
            lane.append(_gap(0, fps))
        _grow(lane[-1], cut.fade_in, fps)
        lane.append(_dissolve("fade in", cut.fade_in, 0, fps))
    clip = otio.schema.Clip(
        name=title,
        media_reference=_media(track.path, track, fps),
        source_range=TR(RT(cut.source_start, fps), RT(cut.frames, fps)),
        metadata={"cinestitch": info},
    )
    if marker:
        clip.markers.append(
            otio.schema.Marker(
                name=title,
                marked_range=TR(RT(cut.source_start, fps), RT(0, fps)),
                color=otio.schema.MarkerColor.GREEN,
                metadata={"cinestitch": info},
            )
        )
    lane.append(clip)
    if cut.dissolve_out and cut.fade_out:
        lane.append(_dissolve("fade out", 0, cut.dissolve_out, fps))
        lane.append(_gap(cut.dissolve_out, fps))
    elif cut.dissolve_out:
        lane.append(_dissolve("crossfade", 0, cut.dissolve_out, fps))


def _gap(frames: int, fps: int) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=TR(RT(0, fps), RT(frames, fps)))


def _grow(gap: Any, frames: int, fps: int) -> None:
    old = gap.source_range
    gap.source_range = TR(old.start_time, old.duration + RT(frames, fps))


def _dissolve(name: str, before: int, after: int, fps: int) -> otio.schema.Transition:
    return otio.schema.Transition(
        name=name, transition_type=DISSOLVE, in_offset=RT(before, fps), out_offset=RT(after, fps)
    )


def _music(bed: Any, seconds: float, timeline: Timeline) -> otio.schema.Track:
    """The music bed from the video's start: once, or repeated to its end when it loops."""
    fps = timeline.fps
    lane = otio.schema.Track(name="A2", kind=otio.schema.TrackKind.Audio)
    length = max(1, int(Fraction(seconds).limit_denominator(100_000) * fps))
    left = timeline.total_frames
    info = {"volume": bed.volume, "fade_in": bed.fade_in, "fade_out": bed.fade_out}
    while left > 0:
        frames = min(length, left)
        reference = otio.schema.ExternalReference(
            target_url=bed.path.as_uri(), available_range=TR(RT(0, fps), RT(length, fps))
        )
        lane.append(
            otio.schema.Clip(
                name=f"music: {bed.path.name}",
                media_reference=reference,
                source_range=TR(RT(0, fps), RT(frames, fps)),
                metadata={"cinestitch": info},
            )
        )
        left -= frames
        if not bed.loop:
            break
    return lane


def _effects(
    plan: BuildPlan, timeline: Timeline, sounds: Mapping[Path, float]
) -> list[otio.schema.Track]:
    """The transitions' sound effects, each at its seam plus its offset, on as many tracks
    as their overlaps need."""
    fps = timeline.fps
    lanes: list[tuple[otio.schema.Track, int]] = []
    for i, spec in enumerate(plan.stitch.clips[:-1]):
        sfx = getattr(spec.transition_out, "sfx", None)
        if sfx is None or sfx.path not in sounds:
            continue
        at = timeline.tracks[i + 1].start + round(sfx.offset * fps)
        skip = max(0, -at)
        length = max(1, round(sounds[sfx.path] * fps))
        frames = length - skip
        if frames <= 0:
            continue
        start = max(0, at)
        lane = next((x for x in lanes if x[1] <= start), None)
        if lane is None:
            name = f"A{3 + len(lanes)}"
            lane = (otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio), 0)
            lanes.append(lane)
        track, end = lane
        if start > end:
            track.append(_gap(start - end, fps))
        reference = otio.schema.ExternalReference(
            target_url=sfx.path.as_uri(), available_range=TR(RT(0, fps), RT(length, fps))
        )
        track.append(
            otio.schema.Clip(
                name=f"sfx: {sfx.path.name}",
                media_reference=reference,
                source_range=TR(RT(skip, fps), RT(frames, fps)),
                metadata={"cinestitch": {"volume": sfx.volume, "offset": sfx.offset}},
            )
        )
        lanes[lanes.index(lane)] = (track, start + frames)
    return [lane for lane, _ in lanes]


def write_handoff(result: otio.schema.Timeline, otio_path: Path, edl_path: Path, fps: int) -> bool:
    """Write the ``.otio`` and, at a timecode rate, the ``.edl`` (a stale one is removed);
    whether an EDL was written."""
    with atomic_path(otio_path) as tmp:
        otio.adapters.write_to_file(result, str(tmp), adapter_name="otio_json")
    if not has_edl(fps):
        edl_path.unlink(missing_ok=True)
        return False
    text = otio.adapters.write_to_string(result, adapter_name="cmx_3600")
    with atomic_path(edl_path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return True
