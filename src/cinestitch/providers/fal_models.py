"""Video models hosted on fal.ai: how each one takes its input, as data.

Every fal model has its own input schema on the same queue protocol: the first frame is
``image_url`` or ``start_image_url``, the length an integer or a string enum (``"5"``,
``"8s"``), the resolution and aspect ratio enums differ, and only some take a seed, an end
frame, a negative prompt or an audio switch. A ``FalModel`` holds those differences; adding a
model is one entry in ``MODELS``. The model's name in a manifest is its image-to-video
endpoint; a segment without a first frame is sent to the model's text-to-video endpoint.

Sources (protocol sheet ``video-apis.md`` §4 and the models' fal pages, read 2026-11-24):
- Wan 2.7: ``image_url``, ``end_image_url``, ``video_url`` (continue a 2-10 s clip),
  integer ``duration`` 2-15, ``resolution`` 720p/1080p, ``aspect_ratio`` for text only,
  ``negative_prompt`` (≤500), ``enable_prompt_expansion``, ``seed``; sound is generated
  when no ``audio_url`` is given; 30 fps (third-party, UNCONFIRMED).
- Kling v4: ``start_image_url`` (required), ``end_image_url``, ``prompt`` ≤2500; the
  duration enum ``"3"``…``"15"`` as strings, ``generate_audio``, ``negative_prompt``,
  ``cfg_scale`` are those of Kling v3/O3 on fal (UNCONFIRMED for v4), as is the text-to-video
  endpoint's name.
- LTX-2.3: ``image_url``, ``end_image_url``, integer ``duration`` 6/8/10, ``resolution``
  1080p/1440p/2160p, ``aspect_ratio`` 16:9/9:16, ``generate_audio``; 25 fps by default.
- Veo 3.1 Fast: ``duration`` "4s"/"6s"/"8s", ``resolution`` 720p/1080p/4k, ``aspect_ratio``
  16:9/9:16, ``generate_audio``, ``negative_prompt``, ``seed``; first and last frames go to
  its first-last-frame endpoint as ``first_frame_url`` and ``last_frame_url``; text alone
  to ``fal-ai/veo3.1/fast``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cinestitch.providers.base import Capabilities
from cinestitch.providers.spec import Shot

NAME = "fal"
KEY_ENV = "FAL_KEY"
PUBLIC_BASE_URL = "https://queue.fal.run"
MB = 1024 * 1024


@dataclass(frozen=True)
class FalModel:
    """One fal model's input schema, as far as a shot needs it."""

    endpoint: str
    """The image-to-video endpoint (``owner/app[/path]``), also the model's manifest name."""
    family: str
    """How messages name it (``wan``, ``kling``, ``ltx``, ``veo``)."""
    durations: tuple[int, ...]
    duration_format: str = "int"
    """How ``duration`` is sent: ``int`` (a JSON number) or a string pattern (``{n}``,
    ``{n}s``)."""
    image_field: str = "image_url"
    end_field: str | None = "end_image_url"
    end_endpoint: str | None = None
    """Where a first+last frame request goes when it is not ``endpoint``."""
    end_first_field: str | None = None
    """The first frame's field at ``end_endpoint``, when it has another name there."""
    text_endpoint: str | None = None
    """Where a shot without a first frame goes; ``None``: the model needs one."""
    extend_field: str | None = None
    extend_seconds: tuple[float, float] | None = None
    """The lengths of the clip ``extend_field`` takes (Wan 2.7: 2-10 s)."""
    """The field that takes a clip to continue (native extension), if any."""
    resolutions: tuple[str, ...] = ()
    aspect_ratios: tuple[str, ...] = ()
    aspect_with_image: bool = False
    """Whether ``aspect_ratio`` is sent alongside a first frame (else it follows the image)."""
    seed: bool = False
    audio_field: str | None = None
    """The switch for generated sound (``generate_audio``), if the model has one."""
    audio: bool = False
    """Whether its clips have sound (by default)."""
    negative_field: str | None = None
    max_prompt_chars: int | None = None
    fps: int | None = None
    max_image_bytes: int = 10 * MB
    """Limit of an image passed inline as a data URI."""
    flags: Mapping[str, str] = field(default_factory=dict)
    """Further true/false options: manifest name -> wire field."""
    numbers: Mapping[str, tuple[str, float, float]] = field(default_factory=dict)
    """Further numeric options: manifest name -> (wire field, lowest, highest)."""


WAN_27 = FalModel(
    endpoint="fal-ai/wan/v2.7/image-to-video",
    family="wan",
    durations=tuple(range(2, 16)),
    text_endpoint="fal-ai/wan/v2.7/text-to-video",
    extend_field="video_url",
    extend_seconds=(2.0, 10.0),
    resolutions=("720p", "1080p"),
    aspect_ratios=("16:9", "9:16", "1:1", "4:3", "3:4"),
    seed=True,
    audio=True,
    negative_field="negative_prompt",
    max_prompt_chars=5000,
    fps=30,
    max_image_bytes=20 * MB,
    flags={"prompt_expansion": "enable_prompt_expansion"},
)
KLING_V4 = FalModel(
    endpoint="fal-ai/kling-video/v4/image-to-video",
    family="kling",
    durations=tuple(range(3, 16)),
    duration_format="{n}",
    image_field="start_image_url",
    text_endpoint="fal-ai/kling-video/v4/text-to-video",
    aspect_ratios=("16:9", "9:16", "1:1"),
    audio_field="generate_audio",
    audio=True,
    negative_field="negative_prompt",
    max_prompt_chars=2500,
    fps=30,
    numbers={"cfg_scale": ("cfg_scale", 0.0, 1.0)},
)
LTX_23 = FalModel(
    endpoint="fal-ai/ltx-2.3/image-to-video",
    family="ltx",
    durations=(6, 8, 10),
    text_endpoint="fal-ai/ltx-2.3/text-to-video",
    resolutions=("1080p", "1440p", "2160p"),
    aspect_ratios=("16:9", "9:16"),
    aspect_with_image=True,
    audio_field="generate_audio",
    audio=True,
    fps=25,
)
VEO_31_FAST = FalModel(
    endpoint="fal-ai/veo3.1/fast/image-to-video",
    family="veo",
    durations=(4, 6, 8),
    duration_format="{n}s",
    end_field="last_frame_url",
    end_endpoint="fal-ai/veo3.1/fast/first-last-frame-to-video",
    end_first_field="first_frame_url",
    text_endpoint="fal-ai/veo3.1/fast",
    resolutions=("720p", "1080p", "4k"),
    aspect_ratios=("16:9", "9:16"),
    aspect_with_image=True,
    seed=True,
    audio_field="generate_audio",
    audio=True,
    negative_field="negative_prompt",
    fps=24,
    max_image_bytes=8 * MB,
)

MODELS: dict[str, FalModel] = {m.endpoint: m for m in (WAN_27, KLING_V4, LTX_23, VEO_31_FAST)}
DEFAULT_MODEL = WAN_27.endpoint
COMMON_OPTIONS = ("resolution", "aspect_ratio", "audio", "negative_prompt")


def model_of(name: str) -> FalModel:
    """The named model; ``KeyError`` for one not in the table."""
    return MODELS[name]


def capabilities(model: str) -> Capabilities:
    m = MODELS.get(model)
    if m is None:
        return Capabilities(min_seconds=1, max_seconds=20, seed=False)
    return Capabilities(
        min_seconds=float(min(m.durations)),
        max_seconds=float(max(m.durations)),
        allowed_seconds=tuple(float(d) for d in m.durations),
        accepts_reference_image=True,
        accepts_end_image=m.end_field is not None,
        extends=m.extend_field is not None,
        extends_seconds=m.extend_seconds,
        audio=m.audio,
        seed=m.seed,
        fps=m.fps,
        max_prompt_chars=m.max_prompt_chars,
    )


def option_keys(m: FalModel) -> tuple[str, ...]:
    keys = [
        k
        for k, present in zip(
            COMMON_OPTIONS,
            (m.resolutions, m.aspect_ratios, m.audio_field, m.negative_field),
            strict=True,
        )
        if present
    ]
    return (*keys, *m.flags, *m.numbers)


def check_options(model: str, options: Mapping[str, Any]) -> list[str]:
    m = MODELS[model]
    accepted = option_keys(m)
    problems = unknown_options(m.endpoint, accepted, options)
    for key, choices in (("resolution", m.resolutions), ("aspect_ratio", m.aspect_ratios)):
        if key in options and options[key] not in choices:
            problems.append(f"{key}: must be one of {', '.join(choices)}")
    for key in ("audio", *m.flags):
        if key in options and key in accepted and not isinstance(options[key], bool):
            problems.append(f"{key}: must be true or false")
    negative = options.get("negative_prompt")
    given = "negative_prompt" in accepted and "negative_prompt" in options
    if given and not (isinstance(negative, str) and negative.strip()):
        problems.append("negative_prompt: must be non-empty text")
    for key, (_, low, high) in m.numbers.items():
        value = options.get(key, low)
        if not (is_number(value) and low <= float(value) <= high):
            problems.append(f"{key}: must be a number from {low:g} to {high:g}")
    return problems


def unknown_options(
    endpoint: str, accepted: tuple[str, ...], options: Mapping[str, Any]
) -> list[str]:
    """A problem for each option ``endpoint`` does not take, naming those it does."""
    return [
        f"{key}: unknown option — {endpoint} accepts: {', '.join(accepted) or 'none'}"
        for key in sorted(set(options) - set(accepted))
    ]


def is_number(value: Any) -> bool:
    """A finite JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_shot(model: str, options: Mapping[str, Any], shot: Shot) -> list[str]:
    m = MODELS[model]
    problems = []
    if not shot.has_reference and m.text_endpoint is None:
        problems.append(
            f"reference: {m.endpoint} makes video only from a first frame — give the segment "
            "a reference image, or another model for it (segments[].provider)"
        )
    if shot.has_end_frame and not shot.has_reference:
        problems.append(
            f"end_frame: {m.family} goes from a first frame to the end frame — give the "
            "segment a reference too"
        )
    return problems


def duration_value(m: FalModel, seconds: float) -> int | str:
    """``duration`` as the model's schema types it."""
    n = round(seconds)
    return n if m.duration_format == "int" else m.duration_format.format(n=n)


def resolution_height(resolution: str) -> int:
    """The short side a resolution tier names (``720p`` -> 720, ``4k`` -> 2160)."""
    text = resolution.lower()
    return 2160 if text == "4k" else int(text.rstrip("p"))


def pick_resolution(m: FalModel, width: int, height: int, options: Mapping[str, Any]) -> str | None:
    """The chosen ``resolution`` (an option), else the smallest tier that covers the output's
    short side, else the largest; ``None`` when the model takes none."""
    if not m.resolutions:
        return None
    chosen = options.get("resolution")
    if isinstance(chosen, str) and chosen in m.resolutions:
        return chosen
    short = min(width, height)
    tiers = sorted(m.resolutions, key=resolution_height)
    return next((t for t in tiers if resolution_height(t) >= short), tiers[-1])


def pick_aspect(m: FalModel, width: int, height: int, options: Mapping[str, Any]) -> str | None:
    """The chosen ``aspect_ratio`` (an option), else the model's ratio nearest the output's."""
    if not m.aspect_ratios:
        return None
    chosen = options.get("aspect_ratio")
    if isinstance(chosen, str) and chosen in m.aspect_ratios:
        return chosen
    return nearest_ratio(m.aspect_ratios, width, height)


def nearest_ratio(ratios: Iterable[str], width: int, height: int) -> str:
    """The ``W:H`` of ``ratios`` nearest the shape of ``width`` x ``height`` (in log ratio)."""
    want = math.log(width / height)

    def distance(ratio: str) -> float:
        w, _, h = ratio.partition(":")
        return abs(math.log(float(w) / float(h)) - want)

    return min(ratios, key=distance)
