"""The provider registry: names, defaults, and construction by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinestitch.errors import ProviderError
from cinestitch.providers import (
    DEFAULT_PROVIDER,
    default_model,
    get_provider,
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
