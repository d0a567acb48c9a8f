"""The continuity keys of a manifest: ``keyframes``, ``keyframe_provider``, ``characters``,
and a segment's ``between``, ``pin`` and ``characters`` — parsed into values, and checked.

A keyframe is a still that segments start and end on (``between: [start, end]``): a picture
in the project, or one an image provider makes from a prompt. Parsing is forgiving (a value
of the wrong type becomes the default: the schema reports it); the checks say what the
schema cannot, one line each at the key's line: an unknown keyframe or character, a
provider that makes no stills, a model that cannot end on a frame or takes fewer pictures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from cinestitch.errors import Problem
from cinestitch.manifest.checks import IMAGE_SUFFIXES, cast_problem, problem_at, resolve_inside
from cinestitch.manifest.document import KeyPath, YamlDocument
from cinestitch.manifest.model import (
    Character,
    Keyframe,
    Project,
    ProviderSpec,
    Reference,
    Segment,
)
from cinestitch.providers import PROVIDERS, ProviderInfo, Shot

Merge = Callable[[ProviderSpec | None, Mapping[str, Any]], ProviderSpec]
STILL_MAKERS = ("animatic",)
"""Video providers that make stills too (image providers' capabilities say so)."""
IMAGE_ONLY_KEYS = ("template", "prompt", "provider", "seed", "vars", "characters")
"""Keys a keyframe that is a picture in the project does not take."""


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _names(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def keyframe_base(data: Mapping[str, Any], project: ProviderSpec, merge: Merge) -> ProviderSpec:
    """What a keyframe's ``provider:`` is merged over: ``keyframe_provider``, else the
    project's provider."""
    block = data.get("keyframe_provider")
    return merge(None, block) if isinstance(block, dict) else project


def parse_keyframes(
    data: Mapping[str, Any], doc: YamlDocument, project: ProviderSpec, merge: Merge
) -> tuple[Keyframe, ...]:
    base = keyframe_base(data, project, merge)
    found = []
    for index, item in enumerate(_list(data, "keyframes")):
        raw = _mapping(item)
        seed = raw.get("seed")
        found.append(
            Keyframe(
                id=_str(raw.get("id")) or f"keyframe-{index + 1}",
                index=index,
                image=_str(raw.get("image")),
                template=_str(raw.get("template")),
                inline_prompt=_str(raw.get("prompt")),
                seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else 0,
                vars=_mapping(raw.get("vars")),
                provider=merge(base, _mapping(raw.get("provider"))),
                characters=_names(raw.get("characters")),
                line=doc.line_of(("keyframes", index)),
            )
        )
    return tuple(found)


def keyframes_in_order(project: Project) -> Project:
    """Segments that say ``reference: keyframes`` without naming their stills run between
    the keyframes in the order declared: the first such segment from the first keyframe to
    the second, the next from the second to the third, and so on (the keyframe before it
    and the one after it); one left with a single keyframe after the others starts on it.
    A segment that names them (``between:``) keeps its own and takes no turn."""
    ids = [k.id for k in project.keyframes]
    turn = 0
    segments = list(project.segments)
    for i, s in enumerate(segments):
        if s.reference.kind != "keyframe" or s.between or s.clip is not None:
            continue
        if turn < len(ids):
            between = tuple(ids[turn : turn + 2])
            segments[i] = dataclasses.replace(
                s, between=between, reference=Reference("keyframe", between[0])
            )
        turn += 1
    return dataclasses.replace(project, segments=tuple(segments)) if turn else project


def parse_characters(data: Mapping[str, Any], doc: YamlDocument) -> tuple[Character, ...]:
    found = []
    for index, item in enumerate(_list(data, "characters")):
        raw = _mapping(item)
        found.append(
            Character(
                name=_str(raw.get("name")) or f"character-{index + 1}",
                index=index,
                description=_str(raw.get("description")) or "",
                images=_names(raw.get("images")),
                line=doc.line_of(("characters", index)),
            )
        )
    return tuple(found)


def makes_stills(info: ProviderInfo) -> bool:
    """The provider makes pictures: an image provider, or a video one that draws stills."""
    return getattr(info, "kind", "video") == "image" or info.name in STILL_MAKERS


def check_keyframes(project: Project, doc: YamlDocument) -> list[Problem]:
    """What the schema cannot say about keyframes, characters and the segments using them."""
    problems = _check_unique(doc, "keyframes", "id", [k.id for k in project.keyframes])
    problems += _check_unique(doc, "characters", "name", [c.name for c in project.characters])
    for character in project.characters:
        problems += _check_pictures(project, doc, ("characters", character.index, "images"))
    for keyframe in project.keyframes:
        problems += _check_keyframe(project, keyframe, doc)
    for segment in project.segments:
        problems += _check_segment(project, segment, doc)
    return problems


def _check_unique(doc: YamlDocument, section: str, field: str, names: list[str]) -> list[Problem]:
    problems = []
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            line = doc.line_of((section, first[name], field))
            where = f" (first at line {line})" if line else ""
            message = f"duplicate {field} '{name}'{where} — each must be unique"
            problems.append(problem_at(doc, (section, index, field), message))
        else:
            first[name] = index
    return problems


def _check_pictures(project: Project, doc: YamlDocument, key: KeyPath) -> list[Problem]:
    """Each picture a list (or one value) names is an image file inside the project."""
    raw = _raw_at(doc, key)
    values = raw if isinstance(raw, list) else [raw]
    problems = []
    for n, value in enumerate(values):
        if not isinstance(value, str):
            continue
        where: KeyPath = (*key, n) if isinstance(raw, list) else key
        path = resolve_inside(project.root, value)
        if path is None:
            message = f"'{value}' is outside the project — keep pictures inside it"
        elif not path.is_file():
            message = f"'{value}' does not exist in the project"
        elif not value.lower().endswith(IMAGE_SUFFIXES):
            message = "a picture must be .png, .jpg or .webp"
        else:
            continue
        problems.append(problem_at(doc, where, message))
    return problems


def _raw_at(doc: YamlDocument, key: KeyPath) -> Any:
    value: Any = doc.data
    for part in key:
        if isinstance(value, dict) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value


def _check_keyframe(project: Project, k: Keyframe, doc: YamlDocument) -> list[Problem]:
    key: KeyPath = ("keyframes", k.index)
    raw = _mapping(_raw_at(doc, key))
    sources = [name for name in ("image", "template", "prompt") if name in raw]
    if len(sources) != 1:
        said = "has none" if not sources else f"has {' and '.join(sources)}"
        message = f"needs exactly one of image, template or prompt; it {said}"
        return [problem_at(doc, key, message)]
    if k.image is not None:
        problems = _check_pictures(project, doc, (*key, "image"))
        for name in IMAGE_ONLY_KEYS:
            if name in raw:
                message = f"'{k.id}' is a picture in the project, never generated — remove {name}"
                problems.append(problem_at(doc, (*key, name), message))
        return problems
    problems = _check_cast(project, k.characters, (*key, "characters"), doc)
    info = PROVIDERS.get(k.provider.name)
    if info is None:
        return problems  # the provider checks name the unknown provider
    own = "provider" in raw
    where: KeyPath = (*key, "provider") if own else _base_key(doc)
    if not makes_stills(info):
        stills = ", ".join(n for n, i in sorted(PROVIDERS.items()) if makes_stills(i))
        message = (
            f"{k.provider.name} makes no stills, so keyframe '{k.id}' cannot be generated — "
            f"set keyframe_provider (or this keyframe's provider) to one that does: {stills}"
        )
        return [*problems, problem_at(doc, where, message)]
    for message in info.check_options(k.provider.model, k.provider.options):
        field, _, text = message.partition(": ")
        problems.append(problem_at(doc, (*where, "model" if field == "model" else "options"), text))
    if problems:
        return problems
    caps = info.capabilities(k.provider.model)
    pictures = len(project.cast_images(k.characters))
    problems += _check_count(k.provider, caps.max_reference_images, pictures, key, doc)
    out = project.output
    sent = min(pictures, caps.max_reference_images)  # what the request carries
    shot = Shot(0.0, out.width, out.height, has_reference=sent > 0)
    for message in info.check_shot(k.provider.model, k.provider.options, shot):
        _, _, text = message.partition(": ")
        problems.append(problem_at(doc, (*where, "options"), text))
    return problems


def _base_key(doc: YamlDocument) -> KeyPath:
    data = doc.data if isinstance(doc.data, dict) else {}
    own = isinstance(data.get("keyframe_provider"), dict)
    return ("keyframe_provider",) if own else ("provider",)


def _check_cast(
    project: Project, names: tuple[str, ...], key: KeyPath, doc: YamlDocument
) -> list[Problem]:
    known = [c.name for c in project.characters]
    problems = []
    for n, name in enumerate(names):
        if name not in known:
            have = ", ".join(known) if known else "none are declared (add characters:)"
            message = f"'{name}' is not a character — characters: {have}"
            problems.append(problem_at(doc, (*key, n), message))
    return problems


def _check_count(
    spec: ProviderSpec, limit: int, pictures: int, key: KeyPath, doc: YamlDocument
) -> list[Problem]:
    message = cast_problem(spec, limit, pictures)
    return [problem_at(doc, (*key, "characters"), message)] if message else []


def _check_segment(project: Project, s: Segment, doc: YamlDocument) -> list[Problem]:
    key: KeyPath = ("segments", s.index)
    raw = _mapping(_raw_at(doc, key))
    problems = _check_cast(project, s.characters, (*key, "characters"), doc)
    if s.clip is not None:
        return problems  # a clip segment's generation keys are refused by the finishing checks
    if s.reference.kind == "keyframe" and not s.between:
        count = len(project.keyframes)
        if count == 0:
            message = (
                "reference: keyframes, but no keyframes are declared — add keyframes:, or "
                "start from previous, none, an earlier segment or a picture"
            )
        else:
            message = (
                f"reference: keyframes, but the {count} keyframe{'s' if count != 1 else ''} "
                "declared are taken by the segments before it (each runs from one keyframe to "
                "the next) — add a keyframe, or name this segment's with between: [start, end]"
            )
        return [*problems, problem_at(doc, (*key, "reference"), message)]
    if not s.between:
        return problems
    ids = [k.id for k in project.keyframes]
    for n, name in enumerate(s.between):
        if name not in ids:
            have = ", ".join(ids) if ids else "none are declared (add keyframes:)"
            message = f"'{name}' is not a keyframe — keyframes: {have}"
            problems.append(problem_at(doc, (*key, "between", n), message))
    if len(s.between) == 2 and s.between[0] == s.between[1]:
        message = "starts and ends on the same keyframe — name two, or one to start from"
        problems.append(problem_at(doc, (*key, "between"), message))
    given = raw.get("reference")
    if given is not None and given != "keyframes":
        message = f"'{given}' and between both say what the segment starts from — keep one"
        problems.append(problem_at(doc, (*key, "reference"), message))
    clash = ["end_frame"] if "end_frame" in raw and s.end_keyframe is not None else []
    for name in [*clash, *(["extend"] if s.extend else [])]:
        message = f"between says what the segment starts and ends on — remove {name}"
        problems.append(problem_at(doc, (*key, name), message))
    return problems
