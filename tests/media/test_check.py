"""check_video: a download is a whole video of about the asked length, or a MediaError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cinestitch.errors import MediaError
from cinestitch.media.check import check_video
from cinestitch.media.writer import Mp4Writer


def _clip(path: Path, seconds: float, fps: int = 12) -> Path:
    with Mp4Writer(path, 64, 36, fps, audio=False) as writer:
        for i in range(round(seconds * fps)):
            writer.write_frame(np.full((36, 64, 3), i % 255, dtype=np.uint8))
    return path


def test_a_whole_clip_passes_with_its_duration(tmp_path: Path) -> None:
    """A complete H.264 clip of the asked length passes and reports its length."""
    assert check_video(_clip(tmp_path / "a.mp4", 2.0), 2.0) == pytest.approx(2.0)


def test_a_clip_of_another_length_fails(tmp_path: Path) -> None:
    """A clip far from the asked length is refused, naming both lengths."""
    with pytest.raises(MediaError, match=r"lasts 2\.00 s, not about 8 s"):
        check_video(_clip(tmp_path / "a.mp4", 2.0), 8.0)


def test_a_truncated_or_foreign_file_fails(tmp_path: Path) -> None:
    """Half a clip or an HTML page is not a video."""
    whole = _clip(tmp_path / "a.mp4", 2.0).read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(whole[: len(whole) // 2])
    page = tmp_path / "page.mp4"
    page.write_bytes(b"<html>busy</html>")
    for path in (half, page):
        with pytest.raises(MediaError):
            check_video(path, 2.0)
