"""The provider registry: names to factories, and each provider's default model.

A factory takes a ``ProviderContext`` (the provider's work directory, and the ``httpx.Client``
that HTTP providers will use — injected so tests can hand in one bound to a fake server) and
returns a ``Provider``. Factories import their module lazily, so loading a manifest does not
pull in numpy, Pillow or PyAV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cinestitch.errors import ProviderError
from cinestitch.providers.base import Provider

if TYPE_CHECKING:
    import httpx

DEFAULT_PROVIDER = "animatic"


@dataclass(frozen=True)
class ProviderContext:
    """What a provider is built with."""

    work_dir: Path
    """Where the provider keeps job state (created on first use, not on construction)."""
    client: httpx.Client | None = None
    """The HTTP client for network providers; ``None`` lets them make their own."""


def _animatic(context: ProviderContext) -> Provider:
    from cinestitch.providers.animatic import AnimaticProvider

    return AnimaticProvider(context.work_dir)


ProviderFactory = Callable[[ProviderContext], Provider]

PROVIDERS: dict[str, ProviderFactory] = {"animatic": _animatic}
DEFAULT_MODELS: dict[str, str] = {"animatic": "sketch"}


def provider_names() -> list[str]:
    return sorted(PROVIDERS)


def default_model(name: str) -> str:
    """The model used when a manifest names none; ``""`` for an unknown provider (the
    manifest checks report the unknown name itself)."""
    return DEFAULT_MODELS.get(name, "")


def get_provider(name: str, work_dir: Path, client: httpx.Client | None = None) -> Provider:
    """Build the provider called ``name``; a ProviderError lists the known ones otherwise."""
    factory = PROVIDERS.get(name)
    if factory is None:
        known = ", ".join(provider_names())
        raise ProviderError(f"unknown provider '{name}' — known: {known}")
    return factory(ProviderContext(work_dir, client))
