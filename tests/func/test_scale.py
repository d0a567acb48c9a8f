"""Scale: every segment is generated once however many there are, a rebuild runs nothing,
and a no-op build reads the lock a fixed number of times, not once per segment."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DODO, clean_env, run_doit

COUNT_LOCK_READS = """
import json, sys
import cinestitch.lock as lock
reads = [0]
parse = lock.parse_lock
def counted(*args, **kwargs):
    reads[0] += 1
    return parse(*args, **kwargs)
lock.parse_lock = counted
from doit.doit_cmd import DoitMain
code = DoitMain().run(sys.argv[1:])
print("LOCK-READS", json.dumps({"code": code, "reads": reads[0]}))
"""


def write_chains(root: Path, chains: int, length: int) -> Path:
    """``chains`` chains of ``length`` half-second segments at 32x18, every third joined by
    a crossfade."""
    lines = [
        "schema_version: 1",
        "title: Scale",
        "output: {size: 32x18, fps: 8}",
        "defaults: {seconds: 1, transition: {type: cut}}",
        "segments:",
    ]
    for c in range(chains):
        for n in range(length):
            ref = "none" if n == 0 else "previous"
            fade = ", transition: {type: crossfade, seconds: 0.25}" if n % 3 == 1 else ""
            lines.append(
                f'  - {{id: c{c}-{n}, reference: {ref}, prompt: "Chain {c} shot {n}."{fade}}}'
            )
    root.mkdir(parents=True)
    (root / "cinestitch.yaml").write_text("\n".join(lines) + "\n")
    (root / "dodo.py").write_text(PROJECT_DODO)
    return root


def submissions(root: Path) -> Counter[str]:
    path = root / ".cinestitch" / "animatic" / "submits.jsonl"
    return Counter(json.loads(line)["key"] for line in path.read_text().splitlines())


def lock_reads(root: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", COUNT_LOCK_READS],
        cwd=root, env=clean_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOCK-READS"))
    result = json.loads(line.split(" ", 1)[1])
    assert result["code"] == 0, done.stdout + done.stderr
    return int(result["reads"])


@pytest.mark.parametrize("chains", [1])
def test_no_op_reads_the_lock_a_fixed_number_of_times(tmp_path: Path, chains: int) -> None:
    """A no-op build of 12 segments reads the lock exactly as often as one of 3."""
    counts = []
    for length in (3, 12):
        root = write_chains(tmp_path / f"p{length}", chains, length)
        built = run_doit(root, "-n", "2")
        assert built.returncode == 0, built.stdout + built.stderr
        counts.append(lock_reads(root))
    assert counts[0] == counts[1] <= 3, counts


@pytest.mark.slow
def test_sixty_segments_generate_once_and_rebuild_nothing(tmp_path: Path) -> None:
    """Six chains of ten: each request is submitted exactly once, the video has every
    segment, and a second build runs no generate step at all."""
    root = write_chains(tmp_path / "sixty", 6, 10)
    first = run_doit(root, "-n", "2")
    assert first.returncode == 0, first.stdout + first.stderr
    paid = submissions(root)
    assert len(paid) == 60 and set(paid.values()) == {1}
    again = run_doit(root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "plan: nothing to generate" in again.stdout
    assert not [x for x in again.stdout.splitlines() if x.startswith(".  generate:")]
    assert submissions(root) == paid
