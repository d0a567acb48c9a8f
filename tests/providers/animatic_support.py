"""Provider test helpers: tiny requests, a bounded poll loop, decoding with PyAV.

Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from cinestitch.providers.base import GenerationRequest, JobHandle, JobStatus, Provider

POLL_EVERY = 0.05
DEADLINE = 60.0

TINY = GenerationRequest(
    provider="animatic",
    model="sketch",
    prompt="a red kite rises over the dunes at dawn",
    seconds=2.0,
    width=160,
    height=90,
    fps=12,
    seed=7,
)


def tiny(**changes: Any) -> GenerationRequest:
    """The tiny test request with some fields changed."""
    return replace(TINY, **changes)


def wait_final(provider: Provider, handle: JobHandle, deadline: float = DEADLINE) -> JobStatus:
    """Poll every 0.05 s until the job is final; fail the test after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        status = provider.poll(handle)
        if status.state.is_final:
            return status
        if time.monotonic() > end:
            pytest.fail(f"job {handle.job_id} not final after {deadline} s: {status}")
        time.sleep(POLL_EVERY)


def generate(provider: Provider, request: GenerationRequest, dest: Path) -> Path:
    """submit -> poll until final -> download, asserting success; returns ``dest``."""
    handle = provider.submit(request, "test-key")
    status = wait_final(provider, handle)
    assert status.state.value == "succeeded", status
    provider.download(handle, dest)
    return dest


@dataclass(frozen=True)
class Decoded:
    video_codec: str
    audio_codec: str
    width: int
    height: int
    fps: float
    frames: list[np.ndarray]
    sample_rate: int
    channels: int
    samples: int


def decode(path: Path) -> Decoded:
    """Every video frame (RGB) and the audio sample count of an MP4."""
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video)]
        container.seek(0)
        samples = sum(f.samples for f in container.decode(audio))
        return Decoded(
            video.codec_context.name,
            audio.codec_context.name,
            video.width,
            video.height,
            float(video.average_rate),
            frames,
            audio.rate,
            audio.channels,
            samples,
        )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def smooth_image(width: int, height: int) -> Image.Image:
    """A bright, smooth test picture (gradients and a soft disc): H.264 keeps it well."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 170 + 60 * x / width
    g = 160 + 70 * y / height
    disc = np.exp(-(((x - width * 0.3) ** 2 + (y - height * 0.4) ** 2) / (0.05 * width**2)))
    b = 190 + 50 * disc
    return Image.fromarray(np.stack([r, g, b], axis=2).clip(0, 255).astype(np.uint8))
