"""The price table knows every image model, per picture, with its source; the size tiers of
Gemini's prices match the largest picture each tier makes."""

from __future__ import annotations

from cinestitch.prices import find_still_price, price_table
from cinestitch.providers import fal_image_models, gemini_image_models, provider_info


def test_every_image_model_has_a_price_per_picture_and_a_source() -> None:
    """Each image model is priced per_image or per_megapixel, with as_of and a source."""
    providers = price_table()["providers"]
    for name in ("gemini-image", "fal-image"):
        entry = providers[name]
        assert entry["as_of"] and "http" not in entry["as_of"] and entry["source"]
        for model in provider_info(name).models:
            price = entry["models"][model]
            assert set(price) & {"per_image", "per_megapixel"}, model
            flat = price.get("per_image", price.get("per_megapixel"))
            rows = flat if isinstance(flat, list) else [{"usd": flat}]
            assert all(0 < row["usd"] < 1 for row in rows)


def test_gemini_tiers_match_the_models_tables() -> None:
    """A tier's up_to_pixels is the largest picture the model makes at that tier."""
    entries = price_table()["providers"]["gemini-image"]["models"]
    for name, m in gemini_image_models.MODELS.items():
        rows = entries[name]["per_image"]
        if not m.tiers:
            assert isinstance(rows, float)
            continue
        assert [r["tier"] for r in rows] == list(m.tiers)
        for row in rows:
            sizes = [gemini_image_models.size_at(m, r, row["tier"]) for r in m.ratios]
            assert row["up_to_pixels"] == max(w * h for w, h in sizes)


def test_fal_prices_name_the_models_by_their_manifest_names() -> None:
    """fal-image prices are keyed by the text-to-image endpoint a manifest names."""
    entries = price_table()["providers"]["fal-image"]["models"]
    assert set(entries) == set(fal_image_models.MODELS)


def test_a_still_is_priced_as_it_is_made() -> None:
    """Gemini bills the tier it makes: a keyframe wider than 1K at its ratio is made, and
    priced, at 2K; a chosen image_size is priced as chosen. FLUX.1 [dev] drawn from a
    picture is its image-to-image price."""
    info = provider_info("gemini-image")
    flash = "gemini-3.1-flash-image"
    assert info.made_size(flash, 1280, 720, {}) == (1376, 768)
    assert info.made_size(flash, 1400, 700, {}) == (2752, 1536)
    assert info.made_size(flash, 1280, 720, {"image_size": "4K"}) == (5504, 3072)
    one_k = find_still_price("gemini-image", flash, *info.made_size(flash, 1280, 720, {}))
    two_k = find_still_price("gemini-image", flash, *info.made_size(flash, 1400, 700, {}))
    assert one_k is not None and two_k is not None
    assert (one_k.per_second, two_k.per_second) == (0.067, 0.101)
    assert provider_info("fal-image").made_size("fal-ai/flux/dev", 1280, 720, {}) == (1280, 720)
    text = find_still_price("fal-image", "fal-ai/flux/dev", 1024, 1024)
    drawn = find_still_price("fal-image", "fal-ai/flux/dev", 1024, 1024, ("image_to_image",))
    assert text is not None and drawn is not None
    assert (text.per_second, drawn.per_second) == (0.025, 0.03)
    assert drawn.source.endswith(", drawn from pictures")
