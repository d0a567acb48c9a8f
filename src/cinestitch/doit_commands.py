"""``doit plan`` and ``doit why SEGMENT``: doit command plugins (entry point group
``doit.COMMAND``), so they work in any project directory where ``doit`` builds.

They read the same forecast as the build's budget step; nothing is generated or submitted.
"""

from __future__ import annotations

import sys
from pathlib import Path

from doit.cmd_base import DoitCmdBase
from doit.exceptions import InvalidCommand

from cinestitch.errors import CinestitchError, ProjectError
from cinestitch.manifest import MANIFEST_NAME, load_project
from cinestitch.plan import BuildPlan, plan_build
from cinestitch.plan_formats import FORMATS, render_plan
from cinestitch.report import format_why
from cinestitch.state import run_forecast


def project_roots(start: Path) -> list[Path]:
    """The project here, or every project under ``projects/`` (at the repository root)."""
    if (start / MANIFEST_NAME).is_file():
        return [start]
    return sorted(p.parent for p in start.glob(f"projects/*/{MANIFEST_NAME}"))


def plan_text(plan: BuildPlan, fmt: str = "text") -> str:
    """The plan as a table (``text``), ``json`` or ``markdown`` (see ``plan_formats``)."""
    from cinestitch.wall_time import wall_text

    forecast, lock = run_forecast(plan)
    project = plan.project
    text = render_plan(forecast, project.budget, lock.spent_usd, project.name, project.title, fmt)
    wall = wall_text(plan, forecast) if fmt == "text" else None
    return f"{text}\n{wall}" if wall else text


def why_text(plan: BuildPlan, segment_id: str) -> str:
    """One segment (or keyframe, by its label ``keyframe:<id>``) in detail."""
    ids = [s.id for s in plan.project.segments]
    labels = [ks.label for ks in plan.keyframes]
    if segment_id not in ids and segment_id not in labels:
        raise CinestitchError(f"no segment '{segment_id}' — segments: {', '.join(ids + labels)}")
    forecast, lock = run_forecast(plan)
    chain = [segment_id]
    if segment_id in ids:
        step = plan.step(segment_id)
        if step.keyframes:  # the stills it starts and ends on
            chain = [f"keyframe:{step.keyframes[0]}", segment_id]
            chain += [f"keyframe:{k}" for k in step.keyframes[1:]]
        while not step.keyframes and (up := plan.step(chain[0]).reference_segment):
            chain.insert(0, up)
    return format_why(forecast, segment_id, lock.entry(segment_id), chain)


class _ProjectCommand(DoitCmdBase):  # type: ignore[misc]
    def _plans(self) -> list[BuildPlan]:
        roots = project_roots(Path.cwd())
        if not roots:
            raise InvalidCommand(f"no {MANIFEST_NAME} here — run it in a project directory")
        try:
            return [plan_build(load_project(root)) for root in roots]
        except ProjectError as exc:
            raise InvalidCommand(exc.report()) from None


class PlanCommand(_ProjectCommand):
    """Show what the next build would generate, why, and what it would cost."""

    name = "plan"
    doc_purpose = "show what the build would generate, why, and at what cost (spends nothing)"
    doc_usage = "[--format text|json|markdown]"
    doc_description = None
    cmd_options = (
        {
            "name": "plan_format",
            "long": "format",
            "type": str,
            "default": "text",
            "choices": [(f, "") for f in FORMATS],
            "help": "text (a table), json (for bots) or markdown (for a CI job summary)",
        },
    )

    def _execute(self, plan_format: str = "text", pos_args: list[str] | None = None) -> int:
        plans = self._plans()
        if plan_format == "json" and len(plans) > 1:
            texts = [plan_text(plan, "json") for plan in plans]
            self.outstream.write("[\n" + ",\n".join(texts) + "\n]\n")
            return 0
        for plan in plans:
            if len(plans) > 1 and plan_format == "text":
                self.outstream.write(f"{plan.project.name}:\n")
            self.outstream.write(plan_text(plan, plan_format) + "\n")
            if len(plans) > 1 and plan_format == "markdown":
                self.outstream.write("\n")
        return 0


class WhyCommand(_ProjectCommand):
    """Explain one segment: its status, the reasons, its key and what the lock recorded."""

    name = "why"
    doc_purpose = "explain whether and why a segment would be generated"
    doc_usage = "SEGMENT"
    doc_description = None
    cmd_options = ()

    def _execute(self, pos_args: list[str] | None = None) -> int:
        if not pos_args or len(pos_args) != 1:
            raise InvalidCommand("`doit why` takes one segment id, e.g. `doit why shot`")
        (plan,) = self._plans()[:1]
        try:
            self.outstream.write(why_text(plan, pos_args[0]) + "\n")
        except CinestitchError as exc:
            print(f"doit why: {exc}", file=sys.stderr)
            return 3
        return 0
