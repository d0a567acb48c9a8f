"""The price table knows every image model, per picture, with its source; the size tiers of
Gemini's prices match the largest picture each tier makes."""

from __future__ import annotations

from cinestitch.prices import price_table
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
