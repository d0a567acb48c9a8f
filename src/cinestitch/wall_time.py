"""How long the generation of a build will take (pure): its critical path and an estimated
wall time, from each provider's typical latency and ``max_in_flight``.

A chained segment cannot start before the segment it continues has finished, so a chain of
20 shots takes 20 generations one after another; segments between keyframes wait only for
their two stills, so they all start at once (within each provider's ``max_in_flight``). The
estimate schedules the plan's generations that way — each as soon as what it starts from is
done and its provider has a free slot, as ``doit -n`` does with enough processes — and
compares it with plain ``doit`` (one at a time) and, for a chained build, with the same
segments in keyframe mode.

Latencies are static data (``data/latency.json``); the animatic's is worked out from its
speed (its ``delay`` option, and about 12 ms per megapixel-frame of rendering).
"""

from __future__ import annotations

import functools
import heapq
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cinestitch.forecast import Forecast, Status
from cinestitch.labels import keyframe_label
from cinestitch.manifest.model import ProviderSpec
from cinestitch.plan import BuildPlan
from cinestitch.resources import DATA_DIR

LATENCY_PATH = DATA_DIR / "latency.json"
ANIMATIC_START = 0.4
"""Seconds the animatic takes to start a worker and hand back its result."""
ANIMATIC_FRAME = 0.012
"""Seconds the animatic takes per frame and megapixel."""
DEFAULT_STILL = "gemini-image"
"""Whose latency a keyframe has in the keyframe-mode comparison of a project without any."""


@functools.cache
def latency_table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(LATENCY_PATH.read_text(encoding="utf-8"))
    return data


def typical_seconds(spec: ProviderSpec, settings: Mapping[str, Any]) -> float:
    """One generation's typical wall time with ``spec`` (a clip, or a still)."""
    if spec.name == "animatic":
        delay = spec.options.get("delay", 0)
        width, _, height = str(settings.get("size", "0x0")).partition("x")
        frames = float(settings.get("seconds", 0)) * int(settings.get("fps", 0) or 0)
        render = max(frames, 1.0) * int(width or 0) * int(height or 0) / 1e6 * ANIMATIC_FRAME
        return ANIMATIC_START + float(delay if isinstance(delay, int | float) else 0) + render
    models = latency_table()["providers"].get(spec.name, {}).get("models", {})
    found = models.get(spec.model, models.get("*"))
    return float(found) if isinstance(found, int | float) else 60.0


@dataclass(frozen=True)
class Job:
    """One step that generates: how long it takes, what it waits for, whose slot it holds."""

    label: str
    seconds: float
    after: tuple[str, ...]
    provider: str
    slots: int | None
    """``max_in_flight`` of its provider (``None``: no limit)."""


@dataclass(frozen=True)
class WallTime:
    jobs: int
    critical: tuple[str, ...]
    """The longest chain of generations that wait on one another."""
    critical_seconds: float
    parallel_seconds: float
    """With ``doit -n`` (enough processes), within each provider's ``max_in_flight``."""
    processes: int
    """The most generations running at once in that schedule (a useful ``-n``)."""
    serial_seconds: float
    """With plain ``doit``: one after another."""
    keyframe_seconds: float | None = None
    """For a build with chains: the same segments between keyframes (stills, then every
    segment at once); ``None`` when it would not be faster or there is no chain."""


def plan_jobs(plan: BuildPlan, forecast: Forecast) -> list[Job]:
    """The plan's generations in build order, each with what it waits for."""
    todo = {s.segment_id: s for s in forecast.segments if s.status is Status.GENERATE}
    jobs = []
    for ks in plan.keyframes:
        row = todo.get(ks.label)
        if row is not None:
            spec = ks.keyframe.provider
            seconds = typical_seconds(spec, ks.settings) * len(row.takes_to_generate)
            jobs.append(Job(ks.label, seconds, (), spec.name, spec.max_in_flight))
    for step in plan.steps:
        row = todo.get(step.segment.id)
        if row is None:
            continue
        spec = step.segment.provider
        waits = [keyframe_label(k) for k in step.keyframes]
        if step.reference_segment is not None:
            waits.append(step.reference_segment)
        after = tuple(w for w in waits if w in todo)
        seconds = typical_seconds(spec, step.settings) * len(row.takes_to_generate)
        jobs.append(Job(step.segment.id, seconds, after, spec.name, spec.max_in_flight))
    return jobs


def schedule(jobs: list[Job]) -> tuple[dict[str, float], int]:
    """When each job finishes if each starts as soon as what it waits for is done and its
    provider has a free slot (in build order), and the most that run at once."""
    done: dict[str, float] = {}
    slots: dict[str, list[float]] = {}
    spans: list[tuple[float, float]] = []
    for job in jobs:  # build order is a topological order: what a job waits for comes first
        start = max((done[a] for a in job.after), default=0.0)
        free = slots.setdefault(job.provider, [])
        if job.slots is not None and len(free) >= job.slots:
            start = max(start, heapq.heappop(free))
        finish = start + job.seconds
        if job.slots is not None:
            heapq.heappush(free, finish)
        done[job.label] = finish
        spans.append((start, finish))
    width = max((sum(1 for s, f in spans if s <= t < f) for t, _ in spans), default=0)
    return done, width


def critical_path(jobs: list[Job]) -> tuple[tuple[str, ...], float]:
    """The chain of waiting jobs with the most seconds in it."""
    best: dict[str, tuple[float, tuple[str, ...]]] = {}
    for job in jobs:
        before = max((best[a] for a in job.after), default=(0.0, ()))
        best[job.label] = (before[0] + job.seconds, (*before[1], job.label))
    seconds, path = max(best.values(), key=lambda found: found[0], default=(0.0, ()))
    return path, seconds


def plan_wall_time(plan: BuildPlan, forecast: Forecast) -> WallTime | None:
    """The estimate for the build ``forecast`` describes; ``None`` when it generates nothing."""
    jobs = plan_jobs(plan, forecast)
    if not jobs:
        return None
    done, width = schedule(jobs)
    path, seconds = critical_path(jobs)
    chained = [j for j in jobs if any(not a.startswith("keyframe:") for a in j.after)]
    keyframe = _in_keyframe_mode(plan, jobs) if chained else None
    parallel = max(done.values())
    return WallTime(
        jobs=len(jobs),
        critical=path,
        critical_seconds=seconds,
        parallel_seconds=parallel,
        processes=width,
        serial_seconds=sum(j.seconds for j in jobs),
        keyframe_seconds=keyframe if keyframe is not None and keyframe < parallel else None,
    )


def _in_keyframe_mode(plan: BuildPlan, jobs: list[Job]) -> float:
    """The same segments between keyframes: one round of stills (one more than segments),
    then every segment at once, each within its provider's slots."""
    if plan.keyframes:
        spec = plan.keyframes[0].keyframe.provider
    else:
        base = plan.project.provider
        spec = base if base.name == "animatic" else ProviderSpec(DEFAULT_STILL, "", {})
    sample = plan.keyframes[0].settings if plan.keyframes else {"size": "0x0"}
    still = typical_seconds(spec, sample)
    segments = [j for j in jobs if not j.label.startswith("keyframe:")]
    stills = [
        Job(f"keyframe:{n}", still, (), spec.name, spec.max_in_flight)
        for n in range(len(segments) + 1)
    ]
    free = [Job(j.label, j.seconds, (), j.provider, j.slots) for j in segments]
    first, _ = schedule(stills)
    second, _ = schedule(free)
    return max(first.values(), default=0.0) + max(second.values(), default=0.0)


def minutes(seconds: float) -> str:
    """``45 s``, ``3 min``, ``1 h 20 min``: what an estimate can honestly say."""
    if seconds < 90:
        return f"{max(1, math.ceil(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    hours, rest = divmod(round(seconds / 60), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def format_wall_time(wall: WallTime) -> str:
    """Two or three lines under the plan's table."""
    steps = len(wall.critical)
    path = " → ".join(wall.critical) if steps <= 6 else (
        f"{' → '.join(wall.critical[:3])} → … → {' → '.join(wall.critical[-2:])}"
    )  # fmt: skip
    if wall.processes > 1:
        when = (
            f"~{minutes(wall.parallel_seconds)} with doit -n {wall.processes} "
            f"(~{minutes(wall.serial_seconds)} with doit, one at a time)"
        )
    else:
        when = f"~{minutes(wall.parallel_seconds)} (one at a time: each waits for another)"
    lines = [
        f"wall time: {when}; {wall.jobs} generations",
        f"critical path: {steps} in a row, ~{minutes(wall.critical_seconds)}: {path}",
    ]
    if wall.keyframe_seconds is not None:
        lines.append(
            f"in keyframe mode (segments between keyframes) ~{minutes(wall.keyframe_seconds)}: "
            "the stills first, then every segment at once"
        )
    return "\n".join(lines)


def wall_text(plan: BuildPlan, forecast: Forecast) -> str | None:
    """The estimate's lines for the plan (``None`` when nothing is generated)."""
    wall = plan_wall_time(plan, forecast)
    return format_wall_time(wall) if wall is not None else None
