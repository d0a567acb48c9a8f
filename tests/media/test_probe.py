"""probe_clip: what a video holds, read into ClipInfo; unreadable inputs name the path."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import pytest
from media_support import ClipFactory
from PIL import Image

from cinestitch.errors import MediaError
from cinestitch.media import probe_clip


def test_probe_reads_video_and_audio(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A 1.5 s 24 fps 96x54 clip with a tone probes with exact values."""
    clip = make_clip(tmp_path / "a.mp4", seconds=1.5, fps=24, width=96, height=54, tone_hz=440)
    info = probe_clip(clip)
    assert (info.path, info.width, info.height) == (clip, 96, 54)
    assert info.fps == Fraction(24) and isinstance(info.fps, Fraction)
    assert (info.frame_count, info.duration) == (36, 1.5)
    assert (info.video_codec, info.pixel_format) == ("h264", "yuv420p")
    assert (info.audio_codec, info.sample_rate, info.audio_channels) == ("aac", 48_000, 2)
    assert info.has_audio


def test_probe_clip_without_audio(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A clip with no audio track reports no audio codec, rate or channels."""
    clip = make_clip(tmp_path / "a.mp4", seconds=1, fps=12, width=64, height=48, tone_hz=None)
    info = probe_clip(clip)
    assert (info.audio_codec, info.sample_rate, info.audio_channels) == (None, None, None)
    assert not info.has_audio
    assert (info.frame_count, info.duration) == (12, 1.0)


def test_probe_counts_packets_when_the_stream_has_no_frame_count(
    tmp_path: Path, make_clip: ClipFactory
) -> None:
    """Matroska does not record a frame count, so the probe counts the video packets."""
    clip = make_clip(tmp_path / "a.mp4", seconds=1, fps=12, width=64, height=48, tone_hz=None)
    mkv = tmp_path / "a.mkv"
    with av.open(str(clip)) as src, av.open(str(mkv), "w") as dst:
        out = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                dst.mux(packet)
    with av.open(str(mkv)) as check:
        assert check.streams.video[0].frames == 0
    info = probe_clip(mkv)
    assert (info.frame_count, info.fps, info.duration) == (12, Fraction(12), 1.0)


def test_probe_rejects_a_text_file(tmp_path: Path) -> None:
    """A file that is not media raises MediaError naming the path."""
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with pytest.raises(MediaError, match=r"notes\.mp4: not a readable video — "):
        probe_clip(bad)


def test_probe_rejects_a_missing_file(tmp_path: Path) -> None:
    """A missing file raises MediaError naming the path."""
    with pytest.raises(MediaError, match=r"gone\.mp4: not a readable video"):
        probe_clip(tmp_path / "gone.mp4")


def test_probe_rejects_a_still_image(tmp_path: Path) -> None:
    """A PNG (which FFmpeg would open as a one-frame video) is not a video."""
    image = tmp_path / "still.png"
    Image.new("RGB", (16, 16)).save(image)
    with pytest.raises(MediaError, match=r"still\.png: not a readable video — a still image"):
        probe_clip(image)


def test_probe_rejects_audio_only(tmp_path: Path) -> None:
    """A WAV file has no video stream."""
    sound = tmp_path / "tone.wav"
    with wave.open(str(sound), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    with pytest.raises(MediaError, match=r"tone\.wav: not a readable video — .*no video"):
        probe_clip(sound)
