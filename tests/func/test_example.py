"""The example project at full size: 5 x 8 s at 1280x720, 24 fps (slow: about a minute)."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import pytest

from cinestitch.manifest import load_project
from cinestitch.media import probe_clip, psnr, read_frames_rgb
from tests.conftest import REPO, provider_calls, run_doit

EXAMPLE = REPO / "projects" / "goal-compilation"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean build of a copy of the example project."""
    root = tmp_path_factory.mktemp("example") / "goal-compilation"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("build", ".cinestitch", ".doit*"))
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_example_final_video(example: Path) -> None:
    """One H.264 and one AAC stream, 1280x720 at 24 fps, 5 x 8 s minus the crossfades."""
    project = load_project(example)
    out = example / project.output.path
    with av.open(str(out)) as container:
        media = [s for s in container.streams if s.type in ("audio", "video")]
        kinds = sorted((s.type, s.codec_context.name) for s in media)
        others = [s.type for s in container.streams if s not in media]
    assert kinds == [("audio", "aac"), ("video", "h264")]
    assert others == ["data"]  # the chapter track
    info = probe_clip(out)
    assert (info.width, info.height, info.fps) == (1280, 720, 24)
    overlaps = sum(
        s.transition.seconds for s in project.segments[:-1] if s.transition.kind == "crossfade"
    )
    expected = sum(s.seconds - s.head_trim - s.tail_trim for s in project.segments) - overlaps
    assert abs(info.duration - expected) <= 1 / 24


def test_example_chained_seams(example: Path) -> None:
    """Every chained segment starts on its reference's last frame (PSNR > 35 dB)."""
    project = load_project(example)
    clips = example / "build" / "segments"
    chained = [s for s in project.segments if s.reference.kind == "segment"]
    assert len(chained) >= 3
    for s in chained:
        (last,) = read_frames_rgb(clips / f"{s.reference.value}.mp4", [-1])
        (first,) = read_frames_rgb(clips / f"{s.id}.mp4", [0])
        assert psnr(last, first) > 35, s.id


def test_example_rebuild_does_nothing(example: Path) -> None:
    """A second doit makes no provider call and leaves the video alone."""
    out = example / load_project(example).output.path
    before, calls = out.stat().st_mtime_ns, provider_calls(example)
    result = run_doit(example)
    assert result.returncode == 0, result.stderr
    assert provider_calls(example) == calls
    assert out.stat().st_mtime_ns == before


def test_example_lock_is_reproduced(example: Path) -> None:
    """A clean build of the example makes exactly the clips its committed lock records, so
    the lock stays as committed."""
    assert (example / "cinestitch.lock").read_text() == (EXAMPLE / "cinestitch.lock").read_text()
