"""The parsed lock is remembered as JSON under the digest of the lock's bytes: the same
lock comes back without YAML, and any change to the lock (or a broken memo) parses again."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cinestitch.errors import ProjectError
from cinestitch.lock import (
    Lock,
    LockEntry,
    TakeRecord,
    load_lock,
    load_lock_remembered,
    render_lock,
)


def entry(n: int, takes: bool = False) -> LockEntry:
    return LockEntry(
        take=2 if takes else 1, key=f"k{n}", output=f"objects/k{n}.mp4", provider="animatic",
        model="sketch", job_id=None, cost_usd=0.25 * n, prompt=f"Shot {n}: café ✓\nline two",
        settings={"seconds": n, "size": "320x180", "nested": {"a": [1, 2.5, None, True]}},
        reference=None if n == 0 else f"px{n}", reference_source=f"clip{n}" if n else None,
        takes={1: TakeRecord(f"t{n}a", "a.mp4", 0.1), 2: TakeRecord(f"t{n}b", "b.mp4")}
        if takes else {},
        spent_usd=0.5 * n,
    )  # fmt: skip


def write(root: Path, lock: Lock) -> Path:
    path = root / "cinestitch.lock"
    path.write_text(render_lock(lock), encoding="utf-8")
    return path


@pytest.fixture
def lock() -> Lock:
    return Lock({f"s{n}": entry(n, takes=n == 2) for n in range(4)}, {"k1": entry(9)})


def test_a_remembered_lock_equals_the_parsed_one_and_skips_yaml(
    tmp_path: Path, lock: Lock, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, memo = write(tmp_path, lock), tmp_path / "state" / "lock.json"
    memo.parent.mkdir()
    first = load_lock_remembered(path, memo)
    assert first == load_lock(path) == lock
    assert memo.is_file()

    def no_yaml(*args: object, **kwargs: object) -> None:
        raise AssertionError("the lock was parsed again")

    monkeypatch.setattr(yaml, "load", no_yaml)
    assert load_lock_remembered(path, memo) == lock


def test_a_changed_lock_is_parsed_again(tmp_path: Path, lock: Lock) -> None:
    path, memo = write(tmp_path, lock), tmp_path / "lock.json"
    load_lock_remembered(path, memo)
    changed = Lock({**lock.segments, "s9": entry(9)}, lock.keyframes)
    write(tmp_path, changed)
    assert load_lock_remembered(path, memo) == changed


@pytest.mark.parametrize("memo_text", ["", "{", '{"key": 1}', '{"key": "x", "lock": []}', "[]"])
def test_a_broken_memo_is_only_a_miss(tmp_path: Path, lock: Lock, memo_text: str) -> None:
    path, memo = write(tmp_path, lock), tmp_path / "lock.json"
    memo.write_text(memo_text)
    assert load_lock_remembered(path, memo) == lock


def test_a_memo_of_another_lock_under_the_right_key_is_still_checked(
    tmp_path: Path, lock: Lock
) -> None:
    """A memo whose lock is not a version-1 lock reads as a miss, not as an empty lock."""
    path, memo = write(tmp_path, lock), tmp_path / "lock.json"
    load_lock_remembered(path, memo)
    text = memo.read_text().replace('"lock_version": 1', '"lock_version": 7')
    memo.write_text(text)
    assert load_lock_remembered(path, memo) == lock


def test_no_lock_and_damaged_locks(tmp_path: Path) -> None:
    memo = tmp_path / "lock.json"
    assert load_lock_remembered(tmp_path / "cinestitch.lock", memo) == Lock()
    damaged = tmp_path / "cinestitch.lock"
    damaged.write_text("segments: [\n")
    with pytest.raises(ProjectError, match="unreadable lock"):
        load_lock_remembered(damaged, memo)
    damaged.write_bytes(b"\xff\xfe lock")
    with pytest.raises(ProjectError, match="not UTF-8"):
        load_lock_remembered(damaged, memo)
    assert not memo.exists()


def test_an_unwritable_state_directory_costs_nothing(tmp_path: Path, lock: Lock) -> None:
    path = write(tmp_path, lock)
    assert load_lock_remembered(path, tmp_path / "missing" / "dir" / "lock.json") == lock
