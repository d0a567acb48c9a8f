"""The provider registry: names, defaults, and construction by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinestitch.errors import ProviderError
from cinestitch.providers import (
    DEFAULT_PROVIDER,
    default_model,
    get_provider,
    provider_info,
    provider_names,
)
from cinestitch.providers.animatic import AnimaticProvider


def test_animatic_is_the_default_and_known() -> None:
    """The embedded animatic provider is registered, default, with model 'sketch'."""
    assert DEFAULT_PROVIDER == "animatic"
    assert "animatic" in provider_names()
    assert default_model("animatic") == "sketch"
    assert default_model("nope") == ""


def test_get_provider_builds_it_over_the_work_dir(tmp_path: Path) -> None:
    """get_provider returns a provider named as asked, using the given work dir."""
    provider = get_provider("animatic", tmp_path / "state")
    assert isinstance(provider, AnimaticProvider)
    assert provider.name == "animatic" and provider.work_dir == tmp_path / "state"


def test_unknown_provider_lists_the_known_ones(tmp_path: Path) -> None:
    """An unknown name is a ProviderError naming the providers that exist."""
    with pytest.raises(
        ProviderError,
        match="unknown provider 'nope' — known: animatic, comfyui, fal, openai, runway, veo",
    ):
        get_provider("nope", tmp_path)


def test_image_providers_are_registered_as_stills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gemini-image and fal-image make stills: listed by kind, never among the video providers."""
    assert provider_names("image") == ["fal-image", "gemini-image"]
    assert "gemini-image" not in provider_names() and "veo" not in provider_names("image")
    assert set(provider_names(None)) == set(provider_names()) | set(provider_names("image"))
    for name in provider_names("image"):
        info = provider_info(name)
        assert info.kind == "image"
        assert all(info.capabilities(m).kind == "image" for m in info.models)
    assert all(
        provider_info(n).capabilities(default_model(n)).kind == "video" for n in provider_names()
    )
    monkeypatch.setenv("GEMINI_API_KEY", "sk-test-registry")
    assert get_provider("gemini-image", tmp_path / "g").name == "gemini-image"
