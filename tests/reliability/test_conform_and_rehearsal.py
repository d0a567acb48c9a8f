"""A repeated conform leaves nothing behind, and a rehearsal with the free animatic counts
``provider.price_per_second`` in the ledger, the lock and the budgets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from reliability_support import (
    PRICE,
    bill,
    copy_of,
    doit,
    ledger,
    lock_spent,
    manifest,
    retag,
    spent_line,
    stray_files,
    tracebacks,
    write_project,
)

from cinestitch.lock import load_lock
from tests.conftest import clean_env

pytestmark = pytest.mark.reliability

CONFORMS = ("conform:s1", "conform:s2", "conform:s3")


def test_repeated_conform_leaves_no_temporary_file(built: Path, tmp_path: Path) -> None:
    """Conforming again a clip already linked into build/conformed, and conforming a changed
    clip over an old one, leave no temporary link or copy behind."""
    root = copy_of(built, tmp_path)
    forgot = doit(root, "forget", *CONFORMS)
    assert forgot.returncode == 0, forgot.describe()
    again = doit(root)
    assert again.returncode == 0 and not tracebacks(again), again.describe()
    assert not stray_files(root / "build"), stray_files(root / "build")
    retag(root, "changed")
    changed = doit(root)
    assert changed.returncode == 0, changed.describe()
    assert not stray_files(root / "build"), stray_files(root / "build")
    for sid in ("s1", "s2", "s3"):
        clip, conformed = (
            root / "build" / "segments" / f"{sid}.mp4",
            root / "build" / "conformed" / f"{sid}.mp4",
        )
        assert os.path.samefile(clip, conformed)
        assert os.stat(conformed).st_nlink == 2, (
            f"{conformed} has {os.stat(conformed).st_nlink} names"
        )


def test_price_per_second_counts_in_a_rehearsal(tmp_path: Path) -> None:
    """With the animatic and `price_per_second: 0.5`, each one-second take costs $0.50 in
    the ledger and in the lock's per-segment spend, and the total budget sees it."""
    root = write_project(tmp_path / "p", manifest())
    first = doit(root, env=clean_env(CINESTITCH_BUILD_ID="first"))
    assert first.returncode == 0, first.describe()
    assert spent_line(first.output) == (1.5, 3, 0), first.output
    assert "project total $1.50" in first.output, first.output
    assert ledger(root, "first").cost == 3 * PRICE
    for sid in ("s1", "s2", "s3"):
        assert f"{sid:<22} animatic 1 s  $0.50" in first.output, first.output
    lock = load_lock(root / "cinestitch.lock")
    assert {sid: e.spent_usd for sid, e in lock.segments.items()} == {
        "s1": 0.5,
        "s2": 0.5,
        "s3": 0.5,
    }
    manifest_path = root / "cinestitch.yaml"
    manifest_path.write_text(manifest_path.read_text().replace("Shot three", "Shot three, again"))
    second = doit(root)
    assert spent_line(second.output) == (0.5, 1, 0), second.output
    assert load_lock(root / "cinestitch.lock").segments["s3"].spent_usd == 1.0
    assert lock_spent(root) == 2.0
    manifest_path.write_text(manifest_path.read_text() + "budget: {total: 2.25}\n")
    before = bill(root)
    retag(root, "over budget")
    stopped = doit(root)
    assert stopped.returncode != 0, stopped.describe()
    assert "budget" in stopped.output and "$2.25" in stopped.output, stopped.output
    assert bill(root) == before, stopped.output
    assert lock_spent(root) == 2.0
    for done in (first, second, stopped):
        assert not tracebacks(done), done.output
