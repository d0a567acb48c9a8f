"""Damaged state on disk — a journal entry, a cached clip, the lock — is said in one line
and never paid for silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_support import (
    BILLED,
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
    planned_keys,
    settle,
    tracebacks,
    wait_for,
    write_project,
)

from cinestitch.lock import load_lock

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize(
    "garbage",
    [b'{"key": "', b'{"key": "0123", "job_id": "anim-000000000000"}\n'],
    ids=["cut-short", "another-key"],
)
def test_damaged_journal_entry_stops_the_segment_and_is_kept(
    tmp_path: Path, garbage: bytes
) -> None:
    """An unreadable journal entry means a job may be in flight: that segment stops with a
    may-have-been-billed line naming the file, the file is kept, nothing is submitted for
    it, and the independent segment is built."""
    root = write_project(tmp_path / "p", manifest())
    keys = planned_keys(root)
    entry = cache_of(root) / "jobs" / f"{keys['s1']}.json"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(garbage)
    plan = doit(root, "plan")
    row = next(line for line in plan.output.splitlines() if line.startswith("s1 "))
    assert "generate" not in row, plan.describe()
    done = doit(root)
    assert done.returncode != 0, done.describe()
    stopped = [line for line in failures(done) if "'s1'" in line]
    assert len(stopped) == 1 and entry.name in stopped[0], done.describe()
    assert any(BILLED in line and entry.name in line for line in done.output.splitlines())
    assert entry.read_bytes() == garbage
    counts = bill(root)
    assert counts[keys["s1"]] == 0, done.output
    assert counts[keys["s3"]] == 1, done.output
    assert not tracebacks(plan) and not tracebacks(done), plan.output + done.output


def test_damaged_cached_clip_is_announced_with_its_cost_and_budgeted(
    built: Path, tmp_path: Path
) -> None:
    """A cached clip whose bytes no longer match: the plan says the entry is damaged and
    what regenerating costs, a build budget below that stops before paying, and the build
    says it regenerates it."""
    root = copy_of(built, tmp_path)
    s1 = load_lock(root / "cinestitch.lock").segments["s1"]
    obj = cache_of(root) / "objects" / s1.output[:2] / f"{s1.output}.mp4"
    data = obj.read_bytes()
    obj.write_bytes(data[:-64] + bytes(b ^ 0xFF for b in data[-64:]))
    (root / "build" / "segments" / "s1.mp4").unlink()
    plan = doit(root, "plan")
    row = next(line for line in plan.output.splitlines() if line.startswith("s1 "))
    assert "generate" in row and "cache entry damaged" in row and "$0.50" in row, plan.output
    manifest_path = root / "cinestitch.yaml"
    original = manifest_path.read_text()
    manifest_path.write_text(original + "budget: {build: 0.25}\n")
    stopped = doit(root)
    assert stopped.returncode != 0, stopped.describe()
    assert "over the build budget of $0.25" in stopped.output, stopped.output
    assert bill(root)[s1.key] == 1, stopped.output
    manifest_path.write_text(original)
    again = doit(root)
    assert again.returncode == 0, again.describe()
    said = f"cache entry for take 1 ({s1.output[:12]}) is damaged — regenerating ($0.50)"
    assert said in again.output, again.output
    assert bill(root)[s1.key] == 2, again.output
    assert not corruption(root), corruption(root)
    for done in (plan, stopped, again):
        assert not tracebacks(done), done.output


GARBLED = {
    "unclosed": "lock_version: 1\nsegments: {s1: [\n",
    "not-a-lock": "garbage: [1, 2]\n",
    "bad-entry": "lock_version: 1\nsegments:\n  s1: {take: 1}\n",
}


@pytest.mark.parametrize("text", GARBLED.values(), ids=GARBLED.keys())
def test_garbled_lock_is_one_line(built: Path, tmp_path: Path, text: str) -> None:
    """A garbled cinestitch.lock: `doit`, `doit plan` and `doit why` each say so in one line
    naming the lock, with no traceback and no provider call."""
    root = copy_of(built, tmp_path)
    (root / "cinestitch.lock").write_text(text)
    before = bill(root)
    for args in ((), ("plan",), ("why", "s1")):
        done = doit(root, *args)
        assert not tracebacks(done), done.describe()
        said = [line for line in done.output.splitlines() if "cinestitch.lock" in line]
        assert len(said) == 1 and "unreadable lock" in said[0], done.describe()
        assert done.returncode != 0, done.describe()
    assert bill(root) == before


def test_lock_garbled_during_a_build_is_one_line(tmp_path: Path) -> None:
    """The lock garbled while a build runs: the end-of-build ledger says so in one line with
    no traceback, and once the lock is removed a rebuild pays for nothing again."""
    root = write_project(tmp_path / "p", manifest(delay=0.5, chain=False))
    build = Running(root, log=tmp_path / "build.log")
    assert wait_for(lambda: journaled_jobs(cache_of(root)), 60), build.kill().output
    (root / "cinestitch.lock").write_text(GARBLED["unclosed"])
    done = build.finish()
    assert not tracebacks(done), done.describe()
    said = [line for line in done.output.splitlines() if "cinestitch.lock" in line]
    assert said and all("unreadable lock" in line for line in said), done.describe()
    (root / "cinestitch.lock").unlink()
    again = doit(root)
    assert again.returncode == 0, again.describe()
    counts = bill(root)
    assert not overpaid(counts), again.output
    assert set(counts) == set(lock_keys(root).values()), again.output
    assert not tracebacks(again), again.output
    settle(root)
