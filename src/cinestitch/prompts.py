"""Render segment prompts with Jinja: project templates first, then the shared ones.

The environment is sandboxed and strict: an undefined variable is an error naming the
template file and line, never a silent empty string.
"""

from __future__ import annotations

import difflib
import re
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from cinestitch.errors import Problem
from cinestitch.manifest.model import MANIFEST_NAME, Project, RenderedPrompt, Segment
from cinestitch.resources import SHARED_TEMPLATES_DIR

INLINE = "<inline>"


SHARED_PREFIX = "shared"


def template_dirs(root: Path) -> list[Path]:
    return [root / "prompts", SHARED_TEMPLATES_DIR]


def build_environment(root: Path) -> SandboxedEnvironment:
    """Names resolve in the project's prompts/ first, then the shared templates; the prefix
    ``shared/`` always means the shared one, so a project template may extend its namesake."""
    shared = jinja2.FileSystemLoader(str(SHARED_TEMPLATES_DIR))
    loader = jinja2.ChoiceLoader(
        [
            jinja2.FileSystemLoader(str(root / "prompts")),
            jinja2.PrefixLoader({SHARED_PREFIX: shared}),
            shared,
        ]
    )
    return SandboxedEnvironment(
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
    """Every segment's prompt, in order (each sees the previous one's rendered text)."""
    env = build_environment(project.root)
    rendered: dict[str, RenderedPrompt] = {}
    problems: list[Problem] = []
    previous: RenderedPrompt | None = None
    for segment in project.segments:
        context = prompt_context(project, segment, previous)
        result = _render_one(env, project, segment, context)
        if isinstance(result, Problem):
            problems.append(result)
            previous = None
            continue
        rendered[segment.id] = result
        previous = result
    return rendered, problems


def prompt_context(
    project: Project, segment: Segment, previous: RenderedPrompt | None
) -> dict[str, Any]:
    """Bible keys and the segment's vars at top level (vars win), plus structured views."""
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
    }


def _segment_view(s: Segment) -> dict[str, Any]:
    return {"id": s.id, "seconds": s.seconds, "vars": s.vars, "reference": s.reference.kind}


def _render_one(
    env: SandboxedEnvironment, project: Project, segment: Segment, context: Mapping[str, Any]
) -> RenderedPrompt | Problem:
    key = f"segments[{segment.index}]"
    try:
        if segment.inline_prompt is not None:
            template = env.from_string(segment.inline_prompt)
            name = MANIFEST_NAME
        else:
            template = env.get_template(segment.template or "")
            name = _display(project.root, template.filename)
        text = normalize_prompt(template.render(context))
    except jinja2.TemplateNotFound as exc:
        looked = ", ".join(
            _display(project.root, str(d)) + "/" for d in template_dirs(project.root)
        )
        message = f"template '{exc.name}' not found (looked in {looked})"
        return Problem(MANIFEST_NAME, segment.line, f"{key}.template", message)
    except jinja2.TemplateSyntaxError as exc:
        where = _display(project.root, exc.filename) if exc.filename else MANIFEST_NAME
        line = exc.lineno if exc.filename else segment.line
        return Problem(where, line, f"{key} ({segment.id})", f"template syntax: {exc.message}")
    except Exception as exc:  # undefined names, sandbox violations, expression type errors
        if isinstance(exc, jinja2.UndefinedError):
            message = _undefined_message(exc, context)
        else:
            message = f"template error: {exc}"
        found, at = _template_position(exc, project.root)
        return Problem(found or MANIFEST_NAME, at or segment.line, f"{key} ({segment.id})", message)
    return RenderedPrompt(segment.id, text, name)


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
    """The innermost template frame of the traceback (Jinja rewrites frames to template lines)."""
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2"):
            found = (_display(root, frame.filename), frame.lineno)
        elif frame.filename == "<template>":
            found = (MANIFEST_NAME, None)
    return found


def _display(root: Path, filename: str | None) -> str:
    if not filename:
        return INLINE
    path = Path(filename).resolve()
    if path.is_relative_to(root.resolve()):
        return str(path.relative_to(root.resolve()))
    if path.is_relative_to(SHARED_TEMPLATES_DIR.resolve()):
        return f"templates/{path.relative_to(SHARED_TEMPLATES_DIR.resolve())}"
    return str(path)
