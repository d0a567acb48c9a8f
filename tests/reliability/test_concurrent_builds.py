"""Two builds at once — in one project directory, or in two projects sharing a cache — pay
for each request once in total, both succeed, and each counts only what it paid."""

from __future__ import annotations

from pathlib import Path

import pytest
from reliability_support import (
    PRICE,
    Done,
    Running,
    Scale,
    bill,
    corruption,
    ledger,
    lock_keys,
    lock_spent,
    manifest,
    overpaid,
    refusals,
    retag,
    settle,
    spent_line,
    tracebacks,
    write_project,
)

from tests.conftest import clean_env

pytestmark = pytest.mark.reliability

SECONDS = 1.0
"""Each trial segment's length: what one paid generation costs is PRICE * SECONDS."""


def at_once(builds: list[tuple[Path, str, dict[str, str]]], logs: Path) -> list[Done]:
    """Start every (project, build id, environment) build together and wait for all."""
    running = [
        Running(root, log=logs / f"{build_id}.log", env={**env, "CINESTITCH_BUILD_ID": build_id})
        for root, build_id, env in builds
    ]
    return [build.finish() for build in running]


def round_problems(
    done: list[Done], roots: list[Path], build_ids: list[str], new_keys: set[str]
) -> list[str]:
    """What went wrong in one round of simultaneous builds."""
    problems = []
    for result, build_id in zip(done, build_ids, strict=True):
        if result.returncode != 0:
            problems.append(f"build {build_id} failed — {result.describe()}")
        problems += [f"build {build_id}: traceback: {t}" for t in tracebacks(result)]
        problems += [f"build {build_id}: false refusal: {line}" for line in refusals(result)]
    counts = bill(*dict.fromkeys(roots))
    if overpaid(counts):
        problems.append(f"paid twice: {overpaid(counts)}")
    unpaid = sorted(key[:12] for key in new_keys if counts[key] != 1)
    if unpaid:
        problems.append(f"requests not paid exactly once: {unpaid}")
    ledgers = [ledger(root, build_id) for root, build_id in zip(roots, build_ids, strict=True)]
    paid = [name for entry in ledgers for name in entry.paid]
    if len(paid) != len(new_keys) or len(set(paid)) != len(paid):
        problems.append(f"the ledgers count {paid} as paid for {len(new_keys)} new requests")
    for result, entry, build_id in zip(done, ledgers, build_ids, strict=True):
        printed = spent_line(result.output)
        expected = (round(entry.cost, 2), len(entry.paid), len(entry.reused))
        if printed != expected:
            problems.append(f"build {build_id} printed {printed}, its ledger says {expected}")
        if abs(entry.cost - PRICE * SECONDS * len(entry.paid)) > 1e-9:
            problems.append(f"build {build_id} counts ${entry.cost} for {entry.paid}")
    return problems


def test_two_builds_in_one_project_pay_once(tmp_path: Path, scale: Scale) -> None:
    """Two `doit` at once in the same directory, round after round: one submission per
    request, both succeed, no false refusal, and the ledgers split the spend."""
    root = write_project(tmp_path / "p", manifest(delay=0.2))
    found: list[str] = []
    keys: set[str] = set()
    for n in range(scale.rounds):
        retag(root, f"round {n}")
        ids = [f"r{n}a", f"r{n}b"]
        done = at_once([(root, i, clean_env()) for i in ids], tmp_path)
        new_keys = set(lock_keys(root).values()) - keys
        keys |= new_keys
        found += [f"round {n}: {p}" for p in round_problems(done, [root, root], ids, new_keys)]
        total = lock_spent(root)
        if abs(total - PRICE * SECONDS * len(keys)) > 1e-9:
            found.append(f"round {n}: the lock's total is ${total} for {len(keys)} requests")
        found += [f"round {n}: {p}" for p in corruption(root)]
        if len(found) > 20:
            break
    settle(root)
    assert not found, "\n".join(found)


def test_two_projects_sharing_a_cache_pay_once(tmp_path: Path, scale: Scale) -> None:
    """Two projects making the same requests at once into one `CINESTITCH_CACHE`: each is
    paid once in total, the second build takes it from the cache, both succeed, and each
    project's lock counts only what its own builds paid."""
    shared = tmp_path / "shared-cache"
    env = clean_env(CINESTITCH_CACHE=str(shared))
    roots = [write_project(tmp_path / name / "film", manifest(delay=0.2)) for name in "ab"]
    found: list[str] = []
    keys: set[str] = set()
    paid_by = {root: 0.0 for root in roots}
    for n in range(scale.rounds):
        for root in roots:
            retag(root, f"round {n}")
        ids = [f"r{n}a", f"r{n}b"]
        done = at_once([(root, i, env) for root, i in zip(roots, ids, strict=True)], tmp_path)
        new_keys = set(lock_keys(roots[0]).values()) - keys
        keys |= new_keys
        found += [f"round {n}: {p}" for p in round_problems(done, roots, ids, new_keys)]
        for root, build_id in zip(roots, ids, strict=True):
            paid_by[root] += ledger(root, build_id).cost
            if abs(lock_spent(root) - paid_by[root]) > 1e-9:
                found.append(
                    f"round {n}: {root.parent.name}'s lock counts ${lock_spent(root)}, its "
                    f"builds paid ${paid_by[root]:.2f}"
                )
            found += [f"round {n}: {p}" for p in corruption(root, shared)]
        finals = {(root / "build" / "trial.mp4").read_bytes() for root in roots}
        if len(finals) != 1:
            found.append(f"round {n}: the two projects' videos differ")
        if len(found) > 20:
            break
    settle(*roots)
    assert not found, "\n".join(found)
