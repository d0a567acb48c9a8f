"""The next segment's reference frame, taken from a clip as the stitched video shows it.

A provider's 1080x1920 or 25 fps clip is fitted and resampled by ``conform`` before it is
stitched, so the frame the viewer last sees is a fitted picture, and at another frame rate
maybe not the clip's very last frame. The reference is that picture, before any encoding:
it does not change with the output's quality (CRF, preset), only with what is shown. A clip
already at the output's size and rate gives exactly ``extract_last_frame``'s picture, so
references (and the request keys made from them) stay what they were.
"""

from __future__ import annotations

from collections import deque
from contextlib import closing
from pathlib import Path

import av
from PIL import Image

from cinestitch.atomic import atomic_path
from cinestitch.media.conform import fit_frame, shown_frames
from cinestitch.media.fit import FitMode
from cinestitch.media.frames import extract_last_frame, pick_sharpest, sharpness, to_rgb
from cinestitch.media.probe import probe_clip


def extract_reference_frame(
    clip: Path,
    dest: Path,
    width: int,
    height: int,
    fps: int,
    *,
    fit: FitMode = "pad",
    sharpest_of: int = 1,
) -> None:
    """Write as PNG the last picture of ``clip`` as conformed to a ``width`` x ``height``,
    ``fps`` output (or the sharpest of the last ``sharpest_of`` distinct ones)."""
    info = probe_clip(clip)
    if (info.width, info.height) == (width, height) and info.fps == fps:
        extract_last_frame(clip, dest, sharpest_of=sharpest_of)
        return
    if sharpest_of < 1:
        raise ValueError(f"sharpest_of must be at least 1, not {sharpest_of}")
    tail: deque[av.VideoFrame] = deque(maxlen=sharpest_of)
    with closing(shown_frames(clip, info, fps)) as frames:
        for frame in frames:
            if not tail or frame is not tail[-1]:
                tail.append(frame)
    pictures = [
        av.VideoFrame.from_ndarray(fit_frame(frame, width, height, fit), format="yuv420p")
        for frame in tail
    ]
    best = pictures[pick_sharpest([sharpness(picture) for picture in pictures])]
    with atomic_path(dest) as tmp:
        Image.fromarray(to_rgb(best)).save(tmp, format="PNG")
