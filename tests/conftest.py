"""Shared fixtures: write small projects to tmp_path and run doit on them for real."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROJECT_DODO = (REPO / "projects" / "goal-compilation" / "dodo.py").read_text()

ProjectFactory = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Write ``cinestitch.yaml`` (dedented), templates under prompts/, and a dodo.py."""

    def make(manifest: str, templates: dict[str, str] | None = None, name: str = "proj") -> Path:
        root = tmp_path / name
        (root / "prompts").mkdir(parents=True, exist_ok=True)
        (root / "cinestitch.yaml").write_text(textwrap.dedent(manifest).lstrip())
        for file, text in (templates or {}).items():
            path = root / "prompts" / file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip())
        (root / "dodo.py").write_text(PROJECT_DODO)
        return root

    return make


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without the user's CINESTITCH_ settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CINESTITCH_")}
    return {**env, **extra}


def run_doit(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run doit in ``project`` as a user would, in a fresh process."""
    env = env if env is not None else clean_env()
    return subprocess.run(
        [sys.executable, "-m", "doit", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinestitch.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def submitted_prompts(project: Path) -> list[str]:
    """The prompts (first 80 characters) of every job the embedded provider received."""
    import json

    journal = project / ".cinestitch" / "animatic" / "submits.jsonl"
    lines = journal.read_text().splitlines() if journal.exists() else []
    return [json.loads(line)["prompt"] for line in lines]


def provider_calls(project: Path) -> int:
    """Paid calls the embedded provider received (one journal line per submit)."""
    return len(submitted_prompts(project))
