"""Gemini image generation ("Nano Banana") on the Gemini API: models, shapes and options.

A Gemini image model makes a few fixed shapes: an aspect ratio (``imageConfig.aspectRatio``)
at a size tier (``imageConfig.imageSize``: ``1K``, ``2K``, ``4K``; ``512`` on 3.1 Flash;
2.5 Flash makes 1K only and takes no ``imageSize``). A keyframe is asked at the ratio
nearest the output's and the smallest tier that covers it, then scaled and cropped to the
output size (``_stills``).

Sources (read 2026-12):
- Request and answer: ``POST /v1beta/models/{model}:generateContent``, ``contents[].parts``
  (``text``, ``inlineData {mimeType, data}``), ``generationConfig.responseModalities:
  ["IMAGE"]`` and ``imageConfig {aspectRatio, imageSize}`` (ai.google.dev GenerationConfig
  reference; Firebase AI ``ImageConfig``); answers in ``candidates[0].content.parts[].inlineData``.
- 2.5 Flash Image shapes (1:1 1024x1024 … 16:9 1344x768, 21:9 1536x672; 1K only; 3 input
  images of at most 7 MB): Google's image-generation guide as copied by docs.gptproto.com, and
  the Vertex AI model page (cloud.google.com/vertex-ai/generative-ai/docs/models/gemini/
  2-5-flash-image). GA 2025-10-02; its shutdown is scheduled for 2026-10-02 (aifreeapi.com,
  quoting Google's deprecations page) — a retired model answers 404, worded as such.
- 3 Pro Image and 3.1 Flash Image shapes (1K 16:9 1376x768, 2:3 848x1264, 4:5 928x1152;
  2K and 4K double and quadruple them; the same ratios; up to 14 input images): Google's
  Gemini 3 image table as copied by several clients (doc.ai.soraliststudio.com "Nano Banana
  Pro aspect ratio"; the NANO_BANANA_ASPECT_RATIOS of an SDK's parameter schema); 3.1
  Flash's ``512`` tier is half of 1K (derived, not read); its extreme ratios (1:4, 4:1,
  1:8, 8:1) are left out: keyframes are video frames.
  ``gemini-3.1-flash-image`` and ``gemini-3-pro-image`` are GA (released 2026-05-28); their
  preview ids were shut down on 2026-06-25 (ai.google.dev/gemini-api/docs/deprecations), so
  naming one is a load-time error that names its replacement. Any other id is passed
  through (``open_models``) with the 3.x shapes.
- Seeds: ``generationConfig.seed`` is accepted; image models do not promise to repeat a
  picture for a seed (the seed is still part of the request's identity).
- Prices per image: ``data/prices.json`` (``per_image``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cinestitch.providers._gemini import PUBLIC_BASE_URL as PUBLIC_BASE_URL
from cinestitch.providers.base import Capabilities
from cinestitch.providers.spec import Shot

NAME = "gemini-image"
KEY_ENV = "GEMINI_API_KEY"
MB = 1024 * 1024
MAX_IMAGE_BYTES = 7 * MB
"""An inline input image's limit (Vertex AI model pages: 7 MB per file)."""

RATIOS_25 = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
}
"""2.5 Flash Image: aspect ratio -> its one (1K) size."""
RATIOS_3 = {
    "1:1": (1024, 1024),
    "2:3": (848, 1264),
    "3:2": (1264, 848),
    "3:4": (896, 1200),
    "4:3": (1200, 896),
    "4:5": (928, 1152),
    "5:4": (1152, 928),
    "9:16": (768, 1376),
    "16:9": (1376, 768),
    "21:9": (1584, 672),
}
"""The 3.x image models at 1K: aspect ratio -> size (2K doubles it, 4K quadruples it)."""
TIER_SCALE = {"512": 0.5, "1K": 1.0, "2K": 2.0, "4K": 4.0}


@dataclass(frozen=True)
class GeminiImageModel:
    """One Gemini image model's shapes and limits."""

    name: str
    ratios: Mapping[str, tuple[int, int]]
    tiers: tuple[str, ...]
    """The ``imageSize`` values it takes; empty: it takes none (one size per ratio)."""
    max_references: int
    """Input images per request (the reference picture and the character references)."""


FLASH_25 = GeminiImageModel("gemini-2.5-flash-image", RATIOS_25, (), 3)
FLASH_31 = GeminiImageModel("gemini-3.1-flash-image", RATIOS_3, ("512", "1K", "2K", "4K"), 14)
PRO_3 = GeminiImageModel("gemini-3-pro-image", RATIOS_3, ("1K", "2K", "4K"), 14)
MODELS: dict[str, GeminiImageModel] = {m.name: m for m in (FLASH_31, PRO_3, FLASH_25)}
RETIRED = {
    "gemini-3-pro-image-preview": ("2026-06-25", PRO_3.name),
    "gemini-3.1-flash-image-preview": ("2026-06-25", FLASH_31.name),
}
"""Ids Google has shut down (its deprecations page): when, and what replaced them."""
DEFAULT_MODEL = FLASH_31.name
OPTION_KEYS = ("aspect_ratio", "image_size")


def model_of(name: str) -> GeminiImageModel:
    """The named model; an id not in the table gets the 3.x shapes (1K, 2K, 4K)."""
    return MODELS.get(name) or GeminiImageModel(name, RATIOS_3, ("1K", "2K", "4K"), 14)


def size_at(m: GeminiImageModel, ratio: str, tier: str | None) -> tuple[int, int]:
    """The pixels the model makes at ``ratio`` and ``tier`` (``None``: its only size)."""
    width, height = m.ratios[ratio]
    scale = TIER_SCALE[tier] if tier is not None else 1.0
    return round(width * scale), round(height * scale)


def largest(m: GeminiImageModel) -> tuple[int, int]:
    """The widest and the tallest the model makes (over every ratio, at its top tier)."""
    top = m.tiers[-1] if m.tiers else None
    sizes = [size_at(m, r, top) for r in m.ratios]
    return max(w for w, _ in sizes), max(h for _, h in sizes)


def capabilities(model: str) -> Capabilities:
    m = model_of(model)
    width, height = largest(m)
    return Capabilities(
        min_seconds=0.0,
        max_seconds=0.0,
        allowed_seconds=(0.0,),
        max_width=width,
        max_height=height,
        accepts_reference_image=True,
        accepts_end_image=False,
        seed=True,
        kind="image",
        max_reference_images=m.max_references - 1,
    )


def check_options(model: str, options: Mapping[str, Any]) -> list[str]:
    if model in RETIRED:
        when, instead = RETIRED[model]
        return [f"model: {model} was shut down on {when} — use {instead}"]
    m = model_of(model)
    accepted = OPTION_KEYS if m.tiers else ("aspect_ratio",)
    problems = [
        f"{key}: unknown option — {m.name} accepts: {', '.join(accepted)}"
        for key in sorted(set(options) - set(accepted))
    ]
    if "aspect_ratio" in options and options["aspect_ratio"] not in m.ratios:
        problems.append(f"aspect_ratio: must be one of {', '.join(m.ratios)}")
    tier = options.get("image_size")
    if "image_size" in accepted and "image_size" in options and tier not in m.tiers:
        problems.append(f"image_size: must be one of {', '.join(m.tiers)}")
    return problems


def check_shot(model: str, options: Mapping[str, Any], shot: Shot) -> list[str]:
    """A still has no length: ``seconds`` is 0 (the capabilities report any other)."""
    return []


def made_size(model: str, width: int, height: int, options: Mapping[str, Any]) -> tuple[int, int]:
    """The picture a ``width`` x ``height`` keyframe is asked (and billed) at: the chosen or
    nearest ratio at the chosen tier, or the smallest that covers it."""
    m = model_of(model)
    ratio = pick_ratio(m, width, height, options)
    return size_at(m, ratio, pick_tier(m, ratio, width, height, options))


def pick_ratio(m: GeminiImageModel, width: int, height: int, options: Mapping[str, Any]) -> str:
    """The chosen ``aspect_ratio`` (an option), else the model's ratio nearest the size's."""
    chosen = options.get("aspect_ratio")
    if isinstance(chosen, str) and chosen in m.ratios:
        return chosen
    want = math.log(width / height)
    return min(m.ratios, key=lambda r: abs(math.log(m.ratios[r][0] / m.ratios[r][1]) - want))


def pick_tier(
    m: GeminiImageModel, ratio: str, width: int, height: int, options: Mapping[str, Any]
) -> str | None:
    """The chosen ``image_size`` (an option), else the smallest tier whose picture covers
    ``width`` x ``height``, else the largest; ``None`` for a model without tiers."""
    if not m.tiers:
        return None
    chosen = options.get("image_size")
    if isinstance(chosen, str) and chosen in m.tiers:
        return chosen
    for tier in m.tiers:
        made = size_at(m, ratio, tier)
        if made[0] >= width and made[1] >= height:
            return tier
    return m.tiers[-1]
