"""All of cinestitch's PyAV work: probe clips, pull frames, stitch the final video.

Nothing outside this package imports ``av``; what crosses the boundary are the plain values
in ``media.types`` and numpy arrays.
"""

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
from cinestitch.media.types import (
    AudioBed,
    ClipInfo,
    ClipSpec,
    EncoderSettings,
    StitchPlan,
    Transition,
)
from cinestitch.media.writer import Mp4Writer

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
