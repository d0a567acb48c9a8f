"""All of cinestitch's PyAV work: probe clips, pull frames, stitch the final video.

Nothing outside this package imports ``av``; what crosses the boundary are the plain values
in ``media.types`` and numpy arrays.

The public names below are resolved on first use (PEP 562), so importing the package, or
``media.types`` alone (as the manifest model does), loads neither PyAV, numpy nor Pillow:
loading a project, ``validate`` and a no-op build never pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cinestitch.media.types import (
    AudioBed,
    ClipInfo,
    ClipSpec,
    EncoderSettings,
    StitchPlan,
    Transition,
)

if TYPE_CHECKING:
    from cinestitch.media.audio import read_audio
    from cinestitch.media.frames import (
        extract_last_frame,
        load_image_rgb,
        pixel_digest,
        psnr,
        read_frames_rgb,
    )
    from cinestitch.media.probe import probe_clip
    from cinestitch.media.stitch import stitch_clips
    from cinestitch.media.timeline import Crossfade, Plain, Timeline, plan_timeline
    from cinestitch.media.writer import Mp4Writer

_LAZY = {
    "read_audio": "audio",
    "extract_last_frame": "frames",
    "load_image_rgb": "frames",
    "pixel_digest": "frames",
    "psnr": "frames",
    "read_frames_rgb": "frames",
    "probe_clip": "probe",
    "stitch_clips": "stitch",
    "Crossfade": "timeline",
    "Plain": "timeline",
    "Timeline": "timeline",
    "plan_timeline": "timeline",
    "Mp4Writer": "writer",
}
"""Public name -> the module (in this package) that defines it."""

__all__ = [
    "AudioBed",
    "ClipInfo",
    "ClipSpec",
    "Crossfade",
    "EncoderSettings",
    "Mp4Writer",
    "Plain",
    "StitchPlan",
    "Timeline",
    "Transition",
    "extract_last_frame",
    "load_image_rgb",
    "pixel_digest",
    "plan_timeline",
    "probe_clip",
    "psnr",
    "read_audio",
    "read_frames_rgb",
    "stitch_clips",
]


def __getattr__(name: str) -> Any:
    """Import the module behind a public name on first use, and remember the name."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
