"""Estimated generation prices from the dated table in ``data/prices.json``.

A project may set ``provider.price_per_second`` to use its own rate (a negotiated price, or
a rehearsal of budgets with the free animatic); otherwise the table decides.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cinestitch.resources import DATA_DIR

PRICES_PATH = DATA_DIR / "prices.json"


@dataclass(frozen=True)
class Price:
    """USD per generated second, and where the number comes from."""

    per_second: float
    source: str


@functools.cache
def price_table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PRICES_PATH.read_text(encoding="utf-8"))
    return data


def resolution_tier(short_side: int) -> str:
    """720p, 1080p or 4k, as providers price them: by the short side, so a portrait
    720x1280 is 720p like a landscape 1280x720."""
    if short_side <= 720:
        return "720p"
    return "1080p" if short_side <= 1080 else "4k"


VARIANT_WORDS = {
    "without_audio": "without sound",
    "text_to_video": "text to video",
    "image_to_image": "drawn from pictures",
}
"""Price variants a model's entry may list beside its tiers, and how the source says them."""


def find_price(
    provider: str,
    model: str,
    short_side: int,
    override: float | None = None,
    variants: tuple[str, ...] = (),
) -> Price | None:
    """The price per second of a generation, or ``None`` when nobody knows it. ``variants``
    (``price_variants``) pick a model's other prices where its entry lists them for the
    tier (fal's Veo without sound costs two thirds, LTX's text-to-video more)."""
    if override is not None:
        return Price(override, "provider.price_per_second in cinestitch.yaml")
    entry = price_table()["providers"].get(provider)
    if entry is None:
        return None
    tiers = entry["models"].get(model) or entry["models"].get("*", {})  # "*": any model
    tier = resolution_tier(short_side)
    source = f"{provider} list price as of {entry['as_of']}"
    for variant in variants:
        rates = tiers.get(variant)
        if isinstance(rates, dict) and tier in rates:
            return Price(float(rates[tier]), f"{source}, {VARIANT_WORDS[variant]}")
    if tier not in tiers:
        return None
    return Price(float(tiers[tier]), source)


def price_variants(options: Mapping[str, Any], has_first_frame: bool) -> tuple[str, ...]:
    """Which listed price variants a request is: ``audio: false`` is ``without_audio``, a
    shot from no picture ``text_to_video``."""
    found = []
    if options.get("audio") is False:
        found.append("without_audio")
    if not has_first_frame:
        found.append("text_to_video")
    return tuple(found)


MEGAPIXEL = 1024 * 1024


def find_still_price(
    provider: str, model: str, width: int, height: int, variants: tuple[str, ...] = ()
) -> Price | None:
    """The price of one still (a keyframe) of ``width`` x ``height`` (the picture the model
    makes), in ``per_second``'s place (USD per picture), or ``None`` when nobody knows it.
    Image models are priced per picture (``per_image``: flat, or by size tier) or per
    megapixel; ``variants`` pick a listed variant's prices (``image_to_image``: a keyframe
    drawn from pictures); a provider whose every listed price is zero (the animatic, your
    own server) is free."""
    entry = price_table()["providers"].get(provider)
    if entry is None:
        return None
    models = entry["models"]
    prices = models.get(model) or models.get("*")
    source = f"{provider} list price as of {entry['as_of']}"
    if prices is None:
        return None
    for variant in variants:
        if isinstance(prices.get(variant), dict):
            prices, source = prices[variant], f"{source}, {VARIANT_WORDS[variant]}"
            break
    if "per_image" in prices:
        return Price(_tiered(prices["per_image"], width * height), source)
    if "per_megapixel" in prices:
        megapixels = -(-width * height // MEGAPIXEL)  # rounded up, as the table says
        return Price(round(float(prices["per_megapixel"]) * megapixels, 6), source)
    if all(v == 0 for m in models.values() for v in m.values() if isinstance(v, int | float)):
        return Price(0.0, source)
    return None


def _tiered(rates: Any, pixels: int) -> float:
    if not isinstance(rates, list):
        return float(rates)
    for row in rates:
        if int(row["up_to_pixels"]) >= pixels:
            return float(row["usd"])
    return float(rates[-1]["usd"])
