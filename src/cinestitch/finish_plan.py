"""Planning the finishing steps (pure): existing clips, colour anchors, speed, captions,
comments, sound effects and ducking, as the build plan's steps and stitch see them.

- A ``clip:`` segment's source is the project's file: it is conformed, its last frame
  extracted and it is stitched like a generated clip, but never generated.
- A chained segment with colour anchoring is conformed against its chain's first segment's
  conformed clip (the *anchor*), whose identity is part of the conformed clip's cache key.
- A speed change happens in conform; the stitch sees the retimed clip, so the trims (given
  in the clip's own seconds) are mapped onto it here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from cinestitch.manifest.model import Project, Segment
from cinestitch.media.finish import Speed, TextStyle
from cinestitch.media.types import ClipSpec, StitchPlan


def chain_start(project: Project, segment: Segment) -> str:
    """The first segment of the chain ``segment`` is in (itself when it starts one)."""
    current = segment
    while current.reference.kind == "segment" and current.reference.value is not None:
        current = project.segment(current.reference.value)
    return current.id


def colour_anchor(project: Project, segment: Segment) -> str | None:
    """The segment whose colour ``segment``'s clip is matched to, if it anchors at all."""
    if not segment.colour_anchor:
        return None
    start = chain_start(project, segment)
    return None if start == segment.id else start


def finished_clip(project: Project, segment: Segment, spec: ClipSpec) -> ClipSpec:
    """``spec`` with the segment's captions, comments and sound effect, and its trims on
    the retimed clip when it has a speed change."""
    head, tail = spec.head_trim, spec.tail_trim
    if segment.speed is not None:
        head, tail = segment.speed.trims(head, tail, segment.seconds)
    transition = spec.transition_out
    if transition.sfx is not None:
        sfx = dataclasses.replace(transition.sfx, path=project.root / transition.sfx.path)
        transition = dataclasses.replace(transition, sfx=sfx)
    return dataclasses.replace(
        spec,
        head_trim=head,
        tail_trim=tail,
        transition_out=transition,
        captions=segment.captions,
        comments=segment.comments,
    )


def finished_stitch(project: Project, plan: StitchPlan) -> StitchPlan:
    """The stitch plan with every segment's finishing and the music's ducking."""
    clips = tuple(
        finished_clip(project, s, c) for s, c in zip(project.segments, plan.clips, strict=True)
    )
    duck = project.audio.duck if project.audio is not None else None
    return dataclasses.replace(plan, clips=clips, duck=duck)


def speed_settings(speed: Speed | None) -> dict[str, Any]:
    """What a speed change adds to a conformed clip's settings (nothing without one)."""
    if speed is None:
        return {}
    return {"speed": [speed.rate, speed.start, speed.end, speed.audio]}


def clip_extras(clip: ClipSpec, rel: Any) -> dict[str, Any]:
    """What a clip's finishing adds to the stitch settings (nothing when it has none, so
    a project without finishing keeps the settings, and the video, it had)."""
    extras: dict[str, Any] = {}
    if clip.captions:
        extras["captions"] = [
            [c.text, c.start, c.end, c.position, *_style(c.style)] for c in clip.captions
        ]
    if clip.comments:
        extras["comments"] = [[c.text, c.at, c.seconds, *_style(c.style)] for c in clip.comments]
    sfx = clip.transition_out.sfx
    if sfx is not None:
        extras["sfx"] = [rel(sfx.path), sfx.offset, sfx.volume]
    return extras


def stitch_extras(plan: StitchPlan) -> dict[str, Any]:
    """What the stitch's finishing adds to its settings."""
    if plan.duck is None:
        return {}
    return {"duck": [plan.duck.db, plan.duck.threshold, plan.duck.ramp]}


def sfx_files(plan: StitchPlan) -> list[Path]:
    """The sound effects the stitch reads (its file dependencies)."""
    found = [c.transition_out.sfx.path for c in plan.clips if c.transition_out.sfx is not None]
    return list(dict.fromkeys(found))


def _style(style: TextStyle) -> list[object]:
    return [style.size, style.color, style.box]
