"""What a killed writer leaves (temporary names with its pid) is swept, what a live one is
writing is not, and a build after a killed one sweeps while one after a clean one does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cinestitch.atomic import atomic_path, sweep_stale


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_only_dead_writers_leftovers_go(tmp_path: Path) -> None:
    """A dead writer's temporary file, download and staging directory go; a live writer's
    temporary file and every ordinary file stay."""
    gone = dead_pid()
    mine = os.getpid()
    key = "a" * 64
    files = {
        f".s1.{gone}.abcd1234.tmp.mp4": False,
        f".lock.{gone}.9f.link.yaml": False,
        f"{key}.{gone}.1a2b3c4d.mp4": False,
        f".s1.{mine}.abcd1234.tmp.mp4": True,
        "s1.mp4": True,
        ".hidden": True,
    }
    for name in files:
        (tmp_path / name).write_text("x")
    (tmp_path / f".staging-{gone}-anim-0123").mkdir()
    assert sweep_stale([tmp_path]) == 4
    assert {p.name for p in tmp_path.iterdir()} == {n for n, kept in files.items() if kept}


def test_a_temporary_name_carries_the_pid(tmp_path: Path) -> None:
    """atomic_path's temporary file is named with this process's pid (so a sweep can tell)."""
    with atomic_path(tmp_path / "out.txt") as tmp:
        assert f".{os.getpid()}." in tmp.name
        tmp.write_text("done")
    assert (tmp_path / "out.txt").read_text() == "done"
