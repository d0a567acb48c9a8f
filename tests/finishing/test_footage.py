"""Footage you already have: a ``clip:`` segment is conformed and stitched like any other,
never submitted and free, shown as footage in the plan, and its last frame starts the next
generated segment; a missing or non-video clip is a one-line load error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from finishing_support import write_clip

from cinestitch.media import probe_clip, psnr, read_frames_rgb
from cinestitch.media.frames import load_image_rgb
from tests.conftest import PROJECT_DODO, provider_calls, run_cli, run_doit, submitted_prompts

MANIFEST = """\
schema_version: 1
title: Footage
output: {size: 64x36, fps: 12}
defaults: {seconds: 1}
segments:
  - id: intro
    clip: assets/intro.mp4
    trim: {head: 0.25}
  - id: after
    prompt: "The fox runs on from the title card."
  - id: fresh
    reference: none
    prompt: "A wide shot of the stadium."
"""


def write_intro(root: Path, color: tuple[int, int, int]) -> Path:
    """A 1 s title card at another size and rate (96x54, 24 fps) and without sound."""
    return write_clip(
        root / "assets" / "intro.mp4", seconds=1, fps=24, width=96, height=54, color=color,
        tone_hz=None,
    )  # fmt: skip


def generated(stdout: str) -> list[str]:
    return [line.split("generate:")[1].strip() for line in stdout.splitlines()
            if line.startswith(".  generate:")]  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of a project that opens on an existing clip."""
    root = tmp_path_factory.mktemp("footage") / "proj"
    root.mkdir()
    (root / "cinestitch.yaml").write_text(MANIFEST)
    (root / "dodo.py").write_text(PROJECT_DODO)
    write_intro(root, (30, 60, 200))
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_clip_is_stitched_and_never_generated(built: Path) -> None:
    """The provider receives the two generated segments only, and the video holds the
    trimmed clip (0.75 s) before them."""
    assert provider_calls(built) == 2
    assert not any("title card" not in p and "stadium" not in p for p in submitted_prompts(built))
    assert not (built / "build" / "segments" / "intro.mp4").exists()
    info = probe_clip(built / "build" / "proj.mp4")
    assert info.duration == pytest.approx(0.75 + 1 + 1, abs=1 / 12)
    assert probe_clip(built / "build" / "conformed" / "intro.mp4").width == 64


def test_next_segment_starts_from_the_clips_last_frame(built: Path) -> None:
    """``reference: previous`` after a clip starts from its last frame as the output shows
    it (fitted to 64x36)."""
    frame = load_image_rgb(built / "build" / "frames" / "intro.last.png", 64, 36)
    (last,) = read_frames_rgb(built / "build" / "conformed" / "intro.mp4", [-1])
    (first,) = read_frames_rgb(built / "build" / "segments" / "after.mp4", [0])
    assert psnr(frame, last) > 35
    assert psnr(frame, first) > 30


def test_plan_shows_footage_at_no_cost(built: Path) -> None:
    """``doit plan`` lists the clip as footage, with no cost, and nothing to generate."""
    result = run_doit(built, "plan")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("intro"))
    assert "footage" in row and "assets/intro.mp4" in row and "$" not in row
    assert "0 to generate" in result.stdout


@pytest.mark.slow
def test_replacing_the_clip_regenerates_what_starts_from_it(built: Path, tmp_path: Path) -> None:
    """A rebuild of the unchanged project generates nothing; after the clip file changes,
    only the segment that starts from its last frame is generated again."""
    root = tmp_path / "proj"
    shutil.copytree(built, root)
    unchanged = run_doit(root)
    assert unchanged.returncode == 0 and generated(unchanged.stdout) == []
    write_intro(root, (200, 60, 30))
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert generated(result.stdout) == ["after"]


@pytest.mark.parametrize(
    ("clip", "message"),
    [
        ("assets/nope.mp4", "'assets/nope.mp4' does not exist in the project"),
        ("assets/notes.mp4", "'assets/notes.mp4' is not a video (Invalid data found when "
         "processing input) — use a video file (mp4, mov, mkv, webm)"),
        ("assets/theme.wav", "'assets/theme.wav' is not a video (it has no video stream) — use "
         "a video file (mp4, mov, mkv, webm)"),
        ("../outside.mp4", "'../outside.mp4' is outside the project — keep clips inside it"),
    ],
)  # fmt: skip
def test_bad_clip_is_one_line_at_load(tmp_path: Path, clip: str, message: str) -> None:
    """A clip that is missing, not a video or outside the project stops the load with one
    line naming the manifest's line and key."""
    from finishing_support import wav

    root = tmp_path / "proj"
    (root / "assets").mkdir(parents=True)
    (root / "assets" / "notes.mp4").write_text("not a video\n")
    wav(root / "assets" / "theme.wav", 220, 0.5)
    (root / "cinestitch.yaml").write_text(MANIFEST.replace("assets/intro.mp4", clip))
    result = run_cli("validate", str(root))
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == f"cinestitch.yaml:7 segments[0].clip: {message}"
