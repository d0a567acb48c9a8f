"""The finishing keys of a manifest: ``clip``, ``speed``, ``colour``, ``captions``,
``comments``, a transition's ``sfx`` and ``audio.duck`` — parsed into values, and checked.

Parsing is forgiving (a value of the wrong type becomes the default: the schema reports
it), like the rest of ``load``; the checks here say what the schema cannot: a caption past
its segment's end, a clip segment that asks to be generated, a clip that is no video, a
sound effect that is no sound. Every problem is one line at the key's line.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from cinestitch.errors import MediaError, Problem
from cinestitch.manifest.assets import _without_paths, music_problem
from cinestitch.manifest.checks import problem_at, resolve_inside
from cinestitch.manifest.document import KeyPath, YamlDocument
from cinestitch.manifest.model import Project, Reference, Segment
from cinestitch.media.finish import (
    CAPTION_POSITIONS,
    SPEED_AUDIO,
    Caption,
    CaptionPosition,
    Comment,
    Duck,
    SoundEffect,
    Speed,
    SpeedAudio,
    TextStyle,
)

GENERATION_KEYS = (
    "template",
    "prompt",
    "reference",
    "seconds",
    "seed",
    "takes",
    "take",
    "provider",
    "end_frame",
    "extend",
    "between",
    "pin",
    "characters",
)
"""Keys that only a generated segment has; a ``clip:`` segment that sets one is an error."""


def segment_fields(raw: Mapping[str, Any], project_anchor: bool) -> dict[str, Any]:
    """The finishing fields of a ``Segment`` from its raw mapping."""
    colour = _mapping(raw.get("colour"))
    anchor = colour.get("anchor")
    clip = raw.get("clip") if isinstance(raw.get("clip"), str) else None
    fields: dict[str, Any] = {
        "clip": clip,
        "speed": parse_speed(raw.get("speed")),
        "colour_anchor": anchor == "chain" if anchor in ("chain", "none") else project_anchor,
        "captions": tuple(c for c in map(parse_caption, _list(raw.get("captions"))) if c),
        "comments": tuple(c for c in map(parse_comment, _list(raw.get("comments"))) if c),
    }
    if clip is not None:
        fields["reference"] = Reference("none")
    return fields


def project_anchor(data: Mapping[str, Any]) -> bool:
    """Whether the project anchors its chains' colour (``colour: {anchor: chain}``)."""
    return _mapping(data.get("colour")).get("anchor") == "chain"


SPEED_RATES = (0.25, 4.0)
"""The rates the schema allows; any other is reported there and not used."""


def parse_speed(value: Any) -> Speed | None:
    """``0.5`` or ``{rate, start, end, audio}``; ``None`` when absent or unusable."""
    low, high = SPEED_RATES
    whole = _number(value)
    if whole is not None:
        return Speed(whole) if low <= whole <= high else None
    raw = _mapping(value)
    rate = _number(raw.get("rate"))
    if rate is None or not low <= rate <= high:
        return None
    audio: SpeedAudio = next((a for a in SPEED_AUDIO if a == raw.get("audio")), "pitch")
    return Speed(rate, _num(raw.get("start"), 0.0), _number(raw.get("end")), audio)


def parse_style(value: Any, default: TextStyle) -> TextStyle:
    raw = _mapping(value)
    color = raw.get("color")
    return TextStyle(
        size=_num(raw.get("size"), default.size),
        color=color if isinstance(color, str) and _is_hex(color) else default.color,
        box=_num(raw.get("box"), default.box),
    )


def parse_caption(value: Any) -> Caption | None:
    raw = _mapping(value)
    text, start, end = raw.get("text"), _number(raw.get("start")), _number(raw.get("end"))
    if not isinstance(text, str) or start is None or end is None:
        return None
    wanted = raw.get("position")
    position: CaptionPosition = next((p for p in CAPTION_POSITIONS if p == wanted), "bottom")
    return Caption(text, start, end, position, parse_style(raw.get("style"), TextStyle()))


def parse_comment(value: Any) -> Comment | None:
    raw = _mapping(value)
    text, at = raw.get("text"), _number(raw.get("at"))
    if not isinstance(text, str) or at is None:
        return None
    default = Comment("", 0.0)
    seconds = _num(raw.get("seconds"), default.seconds)
    style = parse_style(raw.get("style"), default.style)
    return Comment(text, at, seconds if seconds > 0 else default.seconds, style)


def parse_sfx(value: Any) -> SoundEffect | None:
    """``assets/whoosh.wav`` or ``{file, offset, volume}``; the path as the manifest has it
    (relative to the project)."""
    if isinstance(value, str):
        return SoundEffect(Path(value))
    raw = _mapping(value)
    file = raw.get("file")
    if not isinstance(file, str):
        return None
    return SoundEffect(Path(file), _num(raw.get("offset"), 0.0), _num(raw.get("volume"), 1.0))


def parse_duck(audio: Mapping[str, Any]) -> Duck | None:
    """``audio.duck`` (dB) with its ``duck_threshold`` and ``duck_ramp``."""
    db = _number(audio.get("duck"))
    if db is None or db <= 0:
        return None
    default = Duck(0.0)
    return Duck(
        db,
        _num(audio.get("duck_threshold"), default.threshold),
        _num(audio.get("duck_ramp"), default.ramp),
    )


def resolve_footage(project: Project, doc: YamlDocument) -> tuple[Project, list[Problem]]:
    """Each ``clip:`` segment with ``seconds`` set to its video's length; a problem for each
    clip that is outside the project, missing, or not a video."""
    problems: list[Problem] = []
    segments = []
    lengths: dict[Path, float | str] = {}
    for s in project.segments:
        if s.clip is None:
            segments.append(s)
            continue
        key: KeyPath = ("segments", s.index, "clip")
        path = resolve_inside(project.root, s.clip)
        if path is None:
            problem = f"'{s.clip}' is outside the project — keep clips inside it"
        elif not path.is_file():
            problem = f"'{s.clip}' does not exist in the project"
        else:
            if path not in lengths:
                lengths[path] = _footage_seconds(path)
            found = lengths[path]
            if isinstance(found, float):
                segments.append(dataclasses.replace(s, seconds=found))
                continue
            shown = _without_paths(found, (path, project.root / s.clip), s.clip)
            problem = f"'{s.clip}' {shown}"
        problems.append(problem_at(doc, key, problem))
        segments.append(s)
    return dataclasses.replace(project, segments=tuple(segments)), problems


def _footage_seconds(path: Path) -> float | str:
    """The length of the video at ``path``, or why it is not one (a few words)."""
    from cinestitch.media.container import decoded_video
    from cinestitch.media.probe import probe_clip

    fix = "use a video file (mp4, mov, mkv, webm)"
    try:
        info = probe_clip(path)
        with closing(decoded_video(path)) as frames:
            if next(frames, None) is None:
                return f"is a video but no frame of it decodes — {fix}"
    except MediaError as exc:
        why = str(exc).rpartition(" — ")[2] or "unreadable"
        return f"is not a video ({why}) — {fix}"
    return info.duration


def check_finishing(project: Project, doc: YamlDocument) -> list[Problem]:
    """What the schema cannot say about the finishing keys."""
    problems: list[Problem] = []
    for s in project.segments:
        raw = _raw_segment(doc, s)
        if s.clip is not None:
            problems += _check_clip_segment(s, raw, doc)
        problems += _check_extend(project, s, doc)
        problems += _check_speed(s, raw, doc)
        problems += _check_text(s, raw, doc)
        problems += _check_sfx(project, s, raw, doc)
    return list(dict.fromkeys(problems))  # a default's sound effect is reported once


def _check_clip_segment(s: Segment, raw: Mapping[str, Any], doc: YamlDocument) -> list[Problem]:
    problems = []
    for name in GENERATION_KEYS:
        if name in raw:
            fix = "its length is the clip's: cut it with trim" if name == "seconds" else (
                f"remove {name}, or remove clip to generate the segment"
            )  # fmt: skip
            message = f"'{s.id}' plays an existing clip and is not generated — {fix}"
            problems.append(problem_at(doc, ("segments", s.index, name), message))
    return problems


def _check_extend(project: Project, s: Segment, doc: YamlDocument) -> list[Problem]:
    if not s.extend or s.reference.kind != "segment" or s.reference.value is None:
        return []
    upstream = project.segment(s.reference.value)
    if upstream.clip is None:
        return []
    message = (
        f"'{upstream.id}' is an existing clip, which a provider cannot extend — remove "
        "extend to start from its last frame"
    )
    return [problem_at(doc, ("segments", s.index, "extend"), message)]


def shown_seconds(s: Segment) -> float:
    """How long the segment shows: its kept length after trims, at its speed."""
    if s.speed is None:
        return s.seconds - s.head_trim - s.tail_trim
    head, tail = s.speed.trims(s.head_trim, s.tail_trim, s.seconds)
    return s.speed.output_time(s.seconds, s.seconds) - head - tail


def _check_speed(s: Segment, raw: Mapping[str, Any], doc: YamlDocument) -> list[Problem]:
    speed = s.speed
    if speed is None or not isinstance(raw.get("speed"), dict):
        return []
    key: KeyPath = ("segments", s.index, "speed")
    if speed.end is not None and speed.end <= speed.start:
        message = f"end {speed.end:g} s is not after start {speed.start:g} s — swap them"
        return [problem_at(doc, (*key, "end"), message)]
    if speed.start >= s.seconds:
        message = f"start {speed.start:g} s is past the clip's end ({s.seconds:g} s)"
        return [problem_at(doc, (*key, "start"), message)]
    return []


def _check_text(s: Segment, raw: Mapping[str, Any], doc: YamlDocument) -> list[Problem]:
    """Captions that end after they start, and text that starts while the segment shows."""
    problems = []
    shown = shown_seconds(s)
    listed = _list(raw.get("captions"))
    for n, caption in enumerate(listed):
        c = parse_caption(caption)
        if c is None:
            continue
        key: KeyPath = ("segments", s.index, "captions", n)
        if c.end <= c.start:
            message = f"end {c.end:g} s is not after start {c.start:g} s — a caption needs time"
            problems.append(problem_at(doc, (*key, "end"), message))
        elif c.start >= shown:
            message = f"starts at {c.start:g} s, but '{s.id}' shows for {shown:g} s"
            problems.append(problem_at(doc, (*key, "start"), message))
        elif c.end > shown + 1e-6:
            message = f"ends at {c.end:g} s, after '{s.id}' ends ({shown:g} s) — end it by then"
            problems.append(problem_at(doc, (*key, "end"), message))
    for n, comment in enumerate(_list(raw.get("comments"))):
        m = parse_comment(comment)
        if m is not None and m.at >= shown:
            message = f"at {m.at:g} s is after '{s.id}' ends ({shown:g} s) — move it earlier"
            problems.append(problem_at(doc, ("segments", s.index, "comments", n, "at"), message))
    return problems


def _check_sfx(
    project: Project, s: Segment, raw: Mapping[str, Any], doc: YamlDocument
) -> list[Problem]:
    sfx = s.transition.sfx
    if sfx is None:
        return []
    own = "transition" in raw
    base: KeyPath = ("segments", s.index, "transition") if own else ("defaults", "transition")
    named_alone = isinstance(_sfx_raw(doc, base), str)
    key: KeyPath = (*base, "sfx") if named_alone else (*base, "sfx", "file")
    value = str(sfx.path)
    path = resolve_inside(project.root, value)
    if path is None:
        return [problem_at(doc, key, f"'{value}' is outside the project — keep sounds inside it")]
    if not path.is_file():
        return [problem_at(doc, key, f"'{value}' does not exist in the project")]
    verdict = _without_paths(music_problem(path), (path, project.root / value), value)
    if verdict is None:
        return []
    return [problem_at(doc, key, f"'{value}' {verdict}")]


def _sfx_raw(doc: YamlDocument, base: KeyPath) -> Any:
    value: Any = doc.data
    for part in base:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return _mapping(value).get("sfx")


def _raw_segment(doc: YamlDocument, s: Segment) -> dict[str, Any]:
    listed = doc.data.get("segments") if isinstance(doc.data, dict) else None
    raw = listed[s.index] if isinstance(listed, list) and s.index < len(listed) else {}
    return raw if isinstance(raw, dict) else {}


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a finite number (the schema reports anything else)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if isinstance(value, int) or math.isfinite(value) else None


def _num(value: Any, default: float) -> float:
    found = _number(value)
    return default if found is None else found


def _is_hex(text: str) -> bool:
    digits = "0123456789abcdefABCDEF"
    return len(text) == 7 and text[0] == "#" and all(c in digits for c in text[1:])
