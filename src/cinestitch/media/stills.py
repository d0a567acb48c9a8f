"""Pictures at chosen frames of a video, found by seeking, and small JPEG thumbnails of them.

The review steps (seam scores, the storyboard) need a few frames of each clip: the first and
last kept ones, the middle one. Decoding a 12 s clip from its start for its last frame costs
the whole clip; seeking to the keyframe before each wanted frame costs one GOP (2 s in the
clips cinestitch writes). Where a seek does not land where it should (odd timestamps), the
frames are decoded from the start instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from cinestitch.atomic import atomic_path
from cinestitch.errors import MediaError
from cinestitch.media.container import open_input, video_stream
from cinestitch.media.frames import Rgb, read_frames_rgb, to_rgb

SEEK_MARGIN = 2
"""Frames to seek before the wanted one, against off-by-one timestamps."""
THUMB_WIDTH = 320
JPEG_QUALITY = 82


def frames_at(video: Path, indices: Sequence[int]) -> list[Rgb]:
    """Decoded frames by display index (negative counts from the end), as RGB arrays."""
    with open_input(video) as container:
        stream = video_stream(container, video)
        total, rate, base = stream.frames or 0, stream.average_rate, stream.time_base
        if total and rate and base:
            resolved = [i if i >= 0 else total + i for i in indices]
            found = _seek_each(container, stream, sorted(set(resolved)), Fraction(rate))
            if found is not None and all(i in found for i in resolved):
                return [found[i] for i in resolved]
    return read_frames_rgb(video, list(indices))


def _seek_each(
    container: Any, stream: Any, wanted: list[int], rate: Fraction
) -> dict[int, Rgb] | None:
    """Each wanted frame by a seek to the keyframe before it; ``None`` if one is missed."""
    base, start = Fraction(stream.time_base), stream.start_time or 0
    found: dict[int, Rgb] = {}
    for target in wanted:
        if target < 0:
            return None
        seconds = Fraction(max(0, target - SEEK_MARGIN)) / rate
        try:
            container.seek(int(seconds / base) + start, stream=stream)
            for frame in container.decode(stream):
                if frame.pts is None:
                    return None
                index = round((frame.pts - start) * base * rate)
                if index == target:
                    found[target] = to_rgb(frame)
                    break
                if index > target:
                    return None
        except av.FFmpegError:
            return None
        if target not in found:
            return None
    return found


def write_thumbnail(picture: Rgb, dest: Path, width: int = THUMB_WIDTH) -> None:
    """A JPEG of ``picture`` at most ``width`` pixels wide (never enlarged)."""
    image = Image.fromarray(picture)
    if image.width > width:
        height = max(2, round(image.height * width / image.width))
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    with atomic_path(dest) as tmp:
        image.save(tmp, format="JPEG", quality=JPEG_QUALITY)


def image_thumbnail(source: Path, dest: Path, width: int = THUMB_WIDTH) -> None:
    """A JPEG thumbnail of an image file (a reference frame or a project image)."""
    try:
        with Image.open(source) as opened:
            image = opened.convert("RGB")
    except OSError as exc:
        raise MediaError(f"{source}: not a readable image — {exc}") from exc
    write_thumbnail(np.asarray(image, dtype=np.uint8), dest, width)
