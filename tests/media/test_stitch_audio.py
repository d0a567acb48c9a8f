"""stitch_clips, the sound: each clip's audio under its own video, ramps, silence, music bed."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from media_support import RATE, ClipFactory, dominant_hz, rms, tone

from cinestitch.errors import MediaError
from cinestitch.media import (
    AudioBed,
    ClipSpec,
    StitchPlan,
    Transition,
    probe_clip,
    read_audio,
    stitch_clips,
)
from cinestitch.media.audio import read_audio_range
from cinestitch.media.source import scan_source

FPS, W, H = 12, 64, 48
AAC_FRAME = 1024


def clip(make: ClipFactory, path: Path, hz: float | None, seconds: float = 1.0) -> Path:
    return make(path, seconds=seconds, fps=FPS, width=W, height=H, tone_hz=hz)


def stitch(dest: Path, *specs: ClipSpec, bed: AudioBed | None = None) -> np.ndarray:
    """Stitch and return the output's audio (checking its length against the video's)."""
    stitch_clips(StitchPlan(clips=specs, width=W, height=H, fps=FPS, audio_bed=bed), dest)
    audio = read_audio(dest, RATE)
    video_samples = probe_clip(dest).duration * RATE
    assert abs(audio.shape[1] - video_samples) <= AAC_FRAME
    return audio


def around(audio: np.ndarray, seconds: float, half: float = 0.2) -> np.ndarray:
    at = round(seconds * RATE)
    return audio[:, at - round(half * RATE) : at + round(half * RATE)]


def write_wav(path: Path, hz: float, seconds: float, rate: int = 44_100) -> Path:
    """A mono 16-bit WAV tone (another rate and layout than the output's)."""
    t = np.arange(round(seconds * rate)) / rate
    pcm = (0.5 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


def test_each_clip_keeps_its_own_tone(tmp_path: Path, make_clip: ClipFactory) -> None:
    """The middle of each clip's span carries that clip's tone."""
    paths = [clip(make_clip, tmp_path / f"c{i}.mp4", hz) for i, hz in enumerate((440, 660, 880))]
    audio = stitch(tmp_path / "out.mp4", *(ClipSpec(p) for p in paths))
    assert audio.shape[1] == 3 * RATE
    for k, hz in enumerate((440, 660, 880)):
        assert dominant_hz(around(audio, k + 0.5)) == pytest.approx(hz, abs=3)


def test_audio_starts_with_its_video(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A toned clip between two silent ones sounds exactly during its frames (±5 ms)."""
    quiet = clip(make_clip, tmp_path / "quiet.mp4", None)
    loud = clip(make_clip, tmp_path / "loud.mp4", 660)
    audio = stitch(tmp_path / "out.mp4", ClipSpec(quiet), ClipSpec(loud), ClipSpec(quiet))
    on = np.flatnonzero(np.abs(audio[0]) > 0.1)
    assert abs(on[0] - RATE) <= 240 and abs(on[-1] - 2 * RATE) <= 240


def test_head_trim_drops_the_trimmed_audio(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A clip whose first half is 330 Hz and second half 990 Hz, head-trimmed by 0.5 s, plays
    990 Hz from its first frame, right after the previous clip."""
    halves = np.concatenate([tone(330, RATE // 2), tone(990, RATE // 2)], axis=1)
    first = clip(make_clip, tmp_path / "first.mp4", 440)
    split = make_clip(tmp_path / "split.mp4", seconds=1, fps=FPS, width=W, height=H, audio=halves)
    audio = stitch(tmp_path / "out.mp4", ClipSpec(first), ClipSpec(split, head_trim=0.5))
    assert audio.shape[1] == int(1.5 * RATE)
    assert dominant_hz(audio[:, RATE + 1200 : RATE + 1200 + 4800]) == pytest.approx(990, abs=10)
    assert dominant_hz(around(audio, 0.5)) == pytest.approx(440, abs=3)


def test_crossfade_places_and_blends_audio(tmp_path: Path, make_clip: ClipFactory) -> None:
    """With a 0.5 s crossfade, b's tone starts at 0.5 s; the overlap holds both tones."""
    a = clip(make_clip, tmp_path / "a.mp4", 440)
    b = clip(make_clip, tmp_path / "b.mp4", 660)
    spec_a = ClipSpec(a, transition_out=Transition("crossfade", 0.5))
    audio = stitch(tmp_path / "out.mp4", spec_a, ClipSpec(b))
    assert audio.shape[1] == int(1.5 * RATE)
    assert dominant_hz(around(audio, 0.25, 0.2)) == pytest.approx(440, abs=3)
    assert dominant_hz(around(audio, 1.25, 0.2)) == pytest.approx(660, abs=3)
    middle = around(audio, 0.75, 0.05).mean(axis=0)
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    freqs = np.fft.rfftfreq(len(middle), 1 / RATE)
    power = {hz: spectrum[np.argmin(np.abs(freqs - hz))] for hz in (440, 660)}
    assert 0.5 < power[440] / power[660] < 2


def test_fade_dips_the_audio(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Around a fade's seam the sound dips to near silence, and is full again away from it."""
    a = clip(make_clip, tmp_path / "a.mp4", 440)
    b = clip(make_clip, tmp_path / "b.mp4", 660)
    audio = stitch(
        tmp_path / "out.mp4", ClipSpec(a, transition_out=Transition("fade", 0.5)), ClipSpec(b)
    )
    assert rms(around(audio, 1.0, 0.01)) < 0.02
    assert rms(around(audio, 0.5, 0.1)) > 0.18 and rms(around(audio, 1.6, 0.1)) > 0.18


def test_clip_without_audio_is_silent(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A clip with no audio track contributes silence for exactly its span."""
    paths = [clip(make_clip, tmp_path / f"c{i}.mp4", hz) for i, hz in enumerate((440, None, 880))]
    audio = stitch(tmp_path / "out.mp4", *(ClipSpec(p) for p in paths))
    assert rms(around(audio, 1.5, 0.45)) < 1e-3
    assert rms(around(audio, 0.5)) > 0.15 and rms(around(audio, 2.5)) > 0.15


def test_bed_is_heard_under_a_silent_clip(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A 44.1 kHz mono WAV bed at volume 0.5 sounds under a silent clip and mixes under tones."""
    bed = AudioBed(write_wav(tmp_path / "bed.wav", 300, 4.0), volume=0.5)
    paths = [clip(make_clip, tmp_path / f"c{i}.mp4", hz) for i, hz in enumerate((880, None))]
    audio = stitch(tmp_path / "out.mp4", *(ClipSpec(p) for p in paths), bed=bed)
    quiet = around(audio, 1.5)
    assert dominant_hz(quiet) == pytest.approx(300, abs=3)
    assert rms(quiet) == pytest.approx(0.5 * 0.5 / np.sqrt(2), rel=0.1)
    under = around(audio, 0.5).mean(axis=0)
    spectrum = np.abs(np.fft.rfft(under))
    freqs = np.fft.rfftfreq(len(under), 1 / RATE)
    assert spectrum[np.argmin(np.abs(freqs - 300))] > 0.2 * spectrum.max()


def test_bed_loops_or_stops(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A 1 s bed under 3 s of silent clips repeats when looped and goes quiet when not."""
    wav = write_wav(tmp_path / "bed.wav", 300, 1.0)
    paths = [clip(make_clip, tmp_path / f"c{i}.mp4", None) for i in range(3)]
    specs = [ClipSpec(p) for p in paths]
    looped = stitch(tmp_path / "looped.mp4", *specs, bed=AudioBed(wav, loop=True))
    once = stitch(tmp_path / "once.mp4", *specs, bed=AudioBed(wav, loop=False))
    assert dominant_hz(around(looped, 2.5)) == pytest.approx(300, abs=3)
    assert rms(around(looped, 2.5)) > 0.3
    assert rms(around(once, 0.5)) > 0.3 and rms(around(once, 2.5)) < 1e-3


def test_bed_fades_in_and_out(tmp_path: Path, make_clip: ClipFactory) -> None:
    """fade_in and fade_out ramp the bed from and to silence at the video's ends."""
    wav = write_wav(tmp_path / "bed.wav", 300, 3.0)
    paths = [clip(make_clip, tmp_path / f"c{i}.mp4", None) for i in range(2)]
    bed = AudioBed(wav, fade_in=0.5, fade_out=0.5)
    audio = stitch(tmp_path / "out.mp4", *(ClipSpec(p) for p in paths), bed=bed)
    start, end = audio[:, :2400], audio[:, 2 * RATE - 2400 : 2 * RATE]
    assert rms(start) < 0.05 and rms(end) < 0.05
    assert rms(around(audio, 1.0)) > 0.3
    assert rms(around(audio, 0.35, 0.05)) > rms(around(audio, 0.15, 0.05))


def test_missing_bed_fails_before_writing(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A bed that cannot be read raises MediaError naming it, and no output appears."""
    out = tmp_path / "out.mp4"
    plan = StitchPlan(
        clips=(ClipSpec(clip(make_clip, tmp_path / "a.mp4", 440)),),
        width=W,
        height=H,
        fps=FPS,
        audio_bed=AudioBed(tmp_path / "theme.ogg"),
    )
    with pytest.raises(MediaError, match=r"theme\.ogg: not a readable audio file — "):
        stitch_clips(plan, out)
    assert not out.exists()


def test_kept_edges_decode_as_the_file_does(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Samples read from the packets a scan kept at a clip's head and tail are the samples
    the file itself decodes to there; a range the kept packets miss is read from the file."""
    path = clip(make_clip, tmp_path / "c.mp4", 440, seconds=2.0)
    kept = scan_source(path, W, H, FPS, keep_audio=(0.3, 0.3)).audio
    assert kept is not None and len(kept.edges) == 2
    for first, count in [(0, 4000), (-500, 3000), (90_000, 6000), (40_000, 3000)]:
        got = read_audio_range(path, RATE, first, count, kept)
        want = read_audio_range(path, RATE, first, count)
        assert got.shape == want.shape == (2, count)
        assert np.abs(got - want).max() < 1e-3, (first, np.abs(got - want).max())
