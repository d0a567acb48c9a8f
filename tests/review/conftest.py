"""The review tests' project, built once per test run (see ``review_support``), and the
headless Chromium that opens its storyboard."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """``$CINESTITCH_CHROMIUM``, else a Chromium on the PATH (never one Playwright downloads)."""
    chosen = os.environ.get("CINESTITCH_CHROMIUM")
    if chosen:
        return chosen
    return next((p for name in CHROMIUM_NAMES if (p := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium, or a skip saying how to get one."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium here — `apt-get install -y chromium` (see README, Development)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed — `pip install -e '.[dev]'`")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


def open_page(browser: Any, root: Path, width: int, height: int) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: errors.append(r.url) if not r.url.startswith("file:") else None)
    page.goto((root / "build" / "storyboard.html").as_uri())
    page.wait_for_function("document.getElementById('video').readyState >= 1", timeout=10_000)
    page.errors = errors
    return page
