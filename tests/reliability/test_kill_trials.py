"""SIGKILL at random moments, then a rebuild: every request is paid once, nothing is corrupt,
and resubmitting only ever pays again for a job the provider lost."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

import pytest
from reliability_support import (
    INDEPENDENT,
    PRICE,
    Done,
    Running,
    Scale,
    bill,
    cache_of,
    corruption,
    cut_short,
    doit,
    false_refusals,
    journal_entries,
    journaled_jobs,
    lock_keys,
    lock_spent,
    manifest,
    overpaid,
    planned_keys,
    provider_dir,
    settle,
    stop_worker,
    submissions,
    tracebacks,
    wait_for,
    write_project,
)

from tests.conftest import clean_env

pytestmark = pytest.mark.reliability

MODES = ("random moment", "inside submit", "job in flight")
BUILD_SECONDS = 2.5
"""About how long a trial project's first build takes (three jobs of 0.3 s delay each)."""


def kill_at(root: Path, log: Path, mode: str, rng: random.Random, parallel: bool) -> Done:
    """Start a build and SIGKILL it (doit and its worker processes) as ``mode`` says."""
    build = Running(root, *(("-n", "2") if parallel else ()), log=log)
    cache = cache_of(root)
    if mode == "inside submit":  # the journal says a submission is under way
        wait_for(lambda: cut_short(cache) or not build.running(), 30, 0.001)
    elif mode == "job in flight":
        wait_for(lambda: journaled_jobs(cache) or not build.running(), 30, 0.005)
        time.sleep(rng.uniform(0.0, 0.4))
    else:
        time.sleep(rng.uniform(0.05, BUILD_SECONDS))
    return build.kill()


def check_recovery(root: Path, killed: Done) -> tuple[list[str], Done]:
    """Plan and rebuild after a kill; what went wrong (empty when nothing did)."""
    plan = doit(root, "plan")
    rebuild = doit(root)
    problems = []
    if rebuild.returncode != 0:
        problems.append(f"the rebuild failed — {rebuild.describe()}")
    for done in (killed, plan, rebuild):
        problems += [f"traceback in `doit {' '.join(done.args)}`: {t}" for t in tracebacks(done)]
    problems += [f"false refusal: {line}" for line in false_refusals([plan, rebuild], [root])]
    counts = bill(root)
    if overpaid(counts):
        problems.append(f"paid twice: {overpaid(counts)}")
    keys = lock_keys(root)
    unpaid = sorted(sid for sid, key in keys.items() if counts[key] != 1)
    if rebuild.returncode == 0 and unpaid:
        problems.append(f"segments not paid exactly once: {unpaid} (bill {dict(counts)})")
    strays = set(counts) - set(keys.values())
    if rebuild.returncode == 0 and strays:
        problems.append(f"submissions for requests the lock does not hold: {sorted(strays)}")
    left = journal_entries(cache_of(root))
    if rebuild.returncode == 0 and left:
        problems.append(f"jobs still journaled after a finished build: {sorted(left)}")
    if lock_spent(root) > PRICE * len(submissions(root)) + 1e-9:
        problems.append(f"the lock counts ${lock_spent(root)} for {len(submissions(root))} jobs")
    problems += corruption(root)
    return problems, rebuild


def test_sigkill_at_random_moments_pays_each_request_once(tmp_path: Path, scale: Scale) -> None:
    """After a SIGKILL anywhere in a build (inside submit too), a plain rebuild succeeds and
    each request is paid exactly once, with nothing corrupt and no traceback."""
    found: list[str] = []
    inside = 0
    for trial in range(scale.trials):
        rng = random.Random(f"kill-{trial}")
        mode = MODES[trial % len(MODES)]
        parallel = trial % 2 == 1
        root = write_project(tmp_path / f"trial-{trial}", manifest(delay=0.3))
        killed = kill_at(root, tmp_path / f"trial-{trial}.log", mode, rng, parallel)
        inside += bool(cut_short(cache_of(root)))
        problems, _ = check_recovery(root, killed)
        label = f"trial {trial} ({mode}{', doit -n 2' if parallel else ''})"
        found += [f"{label}: {p}" for p in problems]
        settle(root)
        if len(found) > 20:
            break
    assert not found, "\n".join(found)
    if scale.long:
        assert inside, "no trial was killed inside submit: the harness missed that window"


def test_resubmit_after_kill_resumes_jobs_that_are_alive(tmp_path: Path) -> None:
    """`CINESTITCH_RESUBMIT=1 doit` after a kill resumes both jobs still running at the
    provider (the plan said so) and submits neither again."""
    root = write_project(tmp_path / "p", manifest(delay=2, chain=False))
    build = Running(root, "-n", "2", log=tmp_path / "killed.log")
    assert wait_for(lambda: len(journaled_jobs(cache_of(root))) >= 2, 60), build.kill().output
    build.kill()
    keys = planned_keys(root)
    plan = doit(root, "plan")
    rows = {line.split()[0]: line for line in plan.output.splitlines() if line.strip()}
    for sid in INDEPENDENT:
        assert "resume job" in rows[sid], plan.describe()
    again = doit(root, env=clean_env(CINESTITCH_RESUBMIT="1"))
    assert again.returncode == 0, again.describe()
    assert again.output.count("resuming job") == 2, again.describe()
    counts = bill(root)
    assert {sid: counts[keys[sid]] for sid in INDEPENDENT} == {"s1": 1, "s3": 1}, again.output
    assert not overpaid(counts), again.output
    assert not tracebacks(plan) and not tracebacks(again), again.output


def test_resubmit_pays_again_only_for_the_lost_job(tmp_path: Path) -> None:
    """With one job alive and one the provider lost, `CINESTITCH_RESUBMIT=1` resumes the
    live one and submits only the lost one again."""
    root = write_project(tmp_path / "p", manifest(delay=2, chain=False))
    cache = cache_of(root)
    build = Running(root, "-n", "2", log=tmp_path / "killed.log")
    assert wait_for(lambda: len(journaled_jobs(cache)) >= 2, 60), build.kill().output
    build.kill()
    keys = planned_keys(root)
    by_segment = {str(d["segment"]): str(d["job_id"]) for d in journal_entries(cache).values() if d}
    lost, alive = by_segment["s3"], by_segment["s1"]
    stop_worker(root, lost)
    shutil.rmtree(provider_dir(root) / "jobs" / lost)
    again = doit(root, env=clean_env(CINESTITCH_RESUBMIT="1"))
    assert again.returncode == 0, again.describe()
    counts = bill(root)
    assert counts[keys["s1"]] == 1, f"the live job {alive} was paid again:\n{again.output}"
    assert counts[keys["s3"]] == 2, again.output
    assert f"resuming job {alive}" in again.output, again.output
    assert f"job {lost} cannot be resumed" in again.output, again.output
    assert not tracebacks(again), again.output
