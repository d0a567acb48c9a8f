"""Single pictures in and out of videos: the last frame as the next shot's reference, frames
by index for checks, reference images fitted to a size, and PSNR to compare them.

The last frame is the reference the next generation starts from, so it is written as a PNG
whose bytes depend only on the pixels (Pillow adds no time or metadata), which keeps
downstream cache keys stable across re-extractions.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections import deque
from contextlib import closing
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from cinestitch.atomic import atomic_path
from cinestitch.errors import MediaError
from cinestitch.media.container import decoded_video, open_input, video_stream
from cinestitch.media.yuv import SWS_EXACT

Rgb = npt.NDArray[np.uint8]
"""An (h, w, 3) uint8 RGB picture."""
SEEK_MARGIN = 2
"""Extra frames to seek before the ones we need, against off-by-one timestamps."""


def extract_last_frame(video: Path, dest: Path, sharpest_of: int = 1) -> None:
    """Write the last frame of ``video`` (or the sharpest of the last ``sharpest_of``) as PNG."""
    if sharpest_of < 1:
        raise ValueError(f"sharpest_of must be at least 1, not {sharpest_of}")
    candidates = last_frames(video, sharpest_of)
    best = candidates[pick_sharpest([sharpness(frame) for frame in candidates])]
    image = Image.fromarray(to_rgb(best))
    with atomic_path(dest) as tmp:
        image.save(tmp, format="PNG")


def last_frames(video: Path, count: int) -> list[av.VideoFrame]:
    """The last ``count`` frames in display order, seeking near the end when possible.

    ``seek`` lands on the keyframe at or before the target, so short GOPs decode a few frames
    and a single-keyframe clip decodes everything; if the seek went wrong (too few frames
    came out) it decodes from the start instead.
    """
    with open_input(video) as container:
        stream = video_stream(container, video)
        total, rate, base = stream.frames, stream.average_rate, stream.time_base
        if total > count + SEEK_MARGIN and rate and base:
            seconds = Fraction(total - count - SEEK_MARGIN) / Fraction(rate)
            tail: deque[av.VideoFrame] = deque(maxlen=count)
            with contextlib.suppress(av.FFmpegError):
                container.seek(int(seconds / base) + (stream.start_time or 0), stream=stream)
                tail.extend(container.decode(stream))
            if len(tail) == count:
                return list(tail)
    with closing(decoded_video(video)) as frames:
        tail = deque(frames, maxlen=count)
    if not tail:
        raise MediaError(f"{video}: not a readable video — no frame decodes")
    return list(tail)


def read_frames_rgb(video: Path, indices: list[int]) -> list[Rgb]:
    """Decoded frames by display index (negative counts from the end), as RGB arrays."""
    wanted = {i for i in indices if i >= 0}
    keep_last = max((-i for i in indices if i < 0), default=0)
    found: dict[int, Rgb] = {}
    tail: deque[av.VideoFrame] = deque(maxlen=keep_last)
    count = 0
    with closing(decoded_video(video)) as frames:
        for frame in frames:
            if count in wanted:
                found[count] = to_rgb(frame)
            if keep_last:
                tail.append(frame)
            count += 1
            if not keep_last and count > max(wanted, default=-1):
                break
    for back, frame in enumerate(reversed(tail), start=1):
        found.setdefault(count - back, to_rgb(frame))
    resolved = [i if i >= 0 else count + i for i in indices]
    missing = [i for i, r in zip(indices, resolved, strict=True) if r not in found]
    if missing:
        raise MediaError(f"{video}: no frame {missing[0]} — the video has {count} frames")
    return [found[r] for r in resolved]


def load_image_rgb(path: Path, width: int, height: int) -> Rgb:
    """An image file as width x height RGB: scaled to cover the size, then centre-cropped."""
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise MediaError(f"{path}: not a readable image — {exc}") from exc
    fitted = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    return np.asarray(fitted, dtype=np.uint8).copy()


def pixel_digest(path: Path) -> str:
    """SHA-256 of an image's decoded pixels (mode, size and samples), not of its file bytes:
    a reference re-saved with other compression or metadata keeps its digest."""
    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (OSError, UnidentifiedImageError) as exc:
        raise MediaError(f"{path}: not a readable image — {exc}") from exc
    digest = hashlib.sha256(f"{image.mode} {image.width}x{image.height}\n".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def psnr(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    """Peak signal-to-noise ratio of two same-shaped 8-bit pictures in dB (99 if identical)."""
    if a.shape != b.shape:
        raise ValueError(f"cannot compare pictures of shapes {a.shape} and {b.shape}")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else min(99.0, 10 * math.log10(255.0**2 / mse))


def pick_sharpest(scores: list[float]) -> int:
    """Index of the highest score; ties go to the later frame (closer to the next shot)."""
    return max(range(len(scores)), key=lambda i: (scores[i], i))


def sharpness(frame: av.VideoFrame) -> float:
    """Variance of the Laplacian of the luma plane: higher means more fine detail (less blur)."""
    if frame.format.name in ("yuv420p", "yuvj420p"):
        luma = frame.to_ndarray()[: frame.height]
    else:
        luma = frame.to_ndarray(format="gray")
    y = luma.astype(np.float64)
    if min(y.shape) < 3:
        return 0.0
    lap = y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:] - 4 * y[1:-1, 1:-1]
    return float(lap.var())


def to_rgb(frame: av.VideoFrame) -> Rgb:
    return np.asarray(frame.to_ndarray(format="rgb24", interpolation=SWS_EXACT), dtype=np.uint8)
