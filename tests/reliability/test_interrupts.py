"""Ctrl-C, a read-only build directory and doit's state deleted mid-build: one line each,
never a traceback, never a wrong diagnosis, and the next build pays for nothing twice."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from reliability_support import (
    Running,
    bill,
    cache_of,
    copy_of,
    corruption,
    doit,
    failures,
    journaled_jobs,
    lock_keys,
    manifest,
    overpaid,
    read_only,
    retag,
    settle,
    tracebacks,
    wait_for,
    write_project,
)

pytestmark = pytest.mark.reliability


def paid_once(root: Path) -> list[str]:
    """Segments of the lock not paid exactly once, and keys paid twice."""
    counts = bill(root)
    wrong = [
        f"{sid} paid {counts[key]} times"
        for sid, key in lock_keys(root).items()
        if counts[key] != 1
    ]
    return wrong + [f"paid twice: {overpaid(counts)}"] * bool(overpaid(counts))


@pytest.mark.parametrize("parallel", [False, True], ids=["doit", "doit -n 2"])
def test_ctrl_c_prints_one_line_and_the_next_build_resumes(tmp_path: Path, parallel: bool) -> None:
    """Ctrl-C while a job is in flight: one line saying the job is still running at the
    provider and the next build resumes it, no traceback; the next build pays nothing twice."""
    root = write_project(tmp_path / "p", manifest(delay=1, chain=False))
    args = ("-n", "2") if parallel else ()
    build = Running(root, *args, log=tmp_path / "build.log")
    assert wait_for(lambda: journaled_jobs(cache_of(root)), 60), build.kill().output
    build.signal(signal.SIGINT)  # a terminal sends it to the whole foreground group
    done = build.finish(timeout=30)
    assert done.returncode != 0, done.describe()
    said = [line for line in done.output.splitlines() if line.startswith("interrupted")]
    assert len(said) == 1, done.describe()
    assert said[0].startswith("interrupted — ") and "still running at the provider" in said[0]
    assert not tracebacks(done), done.output
    again = doit(root)
    assert again.returncode == 0, again.describe()
    assert "resuming job" in again.output, again.output
    assert not paid_once(root), again.output
    assert not tracebacks(again), again.output


def test_read_only_build_dir_gives_one_line_errors(built: Path, tmp_path: Path) -> None:
    """Every prompt changed and build/ read-only (for root too): each failed step says in
    one line that the file system is read-only, with no traceback; once it is writable the
    rebuild pays for nothing twice."""
    root = copy_of(built, tmp_path)
    retag(root, "read-only")
    with read_only(root / "build"):
        done = doit(root)
        settle(root)
    assert done.returncode != 0, done.describe()
    assert failures(done), done.describe()
    for line in failures(done):
        assert "read-only" in line, done.describe()
    assert not tracebacks(done), done.output
    assert "damaged" not in done.output, done.output
    again = doit(root)
    assert again.returncode == 0, again.describe()
    assert not [p for p in paid_once(root) if "paid twice" in p], again.output
    assert not tracebacks(again) and not corruption(root), again.output


def test_read_only_segments_dir_is_not_a_damaged_cache(built: Path, tmp_path: Path) -> None:
    """A clip to restore from the cache into a read-only build/segments: the step says the
    file system is read-only — not that the cache is damaged — and nothing is submitted."""
    root = copy_of(built, tmp_path)
    (root / "build" / "segments" / "s1.mp4").unlink()
    before = bill(root)
    with read_only(root / "build" / "segments"):
        done = doit(root)
    assert done.returncode != 0, done.describe()
    (failed,) = [line for line in failures(done) if line.startswith("generate")]
    assert "read-only" in failed, done.describe()
    assert "damaged" not in done.output, done.describe()
    assert bill(root) == before, done.output
    assert not tracebacks(done), done.output
    again = doit(root)
    assert again.returncode == 0 and bill(root) == before, again.describe()


def test_doit_state_deleted_during_a_build(tmp_path: Path) -> None:
    """`.doit.db` deleted while a build runs: the build ends without a traceback, and the
    next one rebuilds from the lock and the cache, paying for nothing again."""
    root = write_project(tmp_path / "p", manifest(delay=0.5, chain=False))
    build = Running(root, log=tmp_path / "build.log")
    assert wait_for(lambda: journaled_jobs(cache_of(root)), 60), build.kill().output
    databases = list(root.glob(".doit.db*"))
    assert databases, "doit keeps no .doit.db here"
    for db in databases:
        db.unlink()
    done = build.finish()
    assert not tracebacks(done), done.describe()
    again = doit(root)
    assert again.returncode == 0, again.describe()
    assert not tracebacks(again), again.output
    assert not paid_once(root), again.output
    assert not corruption(root), corruption(root)
