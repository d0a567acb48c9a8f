"""A full disk — under the project, or under its cache — at several fill levels: the build
fails in one line per step saying the disk is full, and once space is freed a rebuild pays
for nothing twice and leaves nothing corrupt."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from reliability_support import (
    JOB_ID,
    Done,
    Scale,
    billed,
    cache_of,
    corruption,
    doit,
    failures,
    false_refusals,
    fill,
    free_bytes,
    job_failed,
    lock_keys,
    manifest,
    overpaid,
    settle,
    tmpfs,
    tracebacks,
    write_project,
)

from tests.conftest import clean_env

pytestmark = pytest.mark.reliability

DISK = 4 << 20
"""The tmpfs size: the filler takes what a level does not leave free."""
FULL = re.compile(r"(?i)no space left|disk is full|disk quota")
WRONG = ("damaged", "cannot be read", "cannot decode")
"""Diagnoses that blame a file the build could not write rather than the full disk."""
FULL_FILE = re.compile(r"(\S*/\S+): the disk is full")
NOT_BILLED = re.compile(r"^\s+(\S+)\s+\S+: .*\[not billed\]$")


def place(layout: str, disk: Path, elsewhere: Path, n: int) -> tuple[Path, Path, dict[str, str]]:
    """A fresh project for level ``n``: (project, cache, environment), with the project or
    its cache on ``disk``."""
    if layout == "project":
        root = write_project(disk / f"p{n}", manifest(image=True))
        return root, cache_of(root), clean_env()
    root = write_project(elsewhere / f"p{n}", manifest(image=True))
    cache = disk / f"cache{n}"
    return root, cache, clean_env(CINESTITCH_CACHE=str(cache))


def footprint(layout: str, disk: Path, built: Path) -> int:
    """Bytes a whole build takes on ``disk`` in this layout (a copy of one, measured)."""
    free = free_bytes(disk)
    source = built if layout == "project" else cache_of(built)
    copy = disk / "measure"
    shutil.copytree(source, copy, symlinks=True)
    used = free - free_bytes(disk)
    shutil.rmtree(copy)
    return used


def rebuild(root: Path, env: dict[str, str]) -> tuple[Done, Done]:
    """Build after space was freed; once more when the only failures were jobs the full disk
    made fail at the provider (they are not paid for: the next build submits them anew)."""
    first = doit(root, env=env)
    failed = failures(first)
    lost = [JOB_ID.search(line) for line in failed]
    if first.returncode == 0 or not failed or not all(lost):
        return first, first
    if not all(job_failed(root, m.group(0)) for m in lost if m is not None):
        return first, first
    return first, doit(root, env=env)


def level_problems(
    full: Done, again: Done, root: Path, cache: Path, paid: set[str], disk: Path
) -> list[str]:
    """What went wrong in the build on the full ``disk`` (``full``) and the rebuild after
    space was freed (``again``); ``paid`` are the keys of jobs accepted before the rebuild."""
    problems = []
    for name in sorted(set(FULL_FILE.findall(full.output))):
        path = Path(name) if Path(name).is_absolute() else root / name
        if not path.resolve().is_relative_to(disk.resolve()):
            problems.append(f"blames the full disk on {name}, which is not on it")
    for done, when in ((full, "on the full disk"), (again, "after freeing space")):
        problems += [f"traceback {when}: {t}" for t in tracebacks(done)]
    problems += [f"false refusal: {line}" for line in false_refusals([full, again], [root])]
    if full.returncode != 0 and not FULL.search(full.output):
        problems.append(f"the failure does not say the disk is full — {full.describe()}")
    problems += [
        f"not about the full disk: {line}" for line in failures(full) if not FULL.search(line)
    ]
    problems += [
        f"wrong diagnosis: {line.strip()}"
        for line in full.output.splitlines()
        if any(word in line for word in WRONG)
    ]
    if again.returncode != 0:
        problems.append(f"the rebuild failed — {again.describe()}")
        return problems
    keys = lock_keys(root)
    for line in full.output.splitlines():
        said = NOT_BILLED.match(line)
        if said and keys.get(said.group(1)) in paid:
            problems.append(f"says 'not billed' of a job the provider accepted: {line.strip()}")
    counts = billed(root)
    if overpaid(counts):
        problems.append(f"paid twice: {overpaid(counts)}")
    unpaid = sorted(sid for sid, key in keys.items() if counts[key] != 1)
    if unpaid:
        problems.append(f"segments not paid exactly once: {unpaid}")
    return problems + corruption(root, cache)


@pytest.mark.parametrize("layout", ["project", "cache"])
def test_full_disk_fails_in_one_line_and_never_pays_twice(
    built: Path, tmp_path: Path, scale: Scale, layout: str
) -> None:
    """At each fill level the build says the disk is full in one line per failed step (no
    traceback, no other diagnosis); after freeing space a rebuild succeeds with every request
    paid once and nothing corrupt."""
    disk = tmp_path / "disk"
    with tmpfs(disk, DISK):
        used = footprint(layout, disk, built)
        found: list[str] = []
        for n in range(scale.disk_sizes):
            leave = used * n // scale.disk_sizes
            root, cache, env = place(layout, disk, tmp_path, n)
            filler = fill(disk, leave)
            full = doit(root, env=env)
            settle(root)
            paid = set(billed(root))
            filler.unlink()
            first, again = rebuild(root, env)
            problems = level_problems(full, again, root, cache, paid, disk)
            problems += [f"traceback after freeing space: {t}" for t in tracebacks(first)]
            found += [f"{leave} of {used} bytes free: {p}" for p in problems]
            settle(root)
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)
        assert not found, "\n".join(found)
