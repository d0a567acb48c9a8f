"""FLUX image models on fal.ai's queue, as data: endpoints, sizes, references and options.

The model's name in a manifest is its text-to-image endpoint; a keyframe with a reference
picture goes to the model's image endpoint, one with several references to its multi
endpoint. FLUX.1 [dev] and [schnell] take an exact ``image_size {width, height}`` (sent
rounded up to a multiple of 16; the picture is then cropped to the keyframe's size), Kontext
an ``aspect_ratio`` (it makes about one megapixel, scaled to the keyframe's size).

Sources (fal's model pages and their llms.txt, read 2026-12):
- ``fal-ai/flux/dev`` (fal.ai/docs/model-api-reference/image-generation-api/flux-dev; the
  schema of fal.ai/models/fal-ai/flux-1/dev/llms.txt): ``prompt``, ``image_size`` (an enum or
  ``{width, height}``), ``num_inference_steps`` 1-50 (28), ``seed``, ``guidance_scale``,
  ``num_images``, ``enable_safety_checker``, ``output_format`` jpeg/png; the result is
  ``images[{url, width, height, content_type}]``, ``seed`` and ``has_nsfw_concepts`` (a
  flagged picture comes back black). $0.025 per megapixel.
- ``fal-ai/flux/dev/image-to-image`` (fal.ai/models/fal-ai/flux/dev/image-to-image/llms.txt:
  ``num_inference_steps`` 10-50 (40), $0.03 per megapixel): ``image_url``, ``strength``
  (0.95), no ``image_size`` (the output follows the input's size, so the reference is sent
  cropped to the keyframe's) and no ``output_format`` (the ``fal`` Rust crate's
  ``DevImageToImageInput``).
- ``fal-ai/flux/schnell`` (fal.ai/models/fal-ai/flux-1/schnell/llms.txt):
  ``num_inference_steps`` 1-12 (4), no guidance; $0.003 per megapixel.
- ``fal-ai/flux-pro/kontext`` (fal.ai/models/fal-ai/flux-pro/kontext/llms.txt): ``image_url``
  (required), ``seed``, ``guidance_scale`` 1-20 (3.5), ``num_images``, ``output_format``,
  ``safety_tolerance`` "1"-"6" (a string), ``enhance_prompt``; $0.04 per image. Its
  ``/text-to-image`` and ``/multi`` (``image_urls``) endpoints take ``aspect_ratio`` (21:9 …
  9:21); that the single-image endpoint takes it too is UNCONFIRMED (Black Forest Labs' own
  API does), as is the multi endpoint's limit of 4 pictures.
- The largest side (2048 for dev and schnell, about 1 MP for Kontext) is UNCONFIRMED; a
  larger keyframe is refused at load time rather than upscaled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cinestitch.providers.base import Capabilities
from cinestitch.providers.fal_models import is_number, nearest_ratio, unknown_options
from cinestitch.providers.spec import Shot

NAME = "fal-image"
KEY_ENV = "FAL_KEY"
MB = 1024 * 1024
KONTEXT_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")


@dataclass(frozen=True)
class FalImageModel:
    """One FLUX model's input schema, as far as a keyframe needs it."""

    endpoint: str
    """The text-to-image endpoint, also the model's manifest name."""
    family: str
    sized: bool = True
    """``image_size {width, height}`` (else ``aspect_ratio`` from ``aspect_ratios``)."""
    aspect_ratios: tuple[str, ...] = ()
    image_endpoint: str | None = None
    """Where a keyframe with one reference picture goes; ``None``: it takes none."""
    multi_endpoint: str | None = None
    """Where several reference pictures go (``image_urls``); ``None``: one at most."""
    max_pictures: int = 0
    """Input pictures per request (the reference and the character references)."""
    image_sized: bool = False
    """Whether the image endpoint takes ``image_size`` (else the output follows the input)."""
    ratio_with_image: bool = True
    """Whether ``aspect_ratio`` is sent with reference pictures."""
    output_format: bool = True
    """Whether the text endpoint takes ``output_format`` (PNG is asked for)."""
    safety_checker: bool = False
    """Whether it takes ``enable_safety_checker``."""
    max_side: int = 2048
    multiple: int = 16
    max_image_bytes: int = 10 * MB
    numbers: Mapping[str, tuple[str, float, float]] = field(default_factory=dict)
    """Numeric options: manifest name -> (wire field, lowest, highest)."""
    integers: tuple[str, ...] = ()
    """Those of ``numbers`` sent as integers."""
    flags: Mapping[str, str] = field(default_factory=dict)
    """True/false options: manifest name -> wire field."""
    image_only: tuple[str, ...] = ()
    """Options sent only with a reference picture (``strength``)."""
    image_ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Narrower ranges the image endpoint takes (FLUX.1 [dev] image-to-image: 10-50 steps)."""


FLUX_DEV = FalImageModel(
    endpoint="fal-ai/flux/dev",
    family="flux-dev",
    image_endpoint="fal-ai/flux/dev/image-to-image",
    max_pictures=1,
    safety_checker=True,
    numbers={
        "steps": ("num_inference_steps", 1, 50),
        "guidance_scale": ("guidance_scale", 1, 20),
        "strength": ("strength", 0.01, 1),
    },
    integers=("steps",),
    flags={"safety_checker": "enable_safety_checker"},
    image_only=("strength",),
    image_ranges={"steps": (10, 50)},
)
FLUX_SCHNELL = FalImageModel(
    endpoint="fal-ai/flux/schnell",
    family="flux-schnell",
    safety_checker=True,
    numbers={"steps": ("num_inference_steps", 1, 12)},
    integers=("steps",),
    flags={"safety_checker": "enable_safety_checker"},
)
KONTEXT_PRO = FalImageModel(
    endpoint="fal-ai/flux-pro/kontext/text-to-image",
    family="kontext",
    sized=False,
    aspect_ratios=KONTEXT_RATIOS,
    image_endpoint="fal-ai/flux-pro/kontext",
    multi_endpoint="fal-ai/flux-pro/kontext/multi",
    max_pictures=4,
    max_side=1920,
    numbers={
        "guidance_scale": ("guidance_scale", 1, 20),
        "safety_tolerance": ("safety_tolerance", 1, 6),
    },
    integers=("safety_tolerance",),
    flags={"enhance_prompt": "enhance_prompt"},
)
MODELS: dict[str, FalImageModel] = {m.endpoint: m for m in (FLUX_DEV, FLUX_SCHNELL, KONTEXT_PRO)}
DEFAULT_MODEL = FLUX_DEV.endpoint


def model_of(name: str) -> FalImageModel:
    """The named model; ``KeyError`` for one not in the table."""
    return MODELS[name]


def capabilities(model: str) -> Capabilities:
    m = MODELS.get(model, FLUX_DEV)
    return Capabilities(
        min_seconds=0.0,
        max_seconds=0.0,
        allowed_seconds=(0.0,),
        max_width=m.max_side,
        max_height=m.max_side,
        accepts_reference_image=m.image_endpoint is not None,
        accepts_end_image=False,
        seed=True,
        kind="image",
        max_reference_images=max(0, m.max_pictures - 1) if m.multi_endpoint else 0,
    )


def option_keys(m: FalImageModel) -> tuple[str, ...]:
    ratio = ("aspect_ratio",) if m.aspect_ratios else ()
    return (*ratio, *m.numbers, *m.flags)


def check_options(model: str, options: Mapping[str, Any]) -> list[str]:
    m = MODELS[model]
    accepted = option_keys(m)
    problems = unknown_options(m.endpoint, accepted, options)
    if "aspect_ratio" in accepted and options.get("aspect_ratio", m.aspect_ratios[0]) not in (
        m.aspect_ratios
    ):
        problems.append(f"aspect_ratio: must be one of {', '.join(m.aspect_ratios)}")
    for key, (_, low, high) in m.numbers.items():
        if key not in options:
            continue
        value = options[key]
        whole = key not in m.integers or (isinstance(value, int) and not isinstance(value, bool))
        if not (is_number(value) and whole and low <= float(value) <= high):
            kind = "a whole number" if key in m.integers else "a number"
            problems.append(f"{key}: must be {kind} from {low:g} to {high:g}")
    for key in m.flags:
        if key in options and not isinstance(options[key], bool):
            problems.append(f"{key}: must be true or false")
    return problems


def check_shot(model: str, options: Mapping[str, Any], shot: Shot) -> list[str]:
    """A still has no length; the reference limits are in the capabilities. A keyframe
    drawn from pictures goes to the image endpoint, which may take narrower ranges."""
    m = MODELS[model]
    if not shot.has_reference:
        return []
    problems = []
    for key, (low, high) in m.image_ranges.items():
        value = options.get(key)
        if isinstance(value, int | float) and is_number(value) and not low <= value <= high:
            problems.append(
                f"{key}: a keyframe drawn from pictures ({m.image_endpoint}) takes "
                f"{low:g} to {high:g}"
            )
    return problems


def request_size(m: FalImageModel, width: int, height: int) -> tuple[int, int]:
    """``image_size`` for a keyframe: each side rounded up to the model's multiple."""
    return _up(width, m.multiple), _up(height, m.multiple)


def _up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def pick_aspect(m: FalImageModel, width: int, height: int, options: Mapping[str, Any]) -> str:
    """The chosen ``aspect_ratio`` (an option), else the model's ratio nearest the size's."""
    chosen = options.get("aspect_ratio")
    if isinstance(chosen, str) and chosen in m.aspect_ratios:
        return chosen
    return nearest_ratio(m.aspect_ratios, width, height)
