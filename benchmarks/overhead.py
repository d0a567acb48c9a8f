"""Overhead at scale: what cinestitch adds to doit, at 10, 100 and 300 segments.

    python benchmarks/overhead.py              # 10, 100 and 300 segments, 3 runs each
    python benchmarks/overhead.py --quick      # 10 and 100 segments, 1 run each
    python benchmarks/overhead.py --work DIR   # keep the projects (and their cache) in DIR

For each size it writes a project of one-second segments at 320x180 (chains of ten, each
chain starting afresh, every third segment crossfading into the next) for the embedded
animatic provider, which renders offline, and builds it. All sizes share one generation
cache, so a clip is rendered once and reused by every project (and by later runs with
``--work``). Next to each project it writes the baseline: a dodo file declaring the same
tasks as cinestitch's (the same names, file dependencies, targets and task dependencies;
doit's md5 file checker, the same sqlite3 state backend), whose actions do nothing. Then,
side by side in one run, it times each command as a user runs it (a fresh process):

- a no-op ``doit`` on the built project, and on the baseline (bare doit, same graph);
- ``doit plan`` and ``cinestitch validate``;
- ``doit list``, and ``doit list`` on the baseline;
- ``doit`` after one transition edit: the stitch itself (timed inside that process) and
  everything else (the overhead);
- the peak RSS of the no-op, and of the baseline's.

Times are medians over the runs; ratios are to the baseline no-op (``doit list`` to the
baseline's ``doit list``, RSS to the baseline's RSS). Commands run with Python's bytecode
caches on, as Python runs by default (``PYTHONDONTWRITEBYTECODE`` is dropped), so that
cinestitch's modules load compiled, as doit's do from its install.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CHAIN = 10
"""Segments per chain: the first of each starts afresh (``reference: none``)."""
SIZE, FPS, SECONDS = "320x180", 24, 1
CROSSFADE = 0.25
PROJECT_DODO = '''"""`doit` here builds this cinestitch project."""

from cinestitch.tasks import DOIT_CONFIG, project_tasks  # noqa: F401


def task_cinestitch():  # type: ignore[no-untyped-def]
    return project_tasks(__file__)
'''
BASELINE_DODO = '''"""Bare doit deciding cinestitch's task graph; its actions do nothing."""

import json
from pathlib import Path

DOIT_CONFIG = {
    "verbosity": 2,
    "backend": "sqlite3",
    "dep_file": ".baseline.doit.db",
    "check_file_uptodate": "md5",
    "continue": True,
}
GRAPH = json.loads((Path(__file__).parent / "baseline-graph.json").read_text())


def nothing():  # type: ignore[no-untyped-def]
    return None


def task_baseline():  # type: ignore[no-untyped-def]
    for task in GRAPH:
        if task["group"]:
            yield {"basename": task["basename"], "name": None, "doc": "group"}
            continue
        yield {
            "basename": task["basename"],
            "name": task["name"],
            "actions": [nothing],
            "file_dep": task["file_dep"],
            "targets": task["targets"],
            "task_dep": task["task_dep"],
            "uptodate": [task["uptodate"]],
        }
'''
DUMP_GRAPH = """
import json, sys
from doit.loader import get_module, load_tasks
tasks = load_tasks(vars(get_module("dodo.py")))
graph = []
for t in tasks:
    group = bool(getattr(t, "has_subtask", False)) and not t.actions
    base = t.subtask_of or t.name
    name = t.name[len(base) + 1 :] if t.subtask_of else None
    always = any(u[0] is False for u in t.uptodate if isinstance(u, tuple))
    graph.append({
        "group": group, "basename": base, "name": name,
        "file_dep": sorted(t.file_dep), "targets": list(t.targets),
        "task_dep": [d for d in t.task_dep if not d.startswith(base + ":")],
        "uptodate": not always,
    })
print(json.dumps(graph))
"""
"""Loads the project's dodo.py as doit does and prints its tasks; a task whose up-to-date
check is ``False`` (it runs every time, as ``budget`` does) stays so in the baseline, and
every other check becomes ``True``, the cheapest decision doit can make."""
TIMED_STITCH = """
import json, sys, time
import cinestitch.media.remux as remux
spent = [0.0]
stitch = remux.smart_stitch
def timed(*args, **kwargs):
    started = time.perf_counter()
    try:
        return stitch(*args, **kwargs)
    finally:
        spent[0] += time.perf_counter() - started
remux.smart_stitch = timed
from doit.doit_cmd import DoitMain
code = DoitMain().run(sys.argv[1:])
print("STITCH-SECONDS", json.dumps({"code": code, "seconds": spent[0]}))
sys.exit(code)
"""
"""``doit`` with the stitch timed inside the process that runs it."""


@dataclass
class Run:
    """One command's wall time (process start to exit), peak RSS, output and exit code, and
    the CPU time it used (user and system, all threads)."""

    seconds: float
    rss_mb: float
    stdout: str
    code: int
    cpu: float = 0.0


@dataclass
class Sample:
    """Every measurement of one project size, over the runs."""

    segments: int
    tasks: int = 0
    build: float = 0.0
    times: dict[str, list[float]] = field(default_factory=dict)
    rss: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, run: Run) -> None:
        self.times.setdefault(name, []).append(run.seconds)
        self.rss.setdefault(name, []).append(run.rss_mb)
        self.cpu.setdefault(name, []).append(run.cpu)

    def c(self, name: str) -> float:
        return statistics.median(self.cpu[name])

    def t(self, name: str) -> float:
        return statistics.median(self.times[name])

    def m(self, name: str) -> float:
        return max(self.rss[name])


def manifest(segments: int, edit: float | None = None) -> str:
    """The project's cinestitch.yaml; ``edit`` gives the middle crossfade that length."""
    lines = [
        "schema_version: 1",
        f"title: Overhead {segments}",
        f"output: {{size: {SIZE}, fps: {FPS}}}",
        "cache: ../cache",
        f"defaults: {{seconds: {SECONDS}, transition: {{type: cut}}}}",
        "segments:",
    ]
    middle = _edited(segments)
    for i in range(segments):
        chain, n = divmod(i, CHAIN)
        ref = "none" if n == 0 else "previous"
        seconds = edit if edit is not None and i == middle else CROSSFADE
        fade = f", transition: {{type: crossfade, seconds: {seconds}}}" if n % 3 == 1 else ""
        prompt = f"Chain {chain} shot {n}."
        lines.append(f'  - {{id: c{chain}-{n}, reference: {ref}, prompt: "{prompt}"{fade}}}')
    return "\n".join(lines) + "\n"


def _edited(segments: int) -> int:
    """The crossfading segment nearest the middle: the one the transition edit changes."""
    return min(
        (i for i in range(segments) if i % CHAIN % 3 == 1), key=lambda i: abs(2 * i - segments)
    )


def env() -> dict[str, str]:
    """The environment without the user's CINESTITCH_ settings (their cache, say), and with
    Python's bytecode caches on, as they are by default: doit's modules come compiled from
    its install, and a machine that sets PYTHONDONTWRITEBYTECODE (this project's does) would
    otherwise compile every cinestitch module from source at every start."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CINESTITCH_") and k != "PYTHONDONTWRITEBYTECODE"
    }


def run(cmd: list[str], cwd: Path, check: bool = True) -> Run:
    """Run ``cmd`` in a fresh process; its wall time and peak RSS (from ``wait4``)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        cmd, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if check and child.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd} ({child.returncode}):\n{out}")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, usage.ru_maxrss / 1024, out, child.returncode, cpu)


def doit(*args: str) -> list[str]:
    return [sys.executable, "-m", "doit", *args]


def baseline(*args: str) -> list[str]:
    """``doit`` (``args`` a command) on the baseline's dodo file."""
    return doit(*args, "-f", "baseline_dodo.py")


def prepare(work: Path, segments: int) -> Sample:
    """Write and build the project of ``segments`` segments, and its baseline."""
    root = work / f"p{segments}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "cinestitch.yaml").write_text(manifest(segments))
    (root / "dodo.py").write_text(PROJECT_DODO)
    sample = Sample(segments)
    print(f"\n== {segments} segments: building (clips come from the shared cache once made)")
    built = run(doit("-n", "2"), root, check=False)
    sample.build = built.seconds
    if built.code != 0:
        print(f"   the parallel build failed ({built.code}); building again in one process")
    run(doit(), root)
    dumped = run([sys.executable, "-c", DUMP_GRAPH], root).stdout
    graph = json.loads(dumped.strip().splitlines()[-1])
    sample.tasks = len(graph)
    (root / "baseline-graph.json").write_text(json.dumps(graph))
    (root / "baseline_dodo.py").write_text(BASELINE_DODO)
    run(baseline(), root)
    run(baseline(), root)
    print(f"   built in {sample.build:.1f} s; {sample.tasks} tasks")
    return sample


def measure(work: Path, sample: Sample, runs: int) -> None:
    """Every command, ``runs`` times, interleaved with the baseline's."""
    root = work / f"p{sample.segments}"
    cli = [sys.executable, "-m", "cinestitch.cli"]
    for r in range(runs):
        sample.add("base_noop", run(baseline(), root))
        sample.add("noop", run(doit(), root))
        sample.add("base_list", run(baseline("list"), root))
        sample.add("list", run(doit("list"), root))
        sample.add("plan", run(doit("plan"), root))
        sample.add("validate", run([*cli, "validate"], root))
        (root / "cinestitch.yaml").write_text(manifest(sample.segments, 0.3 + 0.05 * r))
        restitch = run([sys.executable, "-c", TIMED_STITCH], root)
        line = next(x for x in restitch.stdout.splitlines() if x.startswith("STITCH-SECONDS"))
        stitched = json.loads(line.split(" ", 1)[1])["seconds"]
        sample.add("restitch", restitch)
        sample.times.setdefault("stitch", []).append(stitched)
        sample.times.setdefault("overhead", []).append(restitch.seconds - stitched)
    (root / "cinestitch.yaml").write_text(manifest(sample.segments))
    run(doit(), root)


def report(samples: list[Sample]) -> None:
    """The table, then each target as met or not."""
    print("\nratios are to bare doit deciding the same graph (md5 checker): its no-op, its")
    print("`doit list`, its peak RSS")
    head = (
        f"{'segments':>8} {'tasks':>5} {'bare doit':>9} {'no-op':>14} {'plan':>14} "
        f"{'validate':>14} {'list (bare)':>19} {'restitch: stitch + overhead':>29} "
        f"{'no-op RSS (bare)':>18}"
    )
    print(head)
    for s in samples:
        base = s.t("base_noop")

        def cell(name: str, s: Sample = s, base: float = base) -> str:
            return f"{s.t(name):.2f} s {s.t(name) / base:4.1f}x"

        listing = (
            f"{s.t('list'):.2f} s ({s.t('base_list'):.2f}) {s.t('list') / s.t('base_list'):.1f}x"
        )
        restitch = f"{s.t('stitch'):.2f} s + {s.t('overhead'):.2f} s {s.t('overhead') / base:.1f}x"
        rss = f"{s.m('noop'):.0f} MB ({s.m('base_noop'):.0f})"
        print(
            f"{s.segments:>8} {s.tasks:>5} {base:>7.2f} s {cell('noop'):>14} {cell('plan'):>14} "
            f"{cell('validate'):>14} {listing:>19} {restitch:>29} {rss:>18}"
        )
    print("\nCPU seconds (user + system, medians; less shaken by other jobs than wall time)")
    print(
        f"{'segments':>8} {'bare doit':>9} {'no-op':>13} {'plan':>6} {'validate':>8} "
        f"{'restitch':>8}"
    )
    for s in samples:
        base = s.c("base_noop")
        noop = f"{s.c('noop'):.2f} ({s.c('noop') / base:.1f}x)"
        print(
            f"{s.segments:>8} {base:>9.2f} {noop:>13} {s.c('plan'):>6.2f} "
            f"{s.c('validate'):>8.2f} {s.c('restitch'):>8.2f}"
        )
    targets(samples)


def targets(samples: list[Sample]) -> None:
    by = {s.segments: s for s in samples}

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print()
    if 100 in by:
        s = by[100]
        ratio = s.t("noop") / s.t("base_noop")
        print(f"no-op at 100 <= 3x bare doit and <= 0.5 s: {ratio:.1f}x, {s.t('noop'):.2f} s —",
              verdict(ratio <= 3 and s.t("noop") <= 0.5))  # fmt: skip
        for name in ("plan", "validate"):
            print(f"{name} at 100 <= 0.5 s: {s.t(name):.2f} s —", verdict(s.t(name) <= 0.5))
        print(f"restitch overhead at 100 <= 0.5 s: {s.t('overhead'):.2f} s —",
              verdict(s.t("overhead") <= 0.5))  # fmt: skip
    if 300 in by:
        s = by[300]
        print(f"no-op at 300 <= 1.2 s: {s.t('noop'):.2f} s —", verdict(s.t("noop") <= 1.2))
    if len(by) > 1:
        low, high = by[min(by)], by[max(by)]
        grow = high.m("noop") / low.m("noop")
        print(f"no-op peak RSS {low.segments} -> {high.segments} segments <= 1.2x: {grow:.2f}x —",
              verdict(grow <= 1.2))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 and 100 segments, one run")
    parser.add_argument("--runs", type=int, help="runs per size (default 3, or 1 with --quick)")
    parser.add_argument("--sizes", type=int, nargs="+", help="segment counts to measure")
    parser.add_argument("--work", type=Path, help="keep and reuse the projects in this directory")
    args = parser.parse_args()
    sizes = args.sizes or ([10, 100] if args.quick else [10, 100, 300])
    runs = args.runs or (1 if args.quick else 3)
    work = args.work or Path(tempfile.mkdtemp(prefix="cinestitch-overhead-"))
    try:
        samples = [prepare(work, n) for n in sizes]
        for sample in samples:
            print(f"== {sample.segments} segments: measuring ({runs} run(s))")
            measure(work, sample, runs)
        print(f"\n{os.cpu_count()} cores, Python {sys.version.split()[0]}")
        report(samples)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
