"""List prices per second: by provider, model and tier, with the variants a model's entry
lists (no sound, text to video), and a project's own rate over all of them."""

from __future__ import annotations

import pytest

from cinestitch.prices import find_price, price_variants

VEO_FAL = "fal-ai/veo3.1/fast/image-to-video"
LTX = "fal-ai/ltx-2.3/image-to-video"


@pytest.mark.parametrize(
    ("provider", "model", "short", "variants", "usd", "said"),
    [
        ("fal", VEO_FAL, 720, (), 0.15, ""),
        ("fal", VEO_FAL, 720, ("without_audio",), 0.10, ", without sound"),
        ("fal", VEO_FAL, 2160, ("without_audio",), 0.30, ", without sound"),
        ("fal", LTX, 1080, (), 0.06, ""),
        ("fal", LTX, 1080, ("text_to_video",), 0.08, ", text to video"),
        ("fal", LTX, 2160, ("text_to_video",), 0.24, ""),  # not listed: the plain price
        ("runway", "veo3.1", 720, ("without_audio",), 0.20, ", without sound"),
        ("runway", "veo3.1_fast", 720, ("without_audio",), 0.10, ", without sound"),
        ("runway", "gen4.5", 720, ("without_audio",), 0.12, ""),  # no sound to leave out
        ("veo", "veo-3.1-fast-generate-preview", 720, ("without_audio",), 0.10, ""),
    ],
)
def test_a_listed_variant_replaces_the_tier_price(
    provider: str, model: str, short: int, variants: tuple[str, ...], usd: float, said: str
) -> None:
    price = find_price(provider, model, short, variants=variants)
    assert price is not None and price.per_second == pytest.approx(usd)
    assert price.source.startswith(f"{provider} list price as of ")
    assert price.source.endswith(said) if said else "," not in price.source


def test_the_projects_own_rate_wins_and_unknowns_are_none() -> None:
    own = find_price("fal", VEO_FAL, 720, override=0.5, variants=("without_audio",))
    assert own is not None and own.per_second == 0.5
    assert find_price("nobody", "x", 720) is None
    assert find_price("openai", "sora-2", 1080) is None  # sora-2 makes no 1080p tier


@pytest.mark.parametrize(
    ("options", "first_frame", "variants"),
    [
        ({}, True, ()),
        ({"audio": True}, True, ()),
        ({"audio": False}, True, ("without_audio",)),
        ({"audio": False}, False, ("without_audio", "text_to_video")),
        ({}, False, ("text_to_video",)),
    ],
)
def test_price_variants_of_a_request(
    options: dict[str, object], first_frame: bool, variants: tuple[str, ...]
) -> None:
    assert price_variants(options, first_frame) == variants
