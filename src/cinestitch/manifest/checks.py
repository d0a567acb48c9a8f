"""Checks beyond the schema: ids, references, paths, durations and the provider's limits."""

from __future__ import annotations

import os
from pathlib import Path

from cinestitch.errors import Problem
from cinestitch.manifest.document import KeyPath, YamlDocument, format_key_path
from cinestitch.manifest.model import MANIFEST_NAME, Project, ProviderSpec, Segment
from cinestitch.providers import PROVIDERS, ProviderInfo, Shot, provider_names
from cinestitch.providers.base import Capabilities

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def problem_at(doc: YamlDocument, key: KeyPath, message: str) -> Problem:
    return Problem(MANIFEST_NAME, doc.line_of(key), format_key_path(key), message)


def resolve_inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it stays inside ``root`` (symlinks resolved), else ``None``."""
    if Path(relative).is_absolute():
        return None
    candidate = (root / relative).resolve()
    return candidate if candidate.is_relative_to(root.resolve()) else None


def check_project(project: Project, doc: YamlDocument) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_ids(project, doc)
    problems += _check_paths(project, doc)
    problems += _check_output(project, doc)
    for segment in project.segments:
        problems += _check_segment(project, segment, doc)
    problems += _check_provider(project, doc)
    return problems


def _check_ids(project: Project, doc: YamlDocument) -> list[Problem]:
    problems = []
    first_line: dict[str, int | None] = {}
    for s in project.segments:
        if s.id in first_line:
            where = f" (first at line {first_line[s.id]})" if first_line[s.id] else ""
            message = f"duplicate id '{s.id}'{where} — ids must be unique"
            problems.append(problem_at(doc, ("segments", s.index, "id"), message))
        else:
            first_line[s.id] = doc.line_of(("segments", s.index, "id"))
    return problems


def _check_file(
    root: Path, value: str, doc: YamlDocument, key: KeyPath, what: str
) -> list[Problem]:
    path = resolve_inside(root, value)
    if path is None:
        return [problem_at(doc, key, f"'{value}' is outside the project — keep {what} inside it")]
    if not path.is_file():
        return [problem_at(doc, key, f"'{value}' does not exist in the project")]
    return []


def _check_paths(project: Project, doc: YamlDocument) -> list[Problem]:
    problems = []
    for s in project.segments:
        if s.reference.kind == "image" and s.reference.value:
            key: KeyPath = ("segments", s.index, "reference")
            found = _check_file(project.root, s.reference.value, doc, key, "reference images")
            if not found and not s.reference.value.lower().endswith(IMAGE_SUFFIXES):
                found = [problem_at(doc, key, "a reference image must be .png, .jpg or .webp")]
            problems += found
    if project.audio is not None and project.audio.music:
        key = ("audio", "music")
        problems += _check_file(project.root, project.audio.music, doc, key, "music")
    return problems


def _check_output(project: Project, doc: YamlDocument) -> list[Problem]:
    out = project.output
    problems = []
    if resolve_inside(project.root, out.path) is None:
        problems.append(problem_at(doc, ("output", "path"), _outside(project.root, out.path)))
    else:
        problems += _check_output_collision(project, doc)
    if out.width % 2 or out.height % 2:
        message = f"{out.width}x{out.height} has an odd side — H.264 needs even sizes"
        problems.append(problem_at(doc, ("output", "size"), message))
    return problems


def _outside(root: Path, value: str) -> str:
    """Why ``value`` is not inside the project: it says so, or it passes through a link."""
    parts = Path(value).parts
    if not Path(value).is_absolute() and ".." not in parts:
        for n in range(1, len(parts)):
            if (root.joinpath(*parts[:n])).is_symlink():
                link = "/".join(parts[:n])
                return (
                    f"'{value}' leads outside the project through the link '{link}' — make "
                    f"{link}/ a real folder, or write the video to another folder in the project"
                )
    return f"'{value}' is outside the project — write it under build/"


def _check_output_collision(project: Project, doc: YamlDocument) -> list[Problem]:
    """The final video must not be a file the build makes on the way (doit would refuse
    two tasks with one target) or reads (the music)."""
    from cinestitch.plan import BuildPaths  # the build layout; imported late (plan imports us)

    root, value = project.root, project.output.path
    target = Path(os.path.normpath(root / value))
    paths = BuildPaths(root)
    x = "x"
    reserved = {
        paths.prompt(x).parent,
        paths.settings(x).parent,
        paths.clip(x).parent,
        paths.conformed(x).parent,
        paths.clip(x).parent.parent / "seams",
        paths.frame(x).parent,
        paths.contact_sheet(x).parent,
        paths.storyboard_files,
        paths.state,
    }
    for folder in sorted(reserved):
        if str(target).casefold().startswith(str(folder).casefold() + os.sep):
            shown = f"{folder.relative_to(root)}/"
            message = (
                f"'{value}' is inside {shown}, where the build keeps its own files — "
                f"write it elsewhere, e.g. build/{target.name}"
            )
            return [problem_at(doc, ("output", "path"), message)]
    if target in (paths.storyboard, paths.seam_scores):
        message = f"'{value}' is a file the build writes for review — write the video elsewhere"
        return [problem_at(doc, ("output", "path"), message)]
    music = project.audio.music if project.audio is not None else ""
    if music and Path(os.path.normpath(root / music)) == target:
        message = f"'{value}' is also the music file — the build would overwrite it"
        return [problem_at(doc, ("output", "path"), message)]
    return []


def _check_segment(project: Project, s: Segment, doc: YamlDocument) -> list[Problem]:
    key: KeyPath = ("segments", s.index)
    problems = []
    if s.template is None and s.inline_prompt is None and s.clip is None:
        message = "needs a template or a prompt — set one here or defaults.template"
        problems.append(problem_at(doc, key, message))
    raw = doc.data["segments"][s.index] if isinstance(doc.data.get("segments"), list) else {}
    if isinstance(raw, dict) and "template" in raw and "prompt" in raw:
        problems.append(
            problem_at(doc, (*key, "prompt"), "set either template or prompt, not both")
        )
    kept = s.seconds - s.head_trim - s.tail_trim
    if kept <= 0:
        message = f"trims of {s.head_trim + s.tail_trim:g} s leave nothing of {s.seconds:g} s"
        problems.append(problem_at(doc, (*key, "trim"), message))
    problems += _check_transition(project, s, kept, doc)
    if s.takes >= 1 and s.take > s.takes:
        message = (
            f"take {s.take} of {s.takes} — set takes: {s.take} or more, or pick 1 to {s.takes}"
        )
        problems.append(problem_at(doc, (*key, "take"), message))
    return problems


def _check_transition(
    project: Project, s: Segment, kept: float, doc: YamlDocument
) -> list[Problem]:
    t = s.transition
    key: KeyPath = ("segments", s.index, "transition")
    is_last = s.index == len(project.segments) - 1
    if t.kind == "crossfade" and is_last:
        return [
            problem_at(doc, key, "the last segment has nothing to crossfade into — use fade or cut")
        ]
    if t.kind == "cut":
        return []
    needed = t.seconds if t.kind == "crossfade" else t.seconds / 2
    joined = [kept]
    if not is_last:
        nxt = project.segments[s.index + 1]
        joined.append(nxt.seconds - nxt.head_trim - nxt.tail_trim)
    shortest = min(joined)
    if needed >= shortest:
        message = (
            f"a {t.seconds:g} s {t.kind} needs {needed:g} s of each segment it joins, "
            f"but one has only {shortest:g} s — shorten the transition"
        )
        return [problem_at(doc, (*key, "seconds"), message)]
    return []


def _check_provider(project: Project, doc: YamlDocument) -> list[Problem]:
    """The project's provider block and every segment's merged one, against the static
    capabilities of the provider and model (no instance, no key, no network)."""
    problems = _check_spec(project, project.provider, ("provider",), doc)
    checked = {_identity(project.provider)}
    for s in project.segments:
        own = isinstance(_raw_segment(doc, s).get("provider"), dict)
        base: KeyPath = ("segments", s.index, "provider") if own else ("provider",)
        if own and _identity(s.provider) not in checked:
            checked.add(_identity(s.provider))
            problems += _check_spec(project, s.provider, base, doc)
        info = PROVIDERS.get(s.provider.name)
        generated = s.clip is None  # an existing clip is never sent to the provider
        if info is not None and generated and not info.check_options(s.provider.model, {}):
            problems += _check_shot(project, s, info, doc)
    return problems


def _identity(spec: ProviderSpec) -> tuple[str, str, str, str | None]:
    return spec.name, spec.model, repr(sorted(spec.options.items())), spec.dialect


def _raw_segment(doc: YamlDocument, s: Segment) -> dict[str, object]:
    listed = doc.data.get("segments") if isinstance(doc.data, dict) else None
    raw = listed[s.index] if isinstance(listed, list) and s.index < len(listed) else {}
    return raw if isinstance(raw, dict) else {}


def _check_spec(
    project: Project, spec: ProviderSpec, base: KeyPath, doc: YamlDocument
) -> list[Problem]:
    info = PROVIDERS.get(spec.name)
    if info is None:
        known = ", ".join(provider_names())
        message = f"unknown provider '{spec.name}' — known: {known}"
        return [problem_at(doc, (*base, "name"), message)]
    problems = []
    for message in info.check_options(spec.model, spec.options):
        field = "model" if message.startswith("model:") else "options"
        text = message.removeprefix("model: ") if field == "model" else message
        problems.append(problem_at(doc, (*base, field), text))
    if spec.dialect is not None and spec.dialect not in info.dialects:
        known = ", ".join(info.dialects) if info.dialects else "none (remove dialect)"
        message = f"'{spec.dialect}' is not a dialect of {spec.name} — it has: {known}"
        problems.append(problem_at(doc, (*base, "dialect"), message))
    if problems:
        return problems
    for message in info.check_files(project.root, spec.model, spec.options):
        where, _, text = message.partition(": ")
        problems.append(problem_at(doc, (*base, "options", *where.split(".")), text))
    if problems:
        return problems
    return _check_size(project, spec, info.capabilities(spec.model), doc)


def _check_size(
    project: Project, spec: ProviderSpec, caps: Capabilities, doc: YamlDocument
) -> list[Problem]:
    out = project.output
    size = f"{out.width}x{out.height}"
    who = f"{spec.name} {spec.model}" if spec.name != "animatic" else spec.name
    if caps.sizes is not None and size not in caps.sizes:
        message = f"{size} is not a size {who} makes — use {', '.join(caps.sizes)}"
        return [problem_at(doc, ("output", "size"), message)]
    if out.width > caps.max_width or out.height > caps.max_height:
        limit = f"{caps.max_width}x{caps.max_height}"
        message = f"{size} is above {spec.name}'s maximum of {limit}"
        return [problem_at(doc, ("output", "size"), message)]
    return []


def _check_shot(
    project: Project, s: Segment, info: ProviderInfo, doc: YamlDocument
) -> list[Problem]:
    spec = s.provider
    caps = info.capabilities(spec.model)
    key: KeyPath = ("segments", s.index)
    problems = _check_seconds(
        s, spec.name, caps.min_seconds, caps.max_seconds, caps.allowed_seconds, doc
    )
    if s.end_frame is not None:
        problems += _check_end_frame(project, s, caps, spec, doc)
    if s.end_keyframe is not None and not caps.accepts_end_image:
        start, end = s.between[0], s.end_keyframe
        message = (
            f"{spec.name} {spec.model} takes no end frame, so '{s.id}' cannot end on keyframe "
            f"'{end}' — use between: [{start}], or a model that takes one"
        )
        problems.append(problem_at(doc, (*key, "between"), message))
    cast = cast_problem(spec, caps.max_reference_images, len(project.cast_images(s.characters)))
    if cast is not None:
        problems.append(problem_at(doc, (*key, "characters"), cast))
    if s.extend and not caps.extends:
        message = f"{spec.name} {spec.model} cannot extend a clip natively — remove extend"
        problems.append(problem_at(doc, (*key, "extend"), message))
    elif s.extend and s.reference.kind != "segment":
        message = "extend continues an earlier segment's clip — set reference to that segment"
        problems.append(problem_at(doc, (*key, "extend"), message))
    elif s.extend:
        problems += _check_extended(project, s, spec, caps, doc)
    if problems:
        return problems
    out = project.output
    shot = Shot(
        seconds=s.seconds,
        width=out.width,
        height=out.height,
        has_reference=s.reference.kind != "none",
        has_end_frame=s.end_frame is not None or s.end_keyframe is not None,
        extend=s.extend,
    )
    for message in info.check_shot(spec.model, spec.options, shot):
        field, _, text = message.partition(": ")
        problems.append(problem_at(doc, (*key, field), text))
    return problems


def _check_extended(
    project: Project, s: Segment, spec: ProviderSpec, caps: Capabilities, doc: YamlDocument
) -> list[Problem]:
    """A native continuation can only be of a clip its own provider made (Veo extends only
    Veo's videos, and another provider's clip is behind that provider's key), of a length
    the model takes (Wan 2.7: 2-10 s)."""
    try:
        upstream = project.segment(str(s.reference.value))
    except KeyError:
        return []  # the reference itself is reported
    key: KeyPath = ("segments", s.index, "extend")
    if upstream.clip is not None or upstream.provider.name != spec.name:
        made = "is existing footage" if upstream.clip else f"is made by {upstream.provider.name}"
        message = (
            f"{spec.name} can continue only a clip it made, and '{upstream.id}' {made} — give "
            f"it the same provider, or remove extend (the segment then starts from its last "
            "frame)"
        )
        return [problem_at(doc, key, message)]
    bounds = caps.extends_seconds
    if bounds is not None:
        low, high = bounds
        length = _extended_length(project, upstream)
        if not low <= length <= high:
            made = "" if not upstream.extend else " (with the clips it extends, which it holds)"
            message = (
                f"{spec.name} {spec.model} continues clips of {low:g}-{high:g} s, and "
                f"'{upstream.id}' is {length:g} s{made} — shorten it, or remove extend"
            )
            return [problem_at(doc, key, message)]
    return []


def _extended_length(project: Project, segment: Segment) -> float:
    """The planned length of a segment's clip: a native extension's holds the clips it
    continues too (Veo and Wan answer with the input, then the new footage)."""
    length, seen = 0.0, set()
    current: Segment | None = segment
    while current is not None and current.id not in seen:
        seen.add(current.id)
        length += current.seconds
        if not (current.extend and current.reference.kind == "segment"):
            break
        try:
            current = project.segment(str(current.reference.value))
        except KeyError:
            break
    return length


def cast_problem(spec: ProviderSpec, limit: int, pictures: int) -> str | None:
    """Why the characters' pictures do not fit the model's limit (one line naming it), or
    ``None`` when they do. A model that takes none is sent none (the descriptions still
    reach the templates), so a project moves to it by its provider block alone."""
    if pictures <= limit or limit == 0:
        return None
    who = f"{spec.name} {spec.model}"
    return (
        f"{pictures} reference pictures of characters, but {who} takes at most {limit} — "
        "list fewer characters or give them fewer images"
    )


def _check_end_frame(
    project: Project, s: Segment, caps: Capabilities, spec: ProviderSpec, doc: YamlDocument
) -> list[Problem]:
    key: KeyPath = ("segments", s.index, "end_frame")
    if not caps.accepts_end_image:
        message = f"{spec.name} {spec.model} takes no end frame — remove end_frame"
        return [problem_at(doc, key, message)]
    assert s.end_frame is not None
    found = _check_file(project.root, s.end_frame, doc, key, "end frames")
    if not found and not s.end_frame.lower().endswith(IMAGE_SUFFIXES):
        found = [problem_at(doc, key, "an end frame must be .png, .jpg or .webp")]
    return found


def _check_seconds(
    s: Segment,
    provider: str,
    low: float,
    high: float,
    allowed: tuple[float, ...] | None,
    doc: YamlDocument,
) -> list[Problem]:
    raw = doc.data["segments"][s.index] if isinstance(doc.data.get("segments"), list) else {}
    own = isinstance(raw, dict) and "seconds" in raw
    key: KeyPath = ("segments", s.index, "seconds") if own else ("defaults", "seconds")
    where = "" if own else f" (segment '{s.id}')"
    if allowed and s.seconds not in allowed:
        choices = ", ".join(f"{a:g}" for a in allowed)
        return [
            problem_at(
                doc, key, f"{s.seconds:g} is not a duration {provider} makes{where} — use {choices}"
            )
        ]
    if s.seconds > high:
        return [
            problem_at(
                doc,
                key,
                f"{s.seconds:g} is above {provider}'s maximum of {high:g}{where} — split the shot",
            )
        ]
    if s.seconds < low:
        return [
            problem_at(doc, key, f"{s.seconds:g} is below {provider}'s minimum of {low:g}{where}")
        ]
    return []
