"""Turn a project's ``BuildPlan`` into doit tasks: render → generate → frame → stitch.

Task names are ``<step>:<segment-id>``. Whether ``generate:<id>`` must run is decided by the
forecast alone (``state.is_generated``: the same answer ``doit plan``, ``why`` and the budget
step print); its file dependency on the reference image only orders it after the step that
makes that image. Conform, frame and stitch steps rerun when their input clip or a setting
changed.

Loading this module imports neither PyAV, numpy nor Pillow: the steps import them when they
run, so ``doit list`` and a no-op build stay fast.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from doit.tools import config_changed

from cinestitch import actions, finish_actions
from cinestitch.cache import JobJournal
from cinestitch.doit_reporter import BuildReporter
from cinestitch.errors import EXIT_PROJECT_ERROR, CinestitchError, ProjectError
from cinestitch.finish_plan import sfx_files, speed_settings
from cinestitch.gc_tuning import settle
from cinestitch.handoff import handoff_paths, has_edl
from cinestitch.keyframe_tasks import keyframe_tasks
from cinestitch.lock import Lock
from cinestitch.manifest import load_project
from cinestitch.manifest.load import remember_valid
from cinestitch.media.finish import subtitle_paths
from cinestitch.plan import (
    BuildPlan,
    SegmentStep,
    canonical_json,
    frame_view,
    plan_build,
    stitch_settings,
)
from cinestitch.state import (
    cache_dir,
    is_generated,
    journal_dir,
    load_current_lock,
    remote_cache,
    step_prices,
)
from cinestitch.storyboard import chapters_path
from cinestitch.storyboard import is_current as storyboard_is_current

if TYPE_CHECKING:
    from cinestitch.generation import SegmentJob

BUILD_ID_ENV = "CINESTITCH_BUILD_ID"
EXIT_INTERRUPTED = 130

DOIT_CONFIG: dict[str, Any] = {
    "verbosity": 2,
    "backend": "cinestitch-sqlite3",
    "dep_file": ".doit.db",
    "continue": True,
    "reporter": BuildReporter,
}
"""doit settings for a project directory: show progress lines, keep going past a failed
segment (its dependents are skipped, and said so in one line), and keep doit's state in
``.doit.db``."""

TaskDict = dict[str, Any]


def load_plan_or_exit(project_dir: str | Path) -> BuildPlan:
    """Load and plan, or print every problem on one line each and exit 3 (no traceback)."""
    root = Path(project_dir)
    root = root.parent if root.is_file() else root
    try:
        project = load_project(root)
        remember_valid(project)
        return plan_build(project)
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


def build_id() -> str:
    """This build's id, shared by its processes (``doit -n`` forks inherit it)."""
    return os.environ.setdefault(BUILD_ID_ENV, uuid.uuid4().hex[:12])


class Interrupted(SystemExit):
    """Ctrl-C: the build stops without a traceback; journaled jobs are resumed next time.
    Its code is fixed (doit's process pool re-raises it with other arguments)."""

    def __init__(self, *_: object) -> None:
        super().__init__(EXIT_INTERRUPTED)


def _on_interrupt(plan: BuildPlan, main_pid: int) -> None:
    """Turn Ctrl-C into one line saying what is still running at the provider."""

    def handler(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if os.getpid() == main_pid:
            journal = JobJournal(journal_dir(cache_dir(plan)))
            ours = [e for e in journal.pending() if e.build == build_id() and e.job_id]
            if ours:
                jobs, them = (
                    ("1 job is", "it") if len(ours) == 1 else (f"{len(ours)} jobs are", "them")
                )
                said = f"interrupted — {jobs} still running at the provider; the next build "
                said += f"resumes {them} (nothing is paid twice)"
            else:
                said = "interrupted — no job was left running; the next build carries on"
            print(f"\n{said}", file=sys.stderr, flush=True)
        raise Interrupted(EXIT_INTERRUPTED)

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, handler)


def project_tasks(project_dir: str | Path) -> Iterator[TaskDict]:
    """All doit tasks of the project in ``project_dir`` (a directory or its dodo.py)."""
    plan = load_plan_or_exit(project_dir)
    _on_interrupt(plan, os.getpid())
    try:
        lock = load_current_lock(plan.paths)
    except ProjectError as exc:  # a garbled lock: one line, exit 3, like a bad manifest
        print(exc.report(), file=sys.stderr)
        raise SystemExit(EXIT_PROJECT_ERROR) from None
    yield budget_task(plan)
    shared = Shared.of(plan)
    yield from keyframe_tasks(plan, lock, shared.build_id)
    generated = [step for step in plan.steps if step.footage is None]  # not `clip:` ones
    yield from _group("render", "Write each segment's rendered prompt and settings to build/.")
    for step in generated:
        yield render_task(plan, step)
    yield from _group("generate", "Generate each segment's clip with the provider.")
    prices = step_prices(plan)
    for step in generated:
        yield generate_task(plan, step, lock, prices, shared)
    yield from _group("conform", "Re-encode clips once where stitching could not copy them.")
    for step in plan.steps:
        yield conform_task(plan, step, shared)
    yield from _group("frame", "Extract the last frame that the next segment starts from.")
    for step in plan.steps:
        if step.needs_frame:
            yield frame_task(plan, step, shared)
    yield stitch_task(plan, shared)
    yield from review_tasks(plan, shared)
    settle()  # the plan and the task graph live as long as the build: no more collecting them


@dataclass(frozen=True)
class Shared:
    """What many tasks of a build read, worked out once rather than once per segment."""

    build_id: str
    cache_dir: Path
    remote_cache: str | None
    sources: Mapping[str, Path]
    """The clip each segment's conform and frame steps read, by segment id."""
    stitch: Mapping[str, Any]
    """``plan.stitch_settings`` of the stitch."""
    conform: str
    """The conform settings of a segment with no speed change or colour anchor."""

    @classmethod
    def of(cls, plan: BuildPlan) -> Shared:
        return cls(
            build_id(),
            cache_dir(plan),
            remote_cache(plan),
            {s.segment.id: s.footage or plan.paths.clip(s.segment.id) for s in plan.steps},
            stitch_settings(plan.stitch, plan.project.root),
            canonical_json(conform_settings(plan)),
        )


def _rel(plan: BuildPlan, path: Path) -> str:
    """``path`` relative to the project: doit runs in the project directory, so its state
    (``.doit.db``) stays valid when the project is moved, copied or cloned elsewhere."""
    root, text = str(plan.project.root), str(path)
    if text.startswith(root) and text[len(root) : len(root) + 1] == os.sep:
        return text[len(root) + 1 :]  # what relative_to says, without parsing both paths
    return str(path.relative_to(root)) if path.is_relative_to(root) else text


def _group(basename: str, doc: str) -> Iterator[TaskDict]:
    yield {"basename": basename, "name": None, "doc": doc}


def budget_task(plan: BuildPlan) -> TaskDict:
    """Runs first in every build: prints the plan, checks the budgets, and at the end of the
    build prints the ledger. Every generate task depends on it, so an over-budget build
    stops before any provider call."""
    return {
        "basename": "budget",
        "doc": "Print what the build will generate and cost; stop if over budget.",
        "actions": [(actions.run_budget, [plan, build_id()])],
        "teardown": [
            (actions.print_ledger, [plan, build_id()]),
            (actions.finish_review, [plan, build_id()]),
        ],
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


def generate_task(
    plan: BuildPlan,
    step: SegmentStep,
    lock: Lock,
    prices: dict[str, Any],
    shared: Shared | None = None,
) -> TaskDict:
    sid = step.segment.id
    deps = [p for p in (step.reference, step.end_image) if p is not None]
    deps += step.reference_images
    takes = step.segment.takes
    # the job is made when the step runs, from what is known now (the lock as this build
    # found it): a build that generates nothing makes no job
    job = functools.partial(
        segment_job, plan, step, lock, prices.get(sid), shared or Shared.of(plan)
    )
    sheet = plan.paths.contact_sheet(sid)
    clips = [plan.paths.take_clip(sid, n) for n in range(1, takes + 1)]
    targets = [plan.paths.clip(sid), *((*clips, sheet) if takes > 1 else ())]
    return {
        "basename": "generate",
        "name": sid,
        "doc": f"{step.settings['seconds']:g} s with {step.settings['provider']}, "
        f"from {step.segment.reference.describe()}"
        + (f", {takes} takes (using {step.segment.take})" if takes > 1 else ""),
        "actions": [(actions.run_generate, [job, sheet])],
        "file_dep": [_rel(plan, p) for p in deps],
        "task_dep": ["budget"],
        "uptodate": [(is_generated, [plan, sid])],
        "targets": [_rel(plan, p) for p in targets],
        "clean": True,
    }


def segment_job(
    plan: BuildPlan, step: SegmentStep, lock: Lock, price: Any, shared: Shared
) -> SegmentJob:
    """What the generate step of ``step`` is handed: the request, where things go, the
    segment's lock entry and the budgets."""
    from cinestitch.generation import Budgets, SegmentJob

    sid, paths = step.segment.id, plan.paths
    upstream = step.reference_segment
    spec = step.segment.provider
    budget = plan.project.budget
    return SegmentJob(
        segment_id=sid,
        prompt=step.prompt,
        settings=step.settings,
        takes=step.segment.takes,
        take=step.segment.take,
        reference=step.reference,
        reference_clip=shared.sources[upstream] if upstream else None,
        clip=paths.clip(sid),
        take_clips=tuple(paths.take_clip(sid, n) for n in range(1, step.segment.takes + 1)),
        cache_dir=shared.cache_dir,
        provider_dir=paths.provider_work(str(step.settings["provider"])),
        project_dir=plan.project.root,
        lock_pending=paths.lock_pending,
        state_dir=paths.state,
        build_id=shared.build_id,
        locked=lock.entry(sid),
        price_override=spec.price_per_second,
        budgets=Budgets(
            budget.build, budget.total, lock.spent_usd, price.per_second if price else None
        ),
        transport=spec.transport(),
        end_image=step.end_image,
        extends=step.reference_segment if step.extend else None,
        remote_cache=shared.remote_cache,
        reference_images=step.reference_images,
        pin=step.pin,
    )


def _storyboard_current(plan: BuildPlan, build: str) -> bool:
    """doit's check for the storyboard; a state it cannot read (a garbled lock) means the
    step runs and says so in one line, never a traceback from inside doit."""
    try:
        return bool(storyboard_is_current(plan, build))
    except (CinestitchError, OSError):
        return False


def conform_settings(plan: BuildPlan, step: SegmentStep | None = None) -> dict[str, Any]:
    """What a conform step's output depends on besides its clip (``step`` None: a segment
    with no speed change or colour anchor)."""
    stitch = plan.stitch
    settings: dict[str, Any] = {
        "size": f"{stitch.width}x{stitch.height}",
        "fps": stitch.fps,
        "crf": stitch.encoder.crf,
        "preset": stitch.encoder.preset,
        "fit": plan.project.output.fit,
        **speed_settings(step.segment.speed if step is not None else None),
    }
    if step is not None and (step.segment.speed is not None or step.anchor is not None):
        settings["colour_anchor"] = step.anchor
    return settings


def extended_clip(step: SegmentStep, shared: Shared) -> Path | None:
    """The clip a native extension continues (the provider's own clip of the upstream
    segment, which the extension begins with), or ``None``."""
    return shared.sources[step.extends] if step.extends is not None else None


def conform_task(plan: BuildPlan, step: SegmentStep, shared: Shared | None = None) -> TaskDict:
    shared = shared or Shared.of(plan)
    sid = step.segment.id
    clip, conformed = shared.sources[sid], plan.paths.conformed(sid)
    stitch = plan.stitch
    fit = plan.project.output.fit
    settings = shared.conform
    continued = extended_clip(step, shared)
    action: tuple[Any, list[Any]] = (
        actions.run_conform,
        [clip, conformed, stitch, shared.cache_dir, fit, continued],
    )
    deps = [clip, *([continued] if continued is not None else [])]
    if continued is not None:
        settings = canonical_json({**conform_settings(plan, step), "continues": step.extends})
    if step.segment.speed is not None or step.anchor is not None:
        anchor = plan.paths.conformed(step.anchor) if step.anchor is not None else None
        settings = canonical_json(
            {**conform_settings(plan, step), **({"continues": step.extends} if continued else {})}
        )
        deps += [anchor] if anchor is not None else []
        action = (
            finish_actions.run_finished_conform,
            [clip, conformed, stitch, shared.cache_dir, fit, step.segment.speed, anchor, sid,
             continued],
        )  # fmt: skip
    return {
        "basename": "conform",
        "name": sid,
        "doc": f"'{sid}' as the stitcher copies it (re-encoded once only if it must be)",
        "actions": [action],
        "file_dep": [_rel(plan, p) for p in deps],
        "targets": [_rel(plan, conformed)],
        "uptodate": [config_changed(settings)],
        "clean": True,
    }


def frame_task(plan: BuildPlan, step: SegmentStep, shared: Shared | None = None) -> TaskDict:
    shared = shared or Shared.of(plan)
    sid = step.segment.id
    k = step.segment.sharpest_of
    clip, frame = shared.sources[sid], plan.paths.frame(sid)
    view = frame_view(plan.project, k)
    pick = "last frame" if k == 1 else f"sharpest of the last {k} frames"
    return {
        "basename": "frame",
        "name": sid,
        "doc": f"{pick} of '{sid}' as the viewer sees it (a reference image downstream)",
        "actions": [(actions.run_frame, [clip, frame, k, shared.cache_dir, view])],
        "file_dep": [_rel(plan, clip)],
        "targets": [_rel(plan, frame)],
        "uptodate": [config_changed({"view": view.name})],
        "clean": True,
    }


def stitch_task(plan: BuildPlan, shared: Shared | None = None) -> TaskDict:
    shared = shared or Shared.of(plan)
    deps = [c.path for c in plan.stitch.clips]
    if plan.stitch.audio_bed is not None:
        deps.append(plan.stitch.audio_bed.path)
    deps += sfx_files(plan.stitch)
    settings = canonical_json(shared.stitch)
    rel = plan.output.relative_to(plan.project.root)
    subtitles = subtitle_paths(plan.output) if any(c.captions for c in plan.stitch.clips) else ()
    return {
        "basename": "stitch",
        "doc": f"Stitch the segments into {rel}",
        "actions": [
            # chapters are written as the video is muxed, titled as now; a new title alone
            # does not restitch (titles are not in the settings): the chapters step retitles
            (
                actions.run_stitch,
                [plan.stitch, plan.output, actions.chapter_titles(plan), actions.probes_path(plan)],
            ),
            (finish_actions.run_subtitles, [plan.stitch, plan.output, actions.probes_path(plan)]),
        ],
        "file_dep": [_rel(plan, p) for p in deps],
        "targets": [_rel(plan, p) for p in (plan.output, *subtitles)],
        "uptodate": [config_changed(settings)],
        "clean": True,
    }


def review_tasks(plan: BuildPlan, shared: Shared | None = None) -> Iterator[TaskDict]:
    """After the stitch: chapters in the video, seam scores, the editor's timeline, and the
    storyboard page that shows them all."""
    shared = shared or Shared.of(plan)
    yield chapters_task(plan)
    yield scores_task(plan, shared)
    yield handoff_task(plan, shared)
    yield storyboard_task(plan, shared)


def _titles(plan: BuildPlan) -> list[list[str]]:
    return [[s.id, s.chapter_title] for s in plan.project.segments]


def chapters_task(plan: BuildPlan) -> TaskDict:
    vtt = chapters_path(plan)
    return {
        "basename": "chapters",
        "doc": f"One chapter per segment in {plan.output.name}, and {vtt.name} beside it",
        "actions": [(actions.run_chapters, [plan])],
        "file_dep": [_rel(plan, plan.output)],
        "task_dep": ["stitch"],
        "targets": [_rel(plan, vtt)],
        "uptodate": [config_changed(canonical_json(_titles(plan)))],
        "clean": True,
    }


def scores_task(plan: BuildPlan, shared: Shared | None = None) -> TaskDict:
    # the scores read the kept frames of the conformed clips: transitions, music and output
    # quality do not change them, so a restitch does not measure everything again
    stitch = (shared or Shared.of(plan)).stitch
    kept = {"size": stitch["size"], "fps": stitch["fps"], "clips": [
        {"path": c["path"], "trim": c["trim"]} for c in stitch["clips"]
    ]}  # fmt: skip
    settings = canonical_json(kept)
    return {
        "basename": "scores",
        "doc": "Score each seam's continuity and each segment's colour drift (doit seams)",
        "actions": [(actions.run_scores, [plan])],
        "file_dep": [_rel(plan, c.path) for c in plan.stitch.clips],
        "targets": [_rel(plan, plan.paths.seam_scores)],
        "uptodate": [config_changed(settings)],
        "clean": True,
    }


def handoff_task(plan: BuildPlan, shared: Shared | None = None) -> TaskDict:
    otio_path, edl_path = handoff_paths(plan)
    deps = [c.path for c in plan.stitch.clips]
    if plan.stitch.audio_bed is not None:
        deps.append(plan.stitch.audio_bed.path)
    targets = [otio_path, *((edl_path,) if has_edl(plan.stitch.fps) else ())]
    settings = {
        "title": plan.project.title,
        "titles": _titles(plan),
        "stitch": (shared or Shared.of(plan)).stitch,
    }
    return {
        "basename": "handoff",
        "doc": f"The editor's timeline: {otio_path.name} (OpenTimelineIO) and an EDL",
        "actions": [(actions.run_handoff, [plan])],
        "file_dep": [_rel(plan, p) for p in deps],
        "targets": [_rel(plan, p) for p in targets],
        "uptodate": [config_changed(canonical_json(settings))],
        "clean": True,
    }


def storyboard_task(plan: BuildPlan, shared: Shared | None = None) -> TaskDict:
    build = shared.build_id if shared is not None else build_id()
    return {
        "basename": "storyboard",
        "doc": "Write build/storyboard.html: every segment's takes, scores and status",
        "actions": [(actions.run_storyboard, [plan, build])],
        "task_dep": ["chapters", "scores"],
        "targets": [_rel(plan, plan.paths.storyboard)],
        "uptodate": [(_storyboard_current, [plan, build])],
        "clean": True,
    }
