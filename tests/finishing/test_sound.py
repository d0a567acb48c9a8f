"""Sound at the cuts: a transition's effect sounds at its seam, and the music ducks under the
segments' own sound — measured in the stitched file's decoded audio."""

from __future__ import annotations

from pathlib import Path

import pytest
from finishing_support import FPS, RATE, H, W, band, decoded_audio, rms, tone, wav, write_clip

from cinestitch.media import AudioBed, ClipSpec, StitchPlan, Transition, stitch_clips
from cinestitch.media.finish import Duck, SoundEffect
from cinestitch.media.remux import smart_stitch

BURST_HZ = 2000.0


def silent_clips(root: Path, n: int = 2) -> list[Path]:
    """``n`` 1 s clips without sound."""
    return [
        write_clip(root / f"c{i}.mp4", seconds=1, fps=FPS, width=W, height=H, tone_hz=None)
        for i in range(n)
    ]


def window_rms(samples: object, start: float, stop: float) -> float:
    return rms(samples[:, round(start * RATE) : round(stop * RATE)])  # type: ignore[index]


@pytest.mark.parametrize("smart", [True, False], ids=["smart", "reference"])
def test_effect_sounds_at_the_cut(tmp_path: Path, smart: bool) -> None:
    """A cut's effect starts at the seam plus its offset, at its volume, and nothing else
    sounds: in the smart render and in the reference render alike."""
    a, b = silent_clips(tmp_path)
    burst = wav(tmp_path / "whoosh.wav", BURST_HZ, 0.2, amplitude=0.5)
    sfx = SoundEffect(burst, offset=-0.1, volume=0.8)
    plan = StitchPlan(
        (ClipSpec(a, transition_out=Transition("cut", sfx=sfx)), ClipSpec(b)), W, H, FPS
    )
    dest = tmp_path / "out.mp4"
    if smart:
        smart_stitch(plan, dest, tmp_path / "seams")
    else:
        stitch_clips(plan, dest)
    sound = decoded_audio(dest)
    assert window_rms(sound, 0.93, 1.07) == pytest.approx(0.5 * 0.8 / 2**0.5, rel=0.12)
    assert band(sound, BURST_HZ, 0.92, 1.08) > 0.3
    assert window_rms(sound, 0.0, 0.85) < 0.005
    assert window_rms(sound, 1.15, 2.0) < 0.005


def test_effect_at_a_crossfade_sounds_at_its_middle(tmp_path: Path) -> None:
    """A crossfade's seam is the middle of its overlap: 1 s clips crossfaded over 0.5 s put
    it at 0.75 s of the output."""
    a, b = silent_clips(tmp_path)
    burst = wav(tmp_path / "hit.wav", BURST_HZ, 0.1)
    t = Transition("crossfade", 0.5, SoundEffect(burst))
    plan = StitchPlan((ClipSpec(a, transition_out=t), ClipSpec(b)), W, H, FPS)
    smart_stitch(plan, tmp_path / "out.mp4", tmp_path / "seams")
    sound = decoded_audio(tmp_path / "out.mp4")
    assert window_rms(sound, 0.76, 0.84) > 0.25
    assert window_rms(sound, 0.0, 0.7) < 0.005
    assert window_rms(sound, 0.9, 1.5) < 0.005


def test_music_ducks_under_the_segments_sound(tmp_path: Path) -> None:
    """Under a 12 dB duck the music is a quarter as loud where a segment has its own sound,
    and at full level where it has none; without ``duck`` it keeps its level."""
    quiet = write_clip(tmp_path / "quiet.mp4", seconds=1, fps=FPS, width=W, height=H, tone_hz=None)
    voiced = write_clip(
        tmp_path / "voiced.mp4", seconds=1, fps=FPS, width=W, height=H, audio=tone(880.0, RATE)
    )
    music = wav(tmp_path / "theme.wav", 220.0, 3.0, amplitude=0.3)
    bed = AudioBed(music, volume=1.0)
    levels = {}
    for name, duck in (("ducked", Duck(12.0, ramp=0.1)), ("level", None)):
        plan = StitchPlan((ClipSpec(quiet), ClipSpec(voiced)), W, H, FPS, bed, duck=duck)
        dest = tmp_path / f"{name}.mp4"
        smart_stitch(plan, dest, tmp_path / "seams")
        sound = decoded_audio(dest)
        levels[name] = (band(sound, 220.0, 0.2, 0.9), band(sound, 220.0, 1.3, 1.9))
    free, under = levels["ducked"]
    assert free == pytest.approx(0.3, rel=0.1)
    assert under / free == pytest.approx(10 ** (-12 / 20), rel=0.15)
    assert levels["level"][1] == pytest.approx(levels["level"][0], rel=0.1)
