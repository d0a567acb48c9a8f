"""Veo 3.1 on the Gemini API: models, sizes, durations and options, as static data.

Sources: the protocol sheet (``video-apis.md`` §2): durations 4/6/8 s, 8 s forced at 1080p
and 4k, for reference images and for extension; Lite makes no last frame, no reference
images and no 4k; 16:9 or 9:16; 24 fps; audio always on; no seed on the Gemini API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cinestitch.providers.base import Capabilities
from cinestitch.providers.spec import Shot

NAME = "veo"
KEY_ENV = "GEMINI_API_KEY"
DEFAULT_MODEL = "veo-3.1-fast-generate-preview"
LITE = "veo-3.1-lite-generate-preview"
MODELS = ("veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", LITE)
DURATIONS = (4.0, 6.0, 8.0)
FORCED_SECONDS = 8.0
RESOLUTIONS = {
    "1280x720": ("720p", "16:9"),
    "720x1280": ("720p", "9:16"),
    "1920x1080": ("1080p", "16:9"),
    "1080x1920": ("1080p", "9:16"),
    "3840x2160": ("4k", "16:9"),
    "2160x3840": ("4k", "9:16"),
}
PERSON_GENERATION = ("allow_all", "allow_adult", "dont_allow")
OPTION_KEYS = ("negative_prompt", "person_generation", "enhance_prompt")


def sizes_of(model: str) -> tuple[str, ...]:
    return tuple(s for s, (res, _) in RESOLUTIONS.items() if model != LITE or res != "4k")


def capabilities(model: str) -> Capabilities:
    lite = model == LITE
    return Capabilities(
        min_seconds=min(DURATIONS),
        max_seconds=max(DURATIONS),
        allowed_seconds=DURATIONS,
        max_width=1920 if lite else 3840,
        max_height=1920 if lite else 3840,
        accepts_reference_image=True,
        accepts_end_image=not lite,
        extends=not lite,
        audio=True,
        seed=False,
        fps=24,
        max_prompt_chars=None,
        sizes=sizes_of(model),
    )


def check_options(model: str, options: Mapping[str, Any]) -> list[str]:
    problems = []
    for key in sorted(set(options) - set(OPTION_KEYS)):
        problems.append(f"{key}: unknown option — veo accepts: {', '.join(OPTION_KEYS)}")
    negative = options.get("negative_prompt")
    if "negative_prompt" in options and not (isinstance(negative, str) and negative.strip()):
        problems.append("negative_prompt: must be non-empty text (what the clip must not show)")
    if "person_generation" in options and options["person_generation"] not in PERSON_GENERATION:
        problems.append(f"person_generation: must be one of {', '.join(PERSON_GENERATION)}")
    if "enhance_prompt" in options and not isinstance(options["enhance_prompt"], bool):
        problems.append("enhance_prompt: must be true or false")
    return problems


def check_shot(model: str, options: Mapping[str, Any], shot: Shot) -> list[str]:
    size = f"{shot.width}x{shot.height}"
    if size not in RESOLUTIONS or size not in sizes_of(model):
        return []  # the size itself is reported from the capabilities' sizes
    resolution = RESOLUTIONS[size][0]
    problems = []
    if shot.seconds != FORCED_SECONDS:
        if resolution != "720p":
            problems.append(
                f"seconds: {model} makes only {FORCED_SECONDS:g} s clips at {resolution} "
                f"— use seconds: {FORCED_SECONDS:g} or output size 1280x720"
            )
        elif shot.extend:
            problems.append(
                f"seconds: a veo extension is always {FORCED_SECONDS:g} s — use seconds: "
                f"{FORCED_SECONDS:g}"
            )
    if shot.extend and resolution != "720p":
        problems.append(f"extend: veo extends only 720p clips — {size} is {resolution}")
    if shot.has_end_frame and not shot.has_reference:
        problems.append(
            "end_frame: veo interpolates only from a first frame — give the segment a reference"
        )
    return problems


def resolution_of(width: int, height: int) -> tuple[str, str]:
    """(resolution, aspectRatio) for a Veo output size; ``ValueError`` for another size."""
    try:
        return RESOLUTIONS[f"{width}x{height}"]
    except KeyError:
        raise ValueError(f"{width}x{height} is not a Veo size") from None
