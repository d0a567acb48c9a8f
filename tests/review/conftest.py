"""The review tests' project, built once per test run (see ``review_support``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_doit
from tests.review.review_support import make_review_project


@pytest.fixture(scope="session")
def built_review(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The project after one clean build, and what the build printed (read-only: copy it
    with ``copy_built`` to change it)."""
    root = make_review_project(tmp_path_factory.mktemp("review") / "review")
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, result.stdout + result.stderr


@pytest.fixture
def copy_built(built_review: tuple[Path, str], tmp_path: Path) -> Path:
    """A private copy of the built project (its cache and doit state included)."""
    root = tmp_path / "review"
    shutil.copytree(built_review[0], root, symlinks=True)
    return root
