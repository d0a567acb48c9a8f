"""Fixtures for provider tests; the helpers themselves live in ``animatic_support``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from animatic_support import generate, tiny

from cinestitch.providers.animatic import AnimaticProvider


@pytest.fixture
def provider(tmp_path: Path) -> AnimaticProvider:
    return AnimaticProvider(tmp_path / "animatic")


@pytest.fixture
def make_clip(provider: AnimaticProvider, tmp_path: Path) -> Callable[..., Path]:
    """Generate a tiny clip through the protocol (fields of the request may be changed)."""
    count = iter(range(1000))

    def make(**changes: Any) -> Path:
        return generate(provider, tiny(**changes), tmp_path / f"clip{next(count)}.mp4")

    return make
