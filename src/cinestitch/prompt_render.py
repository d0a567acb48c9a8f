"""Render one prompt with Jinja in the bounded sandbox, and word what goes wrong as one
line naming the template file and line (``prompts`` decides what is rendered, and when)."""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import signal
import threading
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import jinja2

from cinestitch.errors import Problem
from cinestitch.manifest.model import MANIFEST_NAME, Project, RenderedPrompt, Segment
from cinestitch.prompt_sandbox import (
    MAX_TEXT_CHARS,
    BoundedSandbox,
    FolderLoader,
    RenderLimitError,
    TemplateRefusedError,
)
from cinestitch.prompts import (
    INLINE,
    MAX_PROMPT_CHARS,
    PROJECT_SECONDS,
    SEGMENT_SECONDS,
    SHARED_PREFIX,
    normalize_prompt,
    template_dirs,
)
from cinestitch.resources import SHARED_TEMPLATES_DIR


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


def render_one(
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
