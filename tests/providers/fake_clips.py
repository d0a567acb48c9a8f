"""Real MP4 bytes in the formats providers return: their own frame rates, sizes and sound
(none, mono 44.1 kHz, stereo 48 kHz), made with PyAV and cached per format and length.

Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

AAC_FRAME = 1024


@dataclass(frozen=True)
class ClipFormat:
    """What a provider's clips look like."""

    fps: int = 12
    width: int = 64
    height: int = 36
    rate: int | None = 48_000
    """Sample rate of the sound; ``None``: no audio track."""
    channels: int = 2


def clip_bytes(seconds: float, fmt: ClipFormat = ClipFormat()) -> bytes:
    """A real H.264 (+AAC) MP4 of ``seconds`` in ``fmt`` (made once per process)."""
    return _clip_bytes(round(seconds, 4), fmt)


@functools.cache
def _clip_bytes(seconds: float, fmt: ClipFormat) -> bytes:
    with tempfile.TemporaryDirectory(prefix="fake-clips-") as folder:
        path = Path(folder) / "clip.mp4"
        _write(path, seconds, fmt)
        return path.read_bytes()


def _write(path: Path, seconds: float, fmt: ClipFormat) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fmt.fps)
        video.width, video.height, video.pix_fmt = fmt.width, fmt.height, "yuv420p"
        sound = None
        if fmt.rate is not None:
            layout = "mono" if fmt.channels == 1 else "stereo"
            sound = out.add_stream("aac", rate=fmt.rate, layout=layout)
        for k in range(max(1, round(seconds * fmt.fps))):
            image = np.full((fmt.height, fmt.width, 3), (k * 9) % 255, dtype=np.uint8)
            image[:, : fmt.width // 8] = (220, 30, 30)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = k, Fraction(1, fmt.fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None and fmt.rate is not None:
            _write_tone(out, sound, fmt.rate, fmt.channels, seconds)


def _write_tone(
    out: av.container.OutputContainer, stream: av.AudioStream, rate: int, channels: int,
    seconds: float,
) -> None:  # fmt: skip
    t = np.arange(round(seconds * rate)) / rate
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    samples = np.tile(wave, (channels, 1))
    layout = "mono" if channels == 1 else "stereo"
    for at in range(0, samples.shape[1], AAC_FRAME):
        chunk = np.ascontiguousarray(samples[:, at : at + AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))
