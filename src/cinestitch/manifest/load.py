"""Load a project directory: YAML -> schema -> semantic checks -> frozen ``Project``.

Every problem is collected (not only the first) and raised together as one ``ProjectError``;
loading reads files only and never writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cinestitch.atomic import write_text_if_changed
from cinestitch.errors import Problem, ProjectError
from cinestitch.manifest.assets import check_assets
from cinestitch.manifest.checks import check_project, problem_at
from cinestitch.manifest.doc_memo import note_document, recall_document, remember_document
from cinestitch.manifest.document import (
    KeyPath,
    YamlDocument,
    printable_problem,
    read_manifest_bytes,
)
from cinestitch.manifest.finishing import (
    check_finishing,
    parse_duck,
    parse_sfx,
    project_anchor,
    resolve_footage,
    segment_fields,
)
from cinestitch.manifest.keyframes import (
    check_keyframes,
    keyframes_in_order,
    parse_characters,
    parse_keyframes,
)
from cinestitch.manifest.model import (
    MANIFEST_NAME,
    AudioSpec,
    Budget,
    Output,
    Project,
    ProviderSpec,
    Reference,
    ReviewSpec,
    Segment,
)
from cinestitch.manifest.schema import check_manifest_schema, validity_key
from cinestitch.media.fit import FIT_MODES, FitMode
from cinestitch.media.types import Transition
from cinestitch.prompt_memo import remember_prompts
from cinestitch.prompts import render_prompts
from cinestitch.providers import DEFAULT_PROVIDER, PROVIDERS, default_model

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
DEFAULT_TRANSITION_SECONDS = 0.5


def load_project(root: Path) -> Project:
    """The project in ``root``; raises ``ProjectError`` listing every problem found, each
    on one visible line (newlines and control characters in values shown escaped)."""
    try:
        return _load_project(root)
    except ProjectError as exc:
        raise ProjectError([printable_problem(p) for p in exc.problems]) from None


VALIDITY_MEMO = Path(".cinestitch") / "valid-manifest"
"""Where a build remembers the manifest that last passed the schema (``remember_valid``)."""


def _known_valid(root: Path, key: str) -> bool:
    try:
        return (root / VALIDITY_MEMO).read_text(encoding="utf-8").strip() == key
    except OSError:
        return False


def remember_valid(project: Project) -> None:
    """After a project loaded without a problem: remember its manifest (the bytes it was
    loaded from), so the next load of the same bytes neither parses them nor runs the
    schema, and its rendered prompts (best effort: only a speed-up)."""
    state = project.root / VALIDITY_MEMO.parent
    if project.manifest_key:
        with contextlib.suppress(OSError):
            write_text_if_changed(project.root / VALIDITY_MEMO, project.manifest_key + "\n")
        remember_document(state, project.manifest_key)
    remember_prompts(state, project.prompts)


def _manifest_document(root: Path, manifest: Path) -> tuple[YamlDocument, str]:
    """The manifest as the checks read it, and the ``validity_key`` of the bytes it was
    read from: remembered when these bytes loaded cleanly before, else parsed."""
    data = read_manifest_bytes(manifest, MANIFEST_NAME)
    if not isinstance(data, bytes):
        return YamlDocument(None, problems=[data]), ""
    key = validity_key(data)
    doc = recall_document(root / VALIDITY_MEMO.parent, key)
    if doc is None:
        from cinestitch.manifest.yamldoc import parse_yaml_document

        doc = parse_yaml_document(data, MANIFEST_NAME)
        note_document(key, doc)
    return doc, key


def _load_project(root: Path) -> Project:
    root = root.resolve()
    manifest = root / MANIFEST_NAME
    if not manifest.is_file():
        problem = "no manifest here — run `cinestitch new DIR` to start a project"
        raise ProjectError([Problem(str(manifest), None, "", problem)])
    if not manifest.resolve().is_relative_to(root):
        problem = "is a link to a file outside the project — copy the manifest here instead"
        raise ProjectError([Problem(MANIFEST_NAME, 1, "", problem)])
    doc, key = _manifest_document(root, manifest)
    problems = list(doc.problems)
    if doc.data is None and not problems:
        problems.append(Problem(MANIFEST_NAME, 1, "", "the manifest is empty"))
    if problems:
        raise ProjectError(problems)
    problems += check_manifest_schema(doc, MANIFEST_NAME, _known_valid(root, key))
    if not isinstance(doc.data, dict):
        raise ProjectError(problems)
    project, build_problems = build_project(root, doc)
    problems += build_problems
    project, footage_problems = resolve_footage(project, doc)
    problems += footage_problems
    problems += check_project(project, doc)
    problems += check_finishing(project, doc)
    problems += check_keyframes(project, doc)
    problems += check_assets(project, doc)
    prompts, prompt_problems = render_prompts(project, root / VALIDITY_MEMO.parent)
    problems += prompt_problems
    if problems:  # one problem found by two checks (a block shared by keyframes) is said once
        raise ProjectError(sorted(dict.fromkeys(problems), key=_problem_order))
    return dataclasses.replace(with_file_identity(project), prompts=prompts, manifest_key=key)


def with_file_identity(project: Project) -> Project:
    """Every provider block's options with what the files they name add to a request's
    identity (a ComfyUI workflow's digest), so that editing such a file regenerates."""

    def resolve(spec: ProviderSpec) -> ProviderSpec:
        info = PROVIDERS.get(spec.name)
        if info is None:
            return spec
        options = info.identity_options(project.root, spec.model, spec.options)
        return spec if options == dict(spec.options) else dataclasses.replace(spec, options=options)

    segments = tuple(dataclasses.replace(s, provider=resolve(s.provider)) for s in project.segments)
    keyframes = tuple(
        dataclasses.replace(k, provider=resolve(k.provider)) for k in project.keyframes
    )
    return dataclasses.replace(
        project, provider=resolve(project.provider), segments=segments, keyframes=keyframes
    )


def _problem_order(p: Problem) -> tuple[int, str, int]:
    return (0 if p.file == MANIFEST_NAME else 1, p.file, p.line or 0)


def build_project(root: Path, doc: YamlDocument) -> tuple[Project, list[Problem]]:
    """Turn the (possibly partly invalid) data into a Project, using defaults where a value
    has the wrong type so that later checks still see as much as possible."""
    data: Mapping[str, Any] = doc.data
    out = _mapping(data.get("output"))
    width, height = _size(out.get("size"))
    output = Output(
        path=_str(out.get("path"), f"build/{root.name}.mp4"),
        width=width,
        height=height,
        fps=_int(out.get("fps"), 24),
        crf=_int(out.get("crf"), 20),
        preset=_str(out.get("preset"), "veryfast"),
        fit=_fit(out.get("fit")),
    )
    provider = merge_provider(None, _mapping(data.get("provider")))
    budget = _mapping(data.get("budget"))
    defaults = _mapping(data.get("defaults"))
    listed = data.get("segments")
    raw_segments: list[Any] = listed if isinstance(listed, list) else []
    segments: list[Segment] = []
    problems: list[Problem] = []
    anchor = project_anchor(data)
    for index, raw in enumerate(raw_segments):
        segment = _segment(index, _mapping(raw), defaults, segments, root, doc, problems)
        raw_map = _mapping(raw)
        segment = dataclasses.replace(
            segment,
            provider=merge_provider(provider, _mapping(raw_map.get("provider"))),
            end_frame=raw_map.get("end_frame")
            if isinstance(raw_map.get("end_frame"), str)
            else None,
            extend=raw_map.get("extend") is True,
            title=_opt_str(raw_map.get("title")),
            pin=raw_map.get("pin") is True,
            characters=_names(raw_map.get("characters")),
            **{**_between_fields(raw_map), **segment_fields(raw_map, anchor)},
        )
        segments.append(segment)
    audio_raw = data.get("audio")
    audio = None
    if isinstance(audio_raw, dict):
        audio = AudioSpec(
            music=_str(audio_raw.get("music"), ""),
            volume=_num(audio_raw.get("volume"), 1.0),
            fade_in=_num(audio_raw.get("fade_in"), 0.0),
            fade_out=_num(audio_raw.get("fade_out"), 0.0),
            loop=bool(audio_raw.get("loop", False)),
            duck=parse_duck(audio_raw),
        )
    project = Project(
        root=root,
        title=_str(data.get("title"), root.name),
        output=output,
        provider=provider,
        bible=_mapping(data.get("bible")),
        segments=tuple(segments),
        audio=audio,
        budget=Budget(_opt_num(budget.get("build")), _opt_num(budget.get("total"))),
        cache=data.get("cache") if isinstance(data.get("cache"), str) else None,
        review=_review(_mapping(data.get("review"))),
        keyframes=parse_keyframes(data, doc, provider, merge_provider),
        characters=parse_characters(data, doc),
    )
    return keyframes_in_order(project), problems


def _names(value: Any) -> tuple[str, ...]:
    """A list of names (characters, keyframes); other entries are the schema's to report."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _between_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``between: [start, end]``: the segment starts from the first keyframe (its
    reference) and ends on the second."""
    between = _names(raw.get("between"))
    if not between:
        return {}
    return {"between": between, "reference": Reference("keyframe", between[0])}


def _review(raw: Mapping[str, Any]) -> ReviewSpec:
    """``review:`` thresholds, the defaults where a value is missing or of the wrong type."""
    default = ReviewSpec()
    return ReviewSpec(
        seam_threshold=_num(raw.get("seam_threshold"), default.seam_threshold),
        drift_threshold=_num(raw.get("drift_threshold"), default.drift_threshold),
    )


def merge_provider(base: ProviderSpec | None, raw: Mapping[str, Any]) -> ProviderSpec:
    """A ``provider:`` block merged over ``base`` (the project's, for a segment's block).

    Naming another provider starts afresh from its defaults: a model, options or gateway
    of one provider mean nothing to another. The same provider keeps the base's settings,
    with the block's options merged over the base's."""
    name = _str(raw.get("name"), base.name if base else DEFAULT_PROVIDER)
    same = base is not None and base.name == name
    inherited = base if same and base is not None else None
    model = _str(raw.get("model"), inherited.model if inherited else default_model(name) or "")
    options = {**(inherited.options if inherited else {}), **_mapping(raw.get("options"))}

    def pick(key: str, convert: Any) -> Any:
        if key in raw:
            return convert(raw.get(key))
        return getattr(inherited, key) if inherited else None

    price = inherited.price_per_second if inherited and inherited.model == model else None
    return ProviderSpec(
        name=name,
        model=model,
        options=options,
        price_per_second=_opt_num(raw["price_per_second"]) if "price_per_second" in raw else price,
        base_url=pick("base_url", _opt_str),
        key_env=pick("key_env", _opt_str),
        max_in_flight=pick("max_in_flight", _opt_int),
        poll_interval=pick("poll_interval", _opt_num),
        timeout=pick("timeout", _opt_num),
        job_timeout=pick("job_timeout", _opt_num),
        dialect=pick("dialect", _opt_str),
    )


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _segment(
    index: int,
    raw: Mapping[str, Any],
    defaults: Mapping[str, Any],
    earlier: list[Segment],
    root: Path,
    doc: YamlDocument,
    problems: list[Problem],
) -> Segment:
    def pick(key: str) -> Any:
        return raw.get(key, defaults.get(key))

    trim = _mapping(pick("trim"))
    inline = raw.get("prompt") if isinstance(raw.get("prompt"), str) else None
    template = raw.get("template") if isinstance(raw.get("template"), str) else None
    if inline is None and template is None:
        template = _str(defaults.get("template"), "") or None
    segment_id = _str(raw.get("id"), f"segment-{index + 1}")
    key: KeyPath = ("segments", index, "reference")
    reference = _reference(raw.get("reference", "previous"), earlier, root, doc, key, problems)
    return Segment(
        id=segment_id,
        index=index,
        template=template,
        inline_prompt=inline,
        seconds=_num(pick("seconds"), 8.0),
        seed=_int(pick("seed"), 0),
        vars={**_mapping(defaults.get("vars")), **_mapping(raw.get("vars"))},
        reference=reference,
        head_trim=_num(trim.get("head"), 0.0),
        tail_trim=_num(trim.get("tail"), 0.0),
        transition=_transition(pick("transition")),
        sharpest_of=_int(pick("sharpest_of"), 1),
        takes=_int(pick("takes"), 1),
        take=_int(raw.get("take"), 1),
        line=doc.line_of(("segments", index)),
    )


def _reference(
    value: Any,
    earlier: list[Segment],
    root: Path,
    doc: YamlDocument,
    key: KeyPath,
    problems: list[Problem],
) -> Reference:
    if not isinstance(value, str) or value == "none":
        return Reference("none")
    if value == "keyframes" and not any(s.id == value for s in earlier):
        return Reference("keyframe")  # ``between`` names them; the checks say if it does not
    if value == "previous":
        return Reference("segment", earlier[-1].id) if earlier else Reference("none")
    if any(s.id == value for s in earlier):
        return Reference("segment", value)
    looks_like_file = "/" in value or "\\" in value or value.lower().endswith(IMAGE_SUFFIXES)
    if not looks_like_file:
        message = (
            f"'{value}' is not an earlier segment — use previous, none, an earlier id, "
            "or an image file in the project"
        )
        problems.append(problem_at(doc, key, message))
        return Reference("none")
    return Reference("image", value)


def _transition(value: Any) -> Transition:
    raw = _mapping(value)
    kind = raw.get("type", "cut")
    if kind not in ("cut", "fade", "crossfade"):
        kind = "cut"
    seconds = 0.0 if kind == "cut" else _num(raw.get("seconds"), DEFAULT_TRANSITION_SECONDS)
    return Transition(kind=kind, seconds=seconds, sfx=parse_sfx(raw.get("sfx")))


def _size(value: Any) -> tuple[int, int]:
    if isinstance(value, str) and "x" in value:
        w, _, h = value.partition("x")
        if _is_small_number(w) and _is_small_number(h) and int(w) > 0 and int(h) > 0:
            return int(w), int(h)
    return 1280, 720


def _is_small_number(text: str) -> bool:
    """ASCII digits, few enough for ``int`` (the schema reports anything else)."""
    return text.isascii() and text.isdigit() and len(text) <= 6


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _str(value: Any, default: str) -> str:
    return value if isinstance(value, str) else default


def _fit(value: Any) -> FitMode:
    """``output.fit`` (the schema reports any other value), pad by default."""
    return next((mode for mode in FIT_MODES if mode == value), "pad")


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _opt_num(value: Any) -> float | None:
    return _num(value, 0.0) if _is_finite(value) else None


def _num(value: Any, default: float) -> float:
    """``value`` as a float; NaN and infinity are never taken (the schema reports them)."""
    return float(value) if _is_finite(value) else default


def _is_finite(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)
