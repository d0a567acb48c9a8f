"""A project that mixes three providers segment by segment (the animatic, fal and Runway, the
last two on fake servers) builds with doit and stitches to the output's size and frame rate
with sound, each clip paid once; a rebuild calls no provider."""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import pytest

from tests.conftest import REPO, clean_env, run_doit

sys.path.insert(0, str(REPO / "tests" / "providers"))
from fake_fal import FakeFal
from fake_http import KEY
from fake_runway import FakeRunway
from fake_veo import StorageServer

MANIFEST = """
    schema_version: 1
    title: Mixed
    output: {{size: 128x72, fps: 24}}
    provider: {{name: animatic}}
    defaults: {{seconds: 2}}
    segments:
      - id: sketch
        reference: none
        prompt: "A red kite lifts off the dunes."
      - id: wan
        prompt: "The kite climbs into the wind."
        provider: {{name: fal, model: fal-ai/wan/v2.7/image-to-video, base_url: "{fal}",
                    poll_interval: 0.05}}
        transition: {{type: crossfade, seconds: 0.5}}
      - id: gen
        prompt: "The kite dives toward the sea."
        provider: {{name: runway, model: gen4.5, base_url: "{runway}", poll_interval: 0.05}}
"""


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[FakeFal, FakeRunway]]:
    clips = tmp_path / "clips"
    clips.mkdir()
    with (
        StorageServer(clips) as cdn,
        FakeFal(clips, cdn) as fal,
        StorageServer(clips) as storage,
        FakeRunway(clips, storage) as runway,
    ):
        yield fal, runway


def project(tmp_path: Path, fal: FakeFal, runway: FakeRunway) -> Path:
    root = tmp_path / "mixed"
    root.mkdir()
    text = textwrap.dedent(MANIFEST).format(fal=fal.url, runway=runway.url).lstrip()
    (root / "cinestitch.yaml").write_text(text)
    shutil.copy(REPO / "projects" / "goal-compilation" / "dodo.py", root / "dodo.py")
    return root


def decoded(path: Path) -> tuple[int, int, Fraction, float, int, float]:
    """(width, height, frame rate, video seconds, audio rate, audio seconds) as PyAV decodes."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video))
        rate = video.average_rate or Fraction(0)
        size = (video.codec_context.width, video.codec_context.height)
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(audio))
        sample_rate = audio.codec_context.sample_rate
    return (*size, rate, frames / float(rate), sample_rate, samples / sample_rate)


def test_three_providers_stitch_to_the_outputs_format(
    servers: tuple[FakeFal, FakeRunway], tmp_path: Path
) -> None:
    """fal's 30 fps mono clip and Runway's silent one are conformed; the video is 128x72 at
    24 fps with stereo 48 kHz sound as long as its picture; a rebuild makes no call."""
    fal, runway = servers
    root = project(tmp_path, fal, runway)
    env = clean_env(FAL_KEY=KEY, RUNWAYML_API_SECRET=KEY)
    built = run_doit(root, env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (fal.submissions, runway.submissions) == (1, 1)
    width, height, rate, seconds, audio_rate, audio_seconds = decoded(root / "build" / "mixed.mp4")
    assert (width, height, rate) == (128, 72, 24)
    assert seconds == pytest.approx(2 + 2 + 2 - 0.5, abs=0.1)
    assert audio_rate == 48_000 and audio_seconds == pytest.approx(seconds, abs=0.05)
    again = run_doit(root, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (fal.submissions, runway.submissions) == (1, 1)
    assert fal.requests_to("create") == 1 and runway.requests_to("create") == 1
    for path in root.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
