"""Render segment prompts with Jinja: project templates first, then the shared ones.

The environment is sandboxed, strict and bounded (``prompt_sandbox``): an undefined variable
is an error naming the template file and line, never a silent empty string; a template may
not read outside its folder, nor make huge values, nor run for long. A prompt that renders
empty or longer than ``MAX_PROMPT_CHARS`` is an error too: it would be paid for.

This module builds each prompt's context and remembers renders (``prompt_memo``);
``prompt_render`` renders with Jinja, imported only when a prompt must be rendered, so
loading an unchanged project imports no Jinja at all.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinestitch.errors import Problem
from cinestitch.labels import keyframe_label
from cinestitch.manifest.model import (
    MANIFEST_NAME,
    Keyframe,
    Project,
    Reference,
    RenderedPrompt,
    Segment,
)
from cinestitch.media.types import Transition
from cinestitch.prompt_memo import PromptMemo
from cinestitch.resources import SHARED_TEMPLATES_DIR

if TYPE_CHECKING:
    from cinestitch.prompt_sandbox import BoundedSandbox


INLINE = "<inline>"
SHARED_PREFIX = "shared"

MAX_PROMPT_CHARS = 20_000
"""The longest prompt rendered (after whitespace is normalized); a provider's own limit is
checked by the provider."""
SEGMENT_SECONDS = 1.0
"""Time one segment's prompt may take to render (a real one takes a few milliseconds)."""
PROJECT_SECONDS = 3.0
"""Time all the prompts of a project may take."""


def template_dirs(root: Path) -> list[Path]:
    return [root / "prompts", SHARED_TEMPLATES_DIR]


def normalize_prompt(text: str) -> str:
    """Collapse whitespace inside paragraphs; keep blank lines between paragraphs."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def render_prompts(
    project: Project, state_dir: Path | None = None
) -> tuple[dict[str, RenderedPrompt], list[Problem]]:
    """Every generated keyframe's prompt (by its label, ``keyframe:<id>``), then every
    segment's, in order (each sees the previous one's rendered text and the prompts of the
    keyframes it runs between). With ``state_dir``, renders whose inputs are unchanged
    since the last load come from its memo (``prompt_memo``; ``remember_prompts`` writes
    it)."""
    memo = None if state_dir is None else PromptMemo.open(state_dir, template_dirs(project.root))
    env = _environment(project.root)
    rendered: dict[str, RenderedPrompt] = {}
    problems: list[Problem] = []
    previous: RenderedPrompt | None = None
    ends = time.monotonic() + PROJECT_SECONDS
    for keyframe in project.keyframes:
        left = ends - time.monotonic()
        if (keyframe.template is None and keyframe.inline_prompt is None) or left <= 0:
            continue  # a picture in the project has no prompt; a slow project is said below
        label, context = keyframe_label(keyframe.id), keyframe_context(project, keyframe)
        found = _remembered(
            memo,
            label,
            _source(keyframe.template, keyframe.inline_prompt),
            context,
            functools.partial(
                _render_keyframe, env, project, keyframe, context, min(SEGMENT_SECONDS, left)
            ),
        )
        if isinstance(found, Problem):
            problems.append(found)
        else:
            rendered[found.segment_id] = found
    for segment in project.segments:
        left = ends - time.monotonic()
        if left <= 0:
            problems.append(_not_rendered(project, segment))
            break
        if segment.clip is not None:  # an existing clip: nothing to prompt
            previous = rendered[segment.id] = RenderedPrompt(segment.id, "", segment.clip)
            continue
        context = prompt_context(project, segment, previous, rendered)
        result = _remembered(
            memo,
            segment.id,
            _source(segment.template, segment.inline_prompt),
            context,
            functools.partial(
                _render_segment, env, project, segment, context, min(SEGMENT_SECONDS, left)
            ),
        )
        if isinstance(result, Problem):
            problems.append(result)
            previous = None
            continue
        rendered[segment.id] = result
        previous = result
    return rendered, problems


def _environment(root: Path) -> Callable[[], BoundedSandbox]:
    """The project's Jinja environment, built (and Jinja imported) on first use."""

    @functools.cache
    def build() -> BoundedSandbox:
        from cinestitch.prompt_render import build_environment

        return build_environment(root)

    return build


def _source(template: str | None, inline: str | None) -> dict[str, str | None]:
    return {"template": template, "inline": inline}


def _remembered(
    memo: PromptMemo | None,
    label: str,
    source: Mapping[str, Any],
    context: Mapping[str, Any],
    render: Callable[[], RenderedPrompt | Problem],
) -> RenderedPrompt | Problem:
    """The memo's render of ``label`` when its inputs are unchanged, else ``render()``
    (remembered when it succeeds)."""
    if memo is None:
        return render()
    key = memo.key(label, source, context)
    known = memo.get(label, key)
    if known is not None:
        return RenderedPrompt(label, *known)
    found = render()
    if not isinstance(found, Problem):
        memo.put(label, key, found.text, found.template)
    return found


def _render_segment(
    env: Callable[[], BoundedSandbox],
    project: Project,
    segment: Segment,
    context: Mapping[str, Any],
    seconds: float,
) -> RenderedPrompt | Problem:
    from cinestitch.prompt_render import render_one

    return render_one(env(), project, segment, context, seconds)


def _not_rendered(project: Project, segment: Segment) -> Problem:
    after = len(project.segments) - segment.index - 1
    rest = f", nor the {after} after it" if after else ""
    message = (
        f"not rendered{rest} — the prompts before it took more than {PROJECT_SECONDS:g} s "
        "in all; simplify their templates"
    )
    return Problem(
        MANIFEST_NAME, segment.line, f"segments[{segment.index}] ({segment.id})", message
    )


def prompt_context(
    project: Project,
    segment: Segment,
    previous: RenderedPrompt | None,
    rendered: Mapping[str, RenderedPrompt] | None = None,
) -> dict[str, Any]:
    """Bible keys and the segment's vars at top level (vars win), plus structured views;
    ``characters`` and ``keyframes`` only in projects that declare them (so a bible key of
    that name keeps its meaning elsewhere)."""
    segs = project.segments
    prev = segs[segment.index - 1] if segment.index > 0 else None
    nxt = segs[segment.index + 1] if segment.index + 1 < len(segs) else None
    return {
        **project.bible,
        **segment.vars,
        "bible": project.bible,
        "title": project.title,
        "segment": _segment_view(segment),
        "index": segment.index,
        "number": segment.index + 1,
        "count": len(segs),
        "continues": segment.reference.kind == "segment",
        "prev": None
        if prev is None
        else {
            **_segment_view(prev),
            "prompt": previous.text if previous else "",
        },
        "next": None if nxt is None else _segment_view(nxt),
        **_continuity_views(project, segment.characters, segment.between, rendered or {}),
    }


def _continuity_views(
    project: Project,
    cast: tuple[str, ...],
    between: tuple[str, ...],
    rendered: Mapping[str, RenderedPrompt],
) -> dict[str, Any]:
    """``characters`` (the ones listed: name and description) and ``keyframes`` (``start``
    and ``end`` of a segment between keyframes: id, vars and rendered prompt, else None)."""
    views: dict[str, Any] = {}
    if project.characters:
        known = [project.character(name) for name in cast]
        views["characters"] = [
            {"name": c.name, "description": c.description} for c in known if c is not None
        ]
    if project.keyframes:
        start = between[0] if between else None
        end = between[1] if len(between) > 1 else None
        views["keyframes"] = {
            "start": _keyframe_view(project, start, rendered),
            "end": _keyframe_view(project, end, rendered),
        }
    return views


def _keyframe_view(
    project: Project, keyframe_id: str | None, rendered: Mapping[str, RenderedPrompt]
) -> dict[str, Any] | None:
    if keyframe_id is None or keyframe_id not in {k.id for k in project.keyframes}:
        return None
    k = project.keyframe(keyframe_id)
    prompt = rendered.get(keyframe_label(k.id))
    return {"id": k.id, "vars": k.vars, "prompt": prompt.text if prompt else ""}


def keyframe_context(project: Project, keyframe: Keyframe) -> dict[str, Any]:
    """What a keyframe's template sees: bible keys and its vars at top level, ``bible``,
    ``title``, ``keyframe`` (id, vars, index), ``number``, ``count``, and ``characters``."""
    return {
        **project.bible,
        **keyframe.vars,
        "bible": project.bible,
        "title": project.title,
        "keyframe": {"id": keyframe.id, "vars": keyframe.vars, "index": keyframe.index},
        "index": keyframe.index,
        "number": keyframe.index + 1,
        "count": len(project.keyframes),
        **_continuity_views(project, keyframe.characters, (), {}),
    }


def _render_keyframe(
    env: Callable[[], BoundedSandbox],
    project: Project,
    keyframe: Keyframe,
    context: Mapping[str, Any],
    seconds: float,
) -> RenderedPrompt | Problem:
    """A keyframe's prompt, rendered like a segment's (the same limits and messages)."""
    from cinestitch.prompt_render import render_one

    stand_in = Segment(
        id=keyframe.id, index=keyframe.index, template=keyframe.template,
        inline_prompt=keyframe.inline_prompt, seconds=0.0, seed=keyframe.seed,
        vars=keyframe.vars, reference=Reference("none"), head_trim=0.0, tail_trim=0.0,
        transition=Transition("cut", 0.0), sharpest_of=1, takes=1, take=1, line=keyframe.line,
    )  # fmt: skip
    found = render_one(env(), project, stand_in, context, seconds, "keyframes")
    if isinstance(found, Problem):
        return found
    return RenderedPrompt(keyframe_label(keyframe.id), found.text, found.template)


def _segment_view(s: Segment) -> dict[str, Any]:
    return {"id": s.id, "seconds": s.seconds, "vars": s.vars, "reference": s.reference.kind}
