"""Speed changes in conform: the clip's duration changes by the rate over its range, its
pictures are the source's retimed, and its sound is stretched at the same pitch or muted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from finishing_support import FPS, RATE, H, W, band, decoded_audio, luma_frames, rms, write_clip

from cinestitch.media import EncoderSettings, probe_clip
from cinestitch.media.conform import conform_clip
from cinestitch.media.finish import Speed
from cinestitch.media.retime import atempo_chain

TONE = 440.0


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A 1 s clip with a bar moving 3 px a frame and a 440 Hz tone."""
    return write_clip(tmp_path / "src.mp4", seconds=1, fps=FPS, width=W, height=H, tone_hz=TONE)


def conformed(source: Path, speed: Speed) -> Path:
    dest = source.with_name(f"speed-{speed.rate:g}-{speed.audio}.mp4")
    conform_clip(source, dest, W, H, FPS, EncoderSettings(), speed=speed)
    return dest


def bar_position(frame: np.ndarray) -> float:
    return float(np.nonzero(frame.mean(axis=0) > 150)[0].mean())


@pytest.mark.parametrize(("rate", "seconds"), [(0.5, 2.0), (2.0, 0.5), (0.25, 4.0)])
def test_speed_changes_the_duration(source: Path, rate: float, seconds: float) -> None:
    """Half speed doubles the clip, double speed halves it, a quarter makes it four times as
    long; the sound lasts as long as the pictures and keeps its pitch."""
    out = conformed(source, Speed(rate))
    info = probe_clip(out)
    assert info.duration == pytest.approx(seconds)
    assert info.frame_count == round(seconds * FPS)
    sound = decoded_audio(out)
    assert sound.shape[1] >= round(seconds * RATE) - 2048
    assert band(sound, TONE, 0.1, seconds - 0.1) == pytest.approx(0.3, rel=0.15)


def test_slow_motion_repeats_frames(source: Path) -> None:
    """At half speed each source frame shows twice: the bar moves every other frame."""
    frames = luma_frames(conformed(source, Speed(0.5)))
    original = luma_frames(source)
    positions = [bar_position(f) for f in frames]
    assert positions[0::2] == pytest.approx([bar_position(f) for f in original], abs=1.0)
    assert positions[1::2] == pytest.approx(positions[0::2], abs=1.0)


def test_range_with_muted_sound(source: Path) -> None:
    """Half speed from 0.25 to 0.75 s adds 0.5 s; the sound is silent over the slowed part
    (0.25-1.25 s of the result) and the tone plays before and after it."""
    out = conformed(source, Speed(0.5, start=0.25, end=0.75, audio="mute"))
    assert probe_clip(out).duration == pytest.approx(1.5)
    sound = decoded_audio(out)
    assert rms(sound[:, round(0.35 * RATE) : round(1.15 * RATE)]) < 0.01
    assert band(sound, TONE, 0.02, 0.22) == pytest.approx(0.3, rel=0.2)
    assert band(sound, TONE, 1.3, 1.48) == pytest.approx(0.3, rel=0.2)
    frames = luma_frames(out)
    original = luma_frames(source)
    assert bar_position(frames[0]) == pytest.approx(bar_position(original[0]), abs=1.0)
    assert bar_position(frames[-1]) == pytest.approx(bar_position(original[-1]), abs=1.0)


def test_speed_maps_times_both_ways() -> None:
    """Clip seconds and retimed seconds map onto each other; trims are mapped to the
    retimed clip."""
    speed = Speed(0.5, start=2.0, end=4.0)
    assert speed.output_time(1.0, 6.0) == 1.0
    assert speed.output_time(3.0, 6.0) == 4.0
    assert speed.output_time(6.0, 6.0) == 8.0
    for t in (0.5, 2.5, 5.0, 7.5):
        assert speed.output_time(speed.source_time(t, 6.0), 6.0) == pytest.approx(t)
    assert speed.trims(1.0, 1.0, 6.0) == (1.0, 1.0)
    assert Speed(0.5).trims(1.0, 0.5, 6.0) == (2.0, 1.0)


def test_slow_rates_chain_atempo_filters() -> None:
    """One atempo filter takes 0.5-100, so a quarter speed is two halvings."""
    assert atempo_chain(0.25) == [0.5, 0.5]
    assert atempo_chain(0.5) == [0.5]
    assert atempo_chain(2.0) == [2.0]
