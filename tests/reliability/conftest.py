"""The reliability suite's size: a few trials by default (CI), many with ``--trials N``.

``python -m pytest tests/reliability --trials 110`` (or ``CINESTITCH_TRIALS=110``) runs the
long version: 110 SIGKILL trials, 55 rounds of each kind of concurrent build and a full disk
at 8 sizes; the default runs each check a few times.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from reliability_support import Scale, doit, manifest, write_project

DEFAULT_TRIALS = 3


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--trials",
        type=int,
        default=None,
        help=f"reliability trials per check (default {DEFAULT_TRIALS}, or $CINESTITCH_TRIALS)",
    )


@pytest.fixture(scope="session")
def scale(request: pytest.FixtureRequest) -> Scale:
    """The number of trials asked for on the command line or in the environment."""
    chosen = request.config.getoption("--trials") or int(
        os.environ.get("CINESTITCH_TRIALS") or DEFAULT_TRIALS
    )
    return Scale(max(1, chosen))


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished build of the trial project, never changed (tests disturb copies)."""
    root = write_project(tmp_path_factory.mktemp("built") / "p", manifest())
    done = doit(root)
    assert done.returncode == 0, done.describe()
    return root
