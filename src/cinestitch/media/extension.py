"""What a native extension's clip repeats of the clip it continues.

Veo's extension (Gemini API, Vertex AI, fal) and Wan 2.7's video continuation return one
video: the clip they were given, then the new footage ("a single merged clip", +7 s a call
for Veo). Stitched as it comes, the extended segment would play its upstream segment a
second time, so the conform step drops that head. A provider that returned only the new
footage would start where the upstream ends, not where it starts: the head is dropped only
when the extension is longer than the upstream clip and opens on the upstream's first
picture rather than its last.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from cinestitch.media.frames import psnr, read_frames_rgb
from cinestitch.media.probe import probe_clip

COMPARED = (64, 36)
"""Pictures are compared this small: a re-encode or a rescale does not move them much."""
SAME_PICTURE_DB = 28.0
"""PSNR above which two small pictures are taken as the same shot (a re-encode of one
picture measures 35-50 dB; the first and last pictures of a moving shot, 12-20 dB)."""


def repeated_head(extension: Path, continued: Path) -> float:
    """Seconds at the start of ``extension`` that replay ``continued`` (its whole length),
    or 0 when the extension holds only new footage."""
    whole, upstream = probe_clip(extension), probe_clip(continued)
    if whole.duration <= upstream.duration + 1 / float(whole.fps):
        return 0.0
    (opening,) = read_frames_rgb(extension, [0])
    first, last = read_frames_rgb(continued, [0, -1])
    shown = _small(opening)
    as_first, as_last = psnr(shown, _small(first)), psnr(shown, _small(last))
    if as_first >= SAME_PICTURE_DB and as_first > as_last:
        return upstream.duration
    return 0.0


def _small(picture: np.ndarray) -> np.ndarray:
    return np.asarray(
        Image.fromarray(picture).convert("L").resize(COMPARED, Image.Resampling.BILINEAR)
    )
