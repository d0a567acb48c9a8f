"""Render segment prompts with Jinja: project templates first, then the shared ones.

The environment is sandboxed, strict and bounded (``prompt_sandbox``): an undefined variable
is an error naming the template file and line, never a silent empty string; a template may
not read outside its folder, nor make huge values, nor run for long. A prompt that renders
empty or longer than ``MAX_PROMPT_CHARS`` is an error too: it would be paid for.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import signal
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import jinja2

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
from cinestitch.prompt_sandbox import (
    MAX_TEXT_CHARS,
    BoundedSandbox,
    FolderLoader,
    RenderLimitError,
    TemplateRefusedError,
)
from cinestitch.resources import SHARED_TEMPLATES_DIR

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


def build_environment(root: Path) -> BoundedSandbox:
    """Names resolve in the project's prompts/ first, then the shared templates; the prefix
    ``shared/`` always means the shared one, so a project template may extend its namesake."""
    shared = FolderLoader(SHARED_TEMPLATES_DIR, "templates/")
    loader = jinja2.ChoiceLoader(
        [
            FolderLoader(root / "prompts", "prompts/", boundary=root),
            jinja2.PrefixLoader({SHARED_PREFIX: shared}),
            shared,
        ]
    )
    return BoundedSandbox(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def normalize_prompt(text: str) -> str:
    """Collapse whitespace inside paragraphs; keep blank lines between paragraphs."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def render_prompts(project: Project) -> tuple[dict[str, RenderedPrompt], list[Problem]]:
    """Every generated keyframe's prompt (by its label, ``keyframe:<id>``), then every
    segment's, in order (each sees the previous one's rendered text and the prompts of the
    keyframes it runs between)."""
    env = build_environment(project.root)
    rendered: dict[str, RenderedPrompt] = {}
    problems: list[Problem] = []
    previous: RenderedPrompt | None = None
    ends = time.monotonic() + PROJECT_SECONDS
    for keyframe in project.keyframes:
        left = ends - time.monotonic()
        if (keyframe.template is None and keyframe.inline_prompt is None) or left <= 0:
            continue  # a picture in the project has no prompt; a slow project is said below
        found = _render_keyframe(env, project, keyframe, min(SEGMENT_SECONDS, left))
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
        result = _render_one(env, project, segment, context, min(SEGMENT_SECONDS, left))
        if isinstance(result, Problem):
            problems.append(result)
            previous = None
            continue
        rendered[segment.id] = result
        previous = result
    return rendered, problems


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
    env: BoundedSandbox, project: Project, keyframe: Keyframe, seconds: float
) -> RenderedPrompt | Problem:
    """A keyframe's prompt, rendered like a segment's (the same limits and messages)."""
    stand_in = Segment(
        id=keyframe.id, index=keyframe.index, template=keyframe.template,
        inline_prompt=keyframe.inline_prompt, seconds=0.0, seed=keyframe.seed,
        vars=keyframe.vars, reference=Reference("none"), head_trim=0.0, tail_trim=0.0,
        transition=Transition("cut", 0.0), sharpest_of=1, takes=1, take=1, line=keyframe.line,
    )  # fmt: skip
    found = _render_one(
        env, project, stand_in, keyframe_context(project, keyframe), seconds, "keyframes"
    )
    if isinstance(found, Problem):
        return found
    return RenderedPrompt(keyframe_label(keyframe.id), found.text, found.template)


def _segment_view(s: Segment) -> dict[str, Any]:
    return {"id": s.id, "seconds": s.seconds, "vars": s.vars, "reference": s.reference.kind}


def _render_one(
    env: BoundedSandbox,
    project: Project,
    segment: Segment,
    context: Mapping[str, Any],
    seconds: float,
    section: str = "segments",
) -> RenderedPrompt | Problem:
    key = f"{section}[{segment.index}]"
    who = f"{key} ({segment.id})"
    name = MANIFEST_NAME
    if seconds < SEGMENT_SECONDS:
        late = f"rendering took too long: all the prompts may take {PROJECT_SECONDS:g} s"
    else:
        late = f"rendering took more than {SEGMENT_SECONDS:g} s"
    try:
        with time_limit(seconds, late):
            env.start_render(seconds, late)
            if segment.inline_prompt is not None:
                template = env.from_string(segment.inline_prompt)
            else:
                template = env.get_template(segment.template or "")
                name = _display(project.root, template.filename)
            text = normalize_prompt(_bounded_render(template, context))
    except jinja2.TemplateSyntaxError as exc:
        where = _display(project.root, exc.filename) if exc.filename else MANIFEST_NAME
        line = exc.lineno if exc.filename else segment.line
        return Problem(where, line, who, f"template syntax: {exc.message}")
    except (jinja2.TemplateNotFound, TemplateRefusedError) as exc:
        found, at = _template_position(exc, project.root)
        if found is None:  # the segment's own template: blame the manifest
            return Problem(MANIFEST_NAME, segment.line, f"{key}.template", _missing(exc, project))
        return Problem(found, at or segment.line, who, _missing(exc, project))
    except Exception as exc:  # undefined names, sandbox violations, limits, type errors
        found, at = _template_position(exc, project.root)
        if found is None and name != MANIFEST_NAME:  # stopped between template lines
            found, at = name, 1
        return Problem(
            found or MANIFEST_NAME, at or segment.line, who, _render_message(exc, context)
        )
    finally:
        env.deadline = None
    return _checked_prompt(RenderedPrompt(segment.id, text, name), segment, who)


def _bounded_render(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """The template's output, stopping as soon as it passes ``MAX_TEXT_CHARS``."""
    env = template.environment
    assert isinstance(env, BoundedSandbox)
    parts: list[str] = []
    size = 0
    for part in template.generate(context):
        size += len(part)
        if size > MAX_TEXT_CHARS:
            raise RenderLimitError(f"the prompt renders more than {MAX_TEXT_CHARS:,} characters")
        env.check_time()
        parts.append(part)
    return "".join(parts)


def _checked_prompt(prompt: RenderedPrompt, segment: Segment, who: str) -> RenderedPrompt | Problem:
    where = prompt.template
    line = segment.line if where == MANIFEST_NAME else 1
    if not prompt.text:
        message = "the prompt renders empty — write something, or check the variables it uses"
        return Problem(where, line, who, message)
    if len(prompt.text) > MAX_PROMPT_CHARS:
        message = (
            f"the prompt is {len(prompt.text):,} characters; at most {MAX_PROMPT_CHARS:,} — "
            "shorten it"
        )
        return Problem(where, line, who, message)
    return prompt


def _missing(exc: jinja2.TemplateNotFound | TemplateRefusedError, project: Project) -> str:
    if isinstance(exc, TemplateRefusedError):
        return str(exc.message)
    looked = ", ".join(_display(project.root, str(d)) + "/" for d in template_dirs(project.root))
    return f"template '{exc.name}' not found (looked in {looked})"


def _render_message(exc: Exception, context: Mapping[str, Any]) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return _undefined_message(exc, context)
    if isinstance(exc, RenderLimitError):
        return f"{exc} — simplify the template"
    if isinstance(exc, RecursionError):
        return "templates include, extend or call themselves without end — break the cycle"
    return f"template error: {exc}"


@contextlib.contextmanager
def time_limit(seconds: float, message: str) -> Iterator[None]:
    """Interrupt the block after ``seconds`` with ``RenderLimitError(message)``, using a timer
    signal (no thread). Off the main thread, or when a timer is already running, the block
    runs without the signal and only the sandbox's own checks of the clock bound it."""
    if not _can_use_timer():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        raise RenderLimitError(message)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)


def _can_use_timer() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )


def _undefined_message(exc: jinja2.UndefinedError, context: Mapping[str, Any]) -> str:
    message = exc.message or "undefined variable"
    found = re.match(r"'([^']+)' is undefined", message)
    if found:
        close = difflib.get_close_matches(found.group(1), list(context), n=1)
        hint = (
            f"did you mean '{close[0]}'?" if close else "define it in bible or the segment's vars"
        )
        return f"{message} — {hint}"
    return f"{message} — check the variable names in bible and vars"


def _template_position(exc: BaseException, root: Path) -> tuple[str | None, int | None]:
    """The innermost template frame of the traceback (Jinja rewrites frames to template
    lines): the line that includes, extends or calls what went wrong."""
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            found = (MANIFEST_NAME, None)
        elif _is_template_file(frame.filename, root):
            found = (_display(root, frame.filename), frame.lineno)
    return found


def _is_template_file(filename: str, root: Path) -> bool:
    path = Path(os.path.abspath(filename))
    return any(path.is_relative_to(d) for d in template_dirs(root))


def _display(root: Path, filename: str | None) -> str:
    """A template file as a user names it: relative to the project, or ``templates/NAME``."""
    if not filename:
        return INLINE
    path = Path(os.path.abspath(filename))
    if path.is_relative_to(root):
        return str(path.relative_to(root))
    for shared in (SHARED_TEMPLATES_DIR, SHARED_TEMPLATES_DIR.resolve()):
        if path == shared:
            return "templates"
        if path.is_relative_to(shared):
            return f"templates/{path.relative_to(shared)}"
    return str(path)
