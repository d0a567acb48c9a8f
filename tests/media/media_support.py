"""Helpers for media tests: synthetic clips, pictures, audio analysis, MP4 box order.

Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from cinestitch.media import Mp4Writer

Rgb = npt.NDArray[np.uint8]
Pattern = str | Callable[[int], Rgb]
ClipFactory = Callable[..., Path]
"""The ``make_clip`` fixture: ``make_clip(path, **write_clip keywords) -> path``."""
RATE = 48_000
BAR_STEP = 3


def picture(i: int, width: int, height: int, color: tuple[int, int, int], pattern: Pattern) -> Rgb:
    """Frame ``i`` of a synthetic clip: a solid colour, or the colour with a white bar that
    moves ``BAR_STEP`` pixels a frame (so frames can be told apart), or a callable's output."""
    if callable(pattern):
        return pattern(i)
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = color
    if pattern == "bars":
        x = (BAR_STEP * i) % (width - 4)
        image[:, x : x + 4] = 235
    return image


def tone(hz: float, samples: int, rate: int = RATE, amplitude: float = 0.3) -> np.ndarray:
    """A stereo sine of ``samples`` samples."""
    t = np.arange(samples) / rate
    wave = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([wave, wave])


def write_clip(
    path: Path,
    *,
    seconds: float,
    fps: int,
    width: int,
    height: int,
    color: tuple[int, int, int] = (200, 40, 40),
    pattern: Pattern = "bars",
    tone_hz: float | None = 440.0,
    audio: np.ndarray | None = None,
    keyint: int | None = None,
) -> Path:
    """A real H.264/AAC MP4 made with Mp4Writer: the pictures, and a sine tone as long as the
    video, or the given (2, n) ``audio``, or no audio track when both are None; ``keyint``
    sets the keyframe interval (Mp4Writer's default, 2 s, otherwise)."""
    frames = round(seconds * fps)
    if audio is None and tone_hz is not None:
        audio = tone(tone_hz, frames * RATE // fps)
    with Mp4Writer(path, width, height, fps, audio=audio is not None, keyint=keyint) as writer:
        for i in range(frames):
            writer.write_frame(picture(i, width, height, color, pattern))
        if audio is not None:
            writer.write_audio(audio.astype(np.float32))
    return path


def dominant_hz(samples: np.ndarray, rate: int = RATE) -> float:
    """The strongest frequency in a (2, n) or (n,) stretch of audio."""
    mono = samples.mean(axis=0) if samples.ndim == 2 else samples
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order, read from its bytes."""
    data, boxes, at = path.read_bytes(), [], 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[at + 8 : at + 16], "big")
        elif size == 0:
            size = len(data) - at
        boxes.append(kind)
        at += size
    return boxes
