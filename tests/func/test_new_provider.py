"""`cinestitch new --provider NAME`: a scaffold for that provider that validates and plans
with no key, names the key variable, and keeps .env out of git."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinestitch.manifest import load_project
from tests.conftest import run_cli


@pytest.mark.parametrize("name", ["animatic", "veo", "openai"])
def test_new_writes_a_project_for_the_provider(tmp_path: Path, name: str) -> None:
    """The scaffold names the provider, loads without a key, and git ignores .env."""
    target = tmp_path / "film"
    done = run_cli("new", str(target), "--provider", name)
    assert done.returncode == 0, done.stderr
    project = load_project(target)
    assert project.provider.name == name
    assert ".env" in (target / ".gitignore").read_text().split()
    text = (target / "cinestitch.yaml").read_text()
    if name == "veo":
        assert "GEMINI_API_KEY" in text and "GEMINI_API_KEY" in done.stdout
        assert {s.seconds for s in project.segments} == {6.0}
    if name == "openai":
        assert "OPENAI_API_KEY" in text and "2026-09-24" in text


def test_new_refuses_an_unknown_provider(tmp_path: Path) -> None:
    """An unknown --provider is a usage error listing the known ones."""
    done = run_cli("new", str(tmp_path / "film"), "--provider", "sora")
    assert done.returncode == 2 and "animatic" in done.stderr and "veo" in done.stderr
    assert not (tmp_path / "film").exists()
