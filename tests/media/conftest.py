"""Fixtures for media tests; the helpers themselves live in ``media_support``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from media_support import ClipFactory, write_clip


@pytest.fixture
def make_clip() -> ClipFactory:
    """``make_clip(path, *, seconds, fps, width, height, color, pattern, tone_hz)`` writes a
    tiny real MP4 (a coloured picture with a moving bar, and a sine tone unless None)."""

    def make(path: Path, **kwargs: Any) -> Path:
        return write_clip(path, **kwargs)

    return make
