"""Conform: re-encode a generated clip once, when stitching could not copy it cheaply.

The smart render copies packets and re-encodes only from the keyframe before a transition.
A clip with one keyframe at its start (many generators write such long GOPs), or one of
another codec, size or frame rate, would make every restitch re-encode most of it. Such a
clip is re-encoded once, at the output's size, frame rate and quality with a keyframe every
``GOP_SECONDS`` (the writer's default, as the embedded provider uses), and the result is
cached; every later restitch copies it. Clips that already fit are used as they are.

Measured on 5 x 12 s at 720p (README, "Stitching speed"): four crossfades into clips with one
keyframe each re-encode 762 of 1392 frames; with 2 s keyframes, 193.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from cinestitch.media.source import scan_source
from cinestitch.media.stitch import stitch_clips
from cinestitch.media.types import ClipInfo, ClipSpec, EncoderSettings, StitchPlan

GOP_SECONDS = 2
"""The keyframe interval that conformed clips get, and the longest one left alone."""


def conform_reason(path: Path, width: int, height: int, fps: int) -> str | None:
    """Why ``path`` should be re-encoded before stitching (a few words), or ``None``."""
    source = scan_source(path, width, height, fps)
    if source.index is None:
        return source.why or "its packets cannot be copied"
    keys = [*source.index.clean_keyframes, len(source.index)]
    if keys[0] != 0:
        return "it does not start on a keyframe"
    longest = max(b - a for a, b in itertools.pairwise(keys))
    if longest > GOP_SECONDS * fps:
        return f"its keyframes are {longest / fps:.1f} s apart (long GOP)"
    return None


def conform_clip(
    source: Path, dest: Path, width: int, height: int, fps: int, encoder: EncoderSettings
) -> ClipInfo:
    """Re-encode ``source`` to ``dest`` (atomically) as the output's size, frame rate and
    quality, with keyframes every ``GOP_SECONDS``; its audio is kept."""
    plan = StitchPlan((ClipSpec(source),), width, height, fps, encoder=encoder)
    return stitch_clips(plan, dest)
