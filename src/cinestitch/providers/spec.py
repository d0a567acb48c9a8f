"""What the registry knows of a provider without building one: static data and pure checks.

``validate`` and ``plan`` read a ``ProviderInfo`` only, so they work with no key, no network
and no provider instance; only ``create`` builds the provider (and reads its key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinestitch.providers.base import Capabilities, Kind, Provider, Transport

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class ProviderContext:
    """What a provider is built with."""

    work_dir: Path
    """Where the provider keeps job state (created on first use, not on construction)."""
    client: httpx.Client | None = None
    """The HTTP client for network providers; ``None``: the process's shared client."""
    transport: Transport = field(default_factory=Transport)
    """How to reach it: base URL, key variable, timeouts (never part of a request key)."""
    project_root: Path | None = None
    """Where a ``.env`` file may hold the key."""


@dataclass(frozen=True)
class Shot:
    """What a segment asks of a provider, for the load-time checks."""

    seconds: float
    width: int
    height: int
    has_reference: bool = False
    has_end_frame: bool = False
    extend: bool = False


DEFAULT_TRANSPORT = Transport()


ShotCheck = Callable[[str, Mapping[str, Any], Shot], list[str]]
"""(model, options, shot) -> problems, each ``<key>: <what is wrong> — <what it accepts>``."""


FilesCheck = Callable[[Path, str, Mapping[str, Any]], list[str]]
"""(project root, model, options) -> problems with the project files the options name (a
ComfyUI workflow), each ``<option key path>: <what is wrong>``."""
FileIdentity = Callable[[Path, str, Mapping[str, Any]], Mapping[str, Any]]
"""(project root, model, options) -> what those files add to the options, so that their
content is part of the request key (a workflow's digest)."""


def _no_shot_problems(model: str, options: Mapping[str, Any], shot: Shot) -> list[str]:
    return []


def _no_file_problems(root: Path, model: str, options: Mapping[str, Any]) -> list[str]:
    return []


def _no_file_identity(root: Path, model: str, options: Mapping[str, Any]) -> Mapping[str, Any]:
    return {}


SizeMade = Callable[[str, int, int, Mapping[str, Any]], tuple[int, int]]


def _as_asked(model: str, width: int, height: int, options: Mapping[str, Any]) -> tuple[int, int]:
    return width, height


@dataclass(frozen=True)
class ProviderInfo:
    """A registered provider: its models, capabilities and checks as static data."""

    name: str
    default_model: str
    models: tuple[str, ...]
    """The models it knows; ``open_models`` lets others through (gateways host many)."""
    key_env: str | None
    """The environment variable its key is read from by default; ``None``: needs no key."""
    capabilities_of: Callable[[str], Capabilities]
    options_check: Callable[[str, Mapping[str, Any]], list[str]]
    factory: Callable[[ProviderContext], Provider]
    shot_check: ShotCheck = _no_shot_problems
    open_models: bool = False
    dialects: tuple[str, ...] = ()
    """Names accepted by ``provider.dialect`` (empty: the provider has none)."""
    files_check: FilesCheck = _no_file_problems
    file_identity: FileIdentity = _no_file_identity
    kind: Kind = "video"
    """What it makes: clips, or stills (keyframes); its models' capabilities say the same."""
    size_made: SizeMade = _as_asked
    """The picture a still of a given size is made (and billed) at (Gemini: the nearest
    ratio at the smallest tier that covers it)."""

    def capabilities(self, model: str) -> Capabilities:
        return self.capabilities_of(model)

    def made_size(
        self, model: str, width: int, height: int, options: Mapping[str, Any]
    ) -> tuple[int, int]:
        """The size a still of ``width`` x ``height`` is made and billed at."""
        return self.size_made(model, width, height, options)

    def check_options(self, model: str, options: Mapping[str, Any]) -> list[str]:
        """Problems with the model and options (pure), each naming its key first."""
        problems = []
        if model not in self.models and not self.open_models:
            problems.append(
                f"model: unknown model '{model}' — {self.name} has: {', '.join(self.models)}"
            )
            return problems
        return problems + self.options_check(model, options)

    def check_shot(self, model: str, options: Mapping[str, Any], shot: Shot) -> list[str]:
        """Problems with one segment's request beyond the plain capabilities (pure)."""
        return self.shot_check(model, options, shot)

    def check_files(self, root: Path, model: str, options: Mapping[str, Any]) -> list[str]:
        """Problems with the project files the options name (reads them; no network)."""
        return self.files_check(root, model, options)

    def identity_options(
        self, root: Path, model: str, options: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The options with what the files they name add to a request's identity."""
        return {**options, **self.file_identity(root, model, options)}

    def create(self, context: ProviderContext) -> Provider:
        return self.factory(context)
