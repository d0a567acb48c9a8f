"""Helpers for the finishing tests: tiny clips and sounds, decoded pictures and audio bands.

Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from tests.media.media_support import RATE, rms, tone, write_clip

__all__ = ["RATE", "band", "decoded_audio", "luma_frames", "rms", "tone", "wav", "write_clip"]
W, H, FPS = 64, 36, 12


def wav(path: Path, hz: float, seconds: float, amplitude: float = 0.5) -> Path:
    """A mono 16-bit WAV of a sine at ``hz``."""
    t = np.arange(round(RATE * seconds)) / RATE
    samples = (amplitude * np.sin(2 * np.pi * hz * t) * 32767).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes(samples.tobytes())
    return path


def luma_frames(path: Path) -> list[npt.NDArray[np.uint8]]:
    """Every decoded frame's Y' plane."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [f.to_ndarray(format="yuv420p")[: f.height] for f in container.decode(stream)]


def yuv_frames(path: Path) -> list[npt.NDArray[np.uint8]]:
    """Every decoded frame as its yuv420p planes (compared without colour conversion)."""
    with av.open(str(path)) as container:
        return [f.to_ndarray() for f in container.decode(container.streams.video[0])]


def decoded_audio(path: Path) -> npt.NDArray[np.float32]:
    """The file's sound as stereo float at 48 kHz, decoded with PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        parts = [
            out.to_ndarray()
            for frame in container.decode(stream)
            for out in resampler.resample(frame)
        ]
        parts += [out.to_ndarray() for out in resampler.resample(None)]
    return np.concatenate(parts, axis=1).astype(np.float32)


def band(samples: npt.NDArray[np.float32], hz: float, start: float, stop: float) -> float:
    """The amplitude of the ``hz`` component of ``samples`` over [start, stop) seconds
    (a lock-in: the projection onto a sine and a cosine at ``hz``)."""
    a, b = round(start * RATE), round(stop * RATE)
    mono = samples[:, a:b].mean(axis=0).astype(np.float64)
    t = np.arange(a, a + mono.shape[0]) / RATE
    i = 2 * np.mean(mono * np.sin(2 * np.pi * hz * t))
    q = 2 * np.mean(mono * np.cos(2 * np.pi * hz * t))
    return float(np.hypot(i, q))
