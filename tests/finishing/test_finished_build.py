"""A whole build with every finishing key (the embedded provider, 64x36, 1 s shots): the
video's pictures, sound and length, and the files beside it, decoded with PyAV."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from finishing_support import band, decoded_audio, luma_frames, wav, write_clip

from cinestitch.media import probe_clip, psnr
from cinestitch.media.colour import clip_stats
from tests.conftest import PROJECT_DODO, provider_calls, run_doit

FPS = 12
MANIFEST = """\
schema_version: 1
title: Finished
output: {size: 64x36, fps: 12}
defaults: {seconds: 1}
colour: {anchor: chain}
segments:
  - id: intro
    clip: assets/intro.mp4
    transition: {type: cut, sfx: {file: assets/whoosh.wav, offset: -0.1, volume: 0.8}}
  - id: run
    prompt: "The fox runs out of the title card."
    captions: [{text: "GO", start: 0.25, end: 0.75, position: top, style: {size: 0.3}}]
  - id: slow
    prompt: "The fox leaps in slow motion."
    speed: 0.5
    comments: [{text: "WOW", at: 0.5, seconds: 1}]
audio: {music: assets/theme.wav, volume: 0.5, duck: 12}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of the finished project."""
    root = tmp_path_factory.mktemp("finished") / "film"
    (root / "assets").mkdir(parents=True)
    (root / "cinestitch.yaml").write_text(MANIFEST)
    (root / "dodo.py").write_text(PROJECT_DODO)
    write_clip(
        root / "assets" / "intro.mp4", seconds=1, fps=24, width=96, height=54,
        color=(30, 60, 200), tone_hz=None,
    )  # fmt: skip
    wav(root / "assets" / "whoosh.wav", 2000, 0.2)
    wav(root / "assets" / "theme.wav", 220, 6, amplitude=0.3)
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_length_counts_the_slow_motion(built: Path) -> None:
    """1 s of clip, 1 s of shot and 1 s of shot at half speed make 4 s; two were paid."""
    assert probe_clip(built / "build" / "film.mp4").duration == pytest.approx(4.0)
    assert probe_clip(built / "build" / "conformed" / "slow.mp4").duration == pytest.approx(2.0)
    assert provider_calls(built) == 2


def test_caption_is_burned_into_its_frames_and_written_beside(built: Path) -> None:
    """The caption changes the top of output frames 15-20 (0.25-0.75 s into 'run', which
    starts at 1 s) and no other frame of 'run'; the SRT and WebVTT files carry it."""
    final = luma_frames(built / "build" / "film.mp4")
    shot = luma_frames(built / "build" / "conformed" / "run.mp4")
    top = slice(0, 18)
    for m, picture in enumerate(shot):
        out = final[12 + m]
        if 3 <= m < 9:
            assert int(out[top].max()) > 200
            assert np.abs(out[top].astype(int) - picture[top]).mean() > 10
        else:
            assert psnr(out, picture) > 35
    srt = (built / "build" / "film.srt").read_text()
    vtt = (built / "build" / "film.vtt").read_text()
    assert srt == "1\n00:00:01,250 --> 00:00:01,750\nGO\n"
    assert vtt == "WEBVTT\n\n00:00:01.250 --> 00:00:01.750\nGO\n"


def test_sound_effect_at_the_cut_and_music_ducked(built: Path) -> None:
    """The whoosh sounds at the cut (1 s, 0.1 s early) and nowhere else; the music plays at
    its volume under the silent clip and 12 dB lower under the shots' own sound."""
    sound = decoded_audio(built / "build" / "film.mp4")
    assert band(sound, 2000, 0.92, 1.08) > 0.3
    assert max(band(sound, 2000, a, a + 0.15) for a in (0.2, 0.6, 1.3, 2.0, 3.0)) < 0.02
    free, under = band(sound, 220, 0.1, 0.8), band(sound, 220, 1.3, 1.95)
    assert free == pytest.approx(0.15, rel=0.1)
    assert under / free == pytest.approx(10 ** (-12 / 20), rel=0.35)


def test_chained_shots_take_the_anchors_colour(built: Path) -> None:
    """Conforming matched each chained shot's mean colour to the chain's first segment (the
    title card): it is closer to it than the generated clip was."""
    conformed = built / "build" / "conformed"

    def mean(path: Path) -> np.ndarray:
        return np.array(clip_stats(path, 64, 36, FPS, "pad").mean)

    anchor = mean(conformed / "intro.mp4")
    generated = mean(built / "build" / "segments" / "run.mp4")
    assert np.abs(mean(conformed / "run.mp4") - anchor).max() < 2.5
    assert np.abs(generated - anchor).max() > 5


def test_adding_a_caption_only_restitches(built: Path, tmp_path: Path) -> None:
    """A caption added to the manifest regenerates and re-conforms nothing: the stitch runs
    again, reusing the seams it had, and the new caption is in both subtitle files."""
    root = tmp_path / "film"
    shutil.copytree(built, root)
    manifest = root / "cinestitch.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "    speed: 0.5\n",
            '    speed: 0.5\n    captions: [{text: "Slow", start: 1.0, end: 1.5}]\n',
        )
    )
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    ran = [line.split()[1] for line in result.stdout.splitlines() if line.startswith(".  ")]
    assert not any(name.startswith(("generate:", "conform:", "frame:")) for name in ran)
    assert "stitch" in ran
    assert re.search(r"\b1 seam reused\b", result.stdout)  # the one seam, said in the singular
    assert "Slow" in (root / "build" / "film.srt").read_text()
    assert "00:00:03.000 --> 00:00:03.500\nSlow" in (root / "build" / "film.vtt").read_text()
