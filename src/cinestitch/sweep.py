"""After a killed build: remove what its writers left half-written.

Every file is written through a temporary name carrying the writer's pid (``atomic``), so a
SIGKILL can leave such a name behind, never a damaged file. Each build marks itself running
in ``.cinestitch/running/`` and unmarks itself at its end; a build that finds the mark of a
dead one sweeps the directories it writes (the cache's too) of temporary files whose writer
is gone. A build after a clean one sweeps nothing, so this costs a no-op build nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from cinestitch.atomic import sweep_stale
from cinestitch.plan import BuildPlan

_MARK = re.compile(r"^(?P<build>[0-9a-f]+)\.(?P<pid>\d+)$")


def _marks(plan: BuildPlan) -> Path:
    return plan.paths.state / "running"


def begin_build(plan: BuildPlan, cache: Path, build_id: str) -> int:
    """Mark this build running; sweep first if an earlier build died. Returns how many
    leftovers went."""
    marks = _marks(plan)
    dead = [m for m in _list(marks) if not _alive_mark(m.name)]
    # where jobs are journaled and downloaded is small and always swept: a writer killed a
    # moment after an earlier sweep (its process not yet gone) leaves nothing for good
    removed = sweep_stale([cache / "jobs", cache / "incoming", plan.paths.lock_pending])
    if dead:
        removed += sum(sweep_stale(dirs) for dirs in _directories(plan, cache))
    for mark in dead:
        mark.unlink(missing_ok=True)
    marks.mkdir(parents=True, exist_ok=True)
    (marks / f"{build_id}.{os.getpid()}").touch()
    return removed


def end_build(plan: BuildPlan, build_id: str) -> None:
    with contextlib.suppress(OSError):
        (_marks(plan) / f"{build_id}.{os.getpid()}").unlink(missing_ok=True)


def _list(directory: Path) -> list[Path]:
    try:
        return [p for p in directory.iterdir() if _MARK.match(p.name)]
    except OSError:
        return []


def _alive_mark(name: str) -> bool:
    match = _MARK.match(name)
    if match is None:
        return True
    pid = int(match["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _directories(plan: BuildPlan, cache: Path) -> Iterator[list[Path]]:
    paths = plan.paths
    yield [paths.state, paths.lock_pending, paths.state / "builds", paths.root]
    build = paths.build
    yield [build, *(p for p in _subdirs(build))]
    yield [*(p for p in _subdirs(build / "takes"))]
    yield [cache, cache / "jobs", cache / "incoming"]
    for fanned in ("objects", "runs", "frames"):
        yield list(_subdirs(cache / fanned))
    for work in _subdirs(paths.state):
        yield [work / "jobs"]


def _subdirs(directory: Path) -> Iterator[Path]:
    try:
        yield from (Path(e.path) for e in os.scandir(directory) if e.is_dir(follow_symlinks=False))
    except OSError:
        return
