"""Turn a project's ``BuildPlan`` into doit tasks: render → generate → frame → stitch.

Task names are ``<step>:<segment-id>``. doit's file dependencies make the build incremental:
a segment regenerates exactly when its prompt file, its settings file or its reference image
changed (each written only when its content changes), and the stitch reruns when a clip or a
stitch setting changed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from doit.tools import config_changed

from cinestitch import actions
from cinestitch.errors import EXIT_PROJECT_ERROR, ProjectError
from cinestitch.generation import SegmentJob
from cinestitch.manifest import load_project
from cinestitch.plan import BuildPlan, SegmentStep, canonical_json, plan_build, stitch_settings
from cinestitch.state import cache_dir, clip_matches_lock, project_price

DOIT_CONFIG: dict[str, Any] = {
    "verbosity": 2,
    "backend": "sqlite3",
    "dep_file": ".doit.db",
    "continue": True,
}
"""doit settings for a project directory: show progress lines, keep going past a failed
segment (its dependents are skipped), and keep doit's state in ``.doit.db``."""

TaskDict = dict[str, Any]


def load_plan_or_exit(project_dir: str | Path) -> BuildPlan:
    """Load and plan, or print every problem on one line each and exit 3 (no traceback)."""
    root = Path(project_dir)
    root = root.parent if root.is_file() else root
    try:
        return plan_build(load_project(root))
    except ProjectError as exc:
        print(exc.report(), file=sys.stderr)
        # doit opened its state file (.doit.db) before asking for the tasks: a project that
        # does not load leaves none behind, unless it holds an earlier build's state.
        from doit.globals import Globals

        backend = getattr(Globals.dep_manager, "backend", None)
        conn, name = getattr(backend, "_conn", None), getattr(backend, "name", None)
        if conn is not None and isinstance(name, str):
            try:
                empty = conn.execute("select 1 from doit limit 1").fetchone() is None
                conn.close()
                Globals.dep_manager._closed = True
                if empty:
                    Path(name).unlink(missing_ok=True)
            except Exception:  # doit's state is doit's: never fail the report over it
                pass
        raise SystemExit(EXIT_PROJECT_ERROR) from None


def project_tasks(project_dir: str | Path) -> Iterator[TaskDict]:
    """All doit tasks of the project in ``project_dir`` (a directory or its dodo.py)."""
    plan = load_plan_or_exit(project_dir)
    yield budget_task(plan)
    yield from _group("render", "Write each segment's rendered prompt and settings to build/.")
    for step in plan.steps:
        yield render_task(plan, step)
    yield from _group("generate", "Generate each segment's clip with the provider.")
    for step in plan.steps:
        yield generate_task(plan, step)
    yield from _group("conform", "Re-encode clips once where stitching could not copy them.")
    for step in plan.steps:
        yield conform_task(plan, step)
    yield from _group("frame", "Extract the last frame that the next segment starts from.")
    for step in plan.steps:
        if step.needs_frame:
            yield frame_task(plan, step)
    yield stitch_task(plan)


def _rel(plan: BuildPlan, path: Path) -> str:
    """``path`` relative to the project: doit runs in the project directory, so its state
    (``.doit.db``) stays valid when the project is moved, copied or cloned elsewhere."""
    root = plan.project.root
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _group(basename: str, doc: str) -> Iterator[TaskDict]:
    yield {"basename": basename, "name": None, "doc": doc}


def budget_task(plan: BuildPlan) -> TaskDict:
    """Runs first in every build: prints the plan, checks the budgets, and at the end of the
    build prints the ledger. Every generate task depends on it, so an over-budget build
    stops before any provider call."""
    return {
        "basename": "budget",
        "doc": "Print what the build will generate and cost; stop if over budget.",
        "actions": [(actions.run_budget, [plan])],
        "teardown": [(actions.print_ledger, [plan])],
        "uptodate": [False],
        "verbosity": 2,
    }


def segment_settings(step: SegmentStep) -> dict[str, Any]:
    """What build/settings/<id>.json holds: the generation settings and the takes."""
    return {**step.settings, "takes": step.segment.takes, "take": step.segment.take}


def render_task(plan: BuildPlan, step: SegmentStep) -> TaskDict:
    sid = step.segment.id
    prompt_path, settings_path = plan.paths.prompt(sid), plan.paths.settings(sid)
    settings = segment_settings(step)
    state = canonical_json({"prompt": step.prompt, "settings": settings})
    return {
        "basename": "render",
        "name": sid,
        "doc": f"prompt of '{sid}' from {plan.project.prompts[sid].template}",
        "actions": [(actions.run_render, [prompt_path, step.prompt, settings_path, settings])],
        "targets": [_rel(plan, prompt_path), _rel(plan, settings_path)],
        "uptodate": [config_changed(state)],
        "clean": True,
    }


def generate_task(plan: BuildPlan, step: SegmentStep) -> TaskDict:
    sid = step.segment.id
    deps = [plan.paths.prompt(sid), plan.paths.settings(sid)]
    if step.reference is not None:
        deps.append(step.reference)
    takes = step.segment.takes
    job = segment_job(plan, step)
    sheet = plan.paths.contact_sheet(sid)
    targets = [job.clip, *((*job.take_clips, sheet) if takes > 1 else ())]
    return {
        "basename": "generate",
        "name": sid,
        "doc": f"{step.settings['seconds']:g} s with {step.settings['provider']}, "
        f"from {step.segment.reference.describe()}"
        + (f", {takes} takes (using {step.segment.take})" if takes > 1 else ""),
        "actions": [(actions.run_generate, [job, sheet])],
        "file_dep": [_rel(plan, p) for p in deps],
        "task_dep": ["budget"],
        "uptodate": [(clip_matches_lock, [plan.paths.lock, sid, job.clip])],
        "targets": [_rel(plan, p) for p in targets],
        "clean": True,
    }


def segment_job(plan: BuildPlan, step: SegmentStep) -> SegmentJob:
    sid, paths = step.segment.id, plan.paths
    upstream = step.reference_segment
    spec = plan.project.provider
    price = project_price(plan)
    return SegmentJob(
        segment_id=sid,
        settings=step.settings,
        takes=step.segment.takes,
        take=step.segment.take,
        prompt_path=paths.prompt(sid),
        reference=step.reference,
        reference_clip=paths.clip(upstream) if upstream else None,
        clip=paths.clip(sid),
        take_clips=tuple(paths.take_clip(sid, n) for n in range(1, step.segment.takes + 1)),
        cache_dir=cache_dir(plan),
        journal_dir=paths.journal,
        provider_dir=paths.provider_work(spec.name),
        lock_path=paths.lock,
        lock_mutex=paths.lock_mutex,
        ledger_path=paths.ledger,
        price_per_second=price.per_second if price is not None else None,
    )


def conform_task(plan: BuildPlan, step: SegmentStep) -> TaskDict:
    sid = step.segment.id
    clip, conformed = plan.paths.clip(sid), plan.paths.conformed(sid)
    stitch = plan.stitch
    settings = {
        "size": f"{stitch.width}x{stitch.height}",
        "fps": stitch.fps,
        "crf": stitch.encoder.crf,
        "preset": stitch.encoder.preset,
    }
    return {
        "basename": "conform",
        "name": sid,
        "doc": f"'{sid}' as the stitcher copies it (re-encoded once only if it must be)",
        "actions": [(actions.run_conform, [clip, conformed, stitch, cache_dir(plan)])],
        "file_dep": [_rel(plan, clip)],
        "targets": [_rel(plan, conformed)],
        "uptodate": [config_changed(canonical_json(settings))],
        "clean": True,
    }


def frame_task(plan: BuildPlan, step: SegmentStep) -> TaskDict:
    sid = step.segment.id
    k = step.segment.sharpest_of
    clip, frame = plan.paths.clip(sid), plan.paths.frame(sid)
    pick = "last frame" if k == 1 else f"sharpest of the last {k} frames"
    return {
        "basename": "frame",
        "name": sid,
        "doc": f"{pick} of '{sid}' (a reference image downstream)",
        "actions": [(actions.run_frame, [clip, frame, k, cache_dir(plan)])],
        "file_dep": [_rel(plan, clip)],
        "targets": [_rel(plan, frame)],
        "uptodate": [config_changed({"sharpest_of": k})],
        "clean": True,
    }


def stitch_task(plan: BuildPlan) -> TaskDict:
    deps = [c.path for c in plan.stitch.clips]
    if plan.stitch.audio_bed is not None:
        deps.append(plan.stitch.audio_bed.path)
    settings = canonical_json(stitch_settings(plan.stitch, plan.project.root))
    rel = plan.output.relative_to(plan.project.root)
    return {
        "basename": "stitch",
        "doc": f"Stitch the segments into {rel}",
        "actions": [(actions.run_stitch, [plan.stitch, plan.output])],
        "file_dep": [_rel(plan, p) for p in deps],
        "targets": [_rel(plan, plan.output)],
        "uptodate": [config_changed(settings)],
        "clean": True,
    }
