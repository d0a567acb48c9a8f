"""The example project's keyframe variant (``projects/goal-compilation-keyframes``): a clean
build with the animatic reproduces its committed lock, every shot ends on its keyframe; and
switched by its provider block to each fake of a provider that takes an end frame, every
shot is sent with its end keyframe, once."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cinestitch.manifest import load_project
from cinestitch.media import probe_clip, psnr, read_frames_rgb
from tests.conftest import REPO, clean_env, run_doit

sys.path.insert(0, str(REPO / "tests" / "providers"))
from adapter_support import Case, open_case
from fake_http import KEY

EXAMPLE = REPO / "projects" / "goal-compilation-keyframes"
END_FIELDS = {"veo": b'"lastFrame"', "fal:wan": b'"end_image_url"', "fal:kling": b'"end_image_url"',
              "fal:ltx": b'"end_image_url"'}  # fmt: skip
"""What each provider's request calls the frame a clip ends on."""


def fresh_copy(tmp_path: Path) -> Path:
    root = tmp_path / "example"
    ignore = shutil.ignore_patterns("build", ".cinestitch", ".doit*")
    shutil.copytree(EXAMPLE, root, ignore=ignore)
    return root


@pytest.mark.slow
def test_the_keyframe_example_builds_as_committed(tmp_path: Path) -> None:
    """With doit -n 4 the stills come first, each shot starts and ends on its two stills,
    the video has the planned length, and the lock is reproduced as committed."""
    root = fresh_copy(tmp_path)
    result = run_doit(root, "-n", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    project = load_project(root)
    for segment in project.segments:
        first, last = read_frames_rgb(root / "build" / "segments" / f"{segment.id}.mp4", [0, -1])
        start, end = (root / "build" / "keyframes" / f"{k}.png" for k in segment.between)
        assert psnr(first, np.asarray(Image.open(start).convert("RGB"))) > 33, segment.id
        assert psnr(last, np.asarray(Image.open(end).convert("RGB"))) > 33, segment.id
    info = probe_clip(root / project.output.path)
    assert abs(info.duration - (5 * 8 - 1.5)) <= 1 / 24
    assert (root / "cinestitch.lock").read_text() == (EXAMPLE / "cinestitch.lock").read_text()


@pytest.fixture(params=[pytest.param(c, marks=pytest.mark.slow) for c in END_FIELDS])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    with open_case(request.param, tmp_path / "server") as opened:
        yield opened


def test_the_keyframe_example_with_a_provider_that_ends_on_a_frame(
    case: Case, tmp_path: Path
) -> None:
    """The clips' provider block pointed at the fake (the stills stay the animatic's): each
    shot is paid once, sent with its end keyframe, and a rebuild calls nothing."""
    root = fresh_copy(tmp_path)
    manifest = root / "cinestitch.yaml"
    block = (
        f"provider:\n  name: {case.provider_name}\n  model: {case.request.model}\n"
        f"  base_url: {case.transport.base_url}\n  poll_interval: 0.05\n"
    )
    text = re.sub(r"provider:\n  name: animatic[^\n]*\n", block, manifest.read_text(), count=1)
    manifest.write_text(text)
    env = clean_env(GEMINI_API_KEY=KEY, FAL_KEY=KEY)
    built = run_doit(root, "-n", "3", env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert case.submissions == 5
    creates = [s.body for s in case.server.seen if s.method == "POST" and b"prompt" in s.body]
    assert len(creates) == 5 and all(END_FIELDS[case.name] in body for body in creates)
    again = run_doit(root, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert case.submissions == 5
