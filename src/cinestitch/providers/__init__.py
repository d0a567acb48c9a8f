"""The provider registry: each provider's static data (``ProviderInfo``) and construction.

Capabilities, models, option checks and key variables are plain data here, so that
``validate`` and ``plan`` need no key, no network and no instance. Only ``create`` (or
``get_provider``) builds a provider; it imports the provider's module then, so loading a
manifest does not pull in httpx, numpy, Pillow or PyAV.

Image providers (``gemini-image``, ``fal-image``: stills for keyframes) are registered here
too, so the build's paid-once machinery reaches them by name like any other; their
capabilities say ``kind="image"``, and ``provider_names()`` lists only the video ones (what a
segment may name) unless asked for another kind.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from cinestitch.errors import ProviderError
from cinestitch.providers.base import Capabilities, Kind, Provider, Transport
from cinestitch.providers.spec import DEFAULT_TRANSPORT, ProviderContext, ProviderInfo, Shot

if TYPE_CHECKING:
    import httpx

    from cinestitch.providers.comfyui import ComfyUIProvider
    from cinestitch.providers.fal import FalProvider
    from cinestitch.providers.fal_image import FalImageProvider
    from cinestitch.providers.gemini_image import GeminiImageProvider
    from cinestitch.providers.openai import OpenAIVideoProvider
    from cinestitch.providers.runway import RunwayProvider
    from cinestitch.providers.veo import VeoProvider

    _DRIVERS: tuple[type[Provider], ...] = (
        VeoProvider,
        OpenAIVideoProvider,
        FalProvider,
        RunwayProvider,
        ComfyUIProvider,
        GeminiImageProvider,
        FalImageProvider,
    )
    """What ``_built`` makes by name, checked against the protocol all the same."""

__all__ = [
    "DEFAULT_PROVIDER",
    "PROVIDERS",
    "ProviderContext",
    "ProviderInfo",
    "Shot",
    "default_model",
    "get_provider",
    "provider_info",
    "provider_names",
]

DEFAULT_PROVIDER = "animatic"


def _animatic_capabilities(model: str) -> Capabilities:
    from cinestitch.providers.animatic import CAPABILITIES

    return CAPABILITIES


def _animatic_options(model: str, options: Mapping[str, Any]) -> list[str]:
    from cinestitch.providers import animatic_job

    return animatic_job.check_options(options)


def _animatic(context: ProviderContext) -> Provider:
    from cinestitch.providers.animatic import AnimaticProvider

    return cast("Provider", AnimaticProvider(context.work_dir))


class _ModelTable(Protocol):
    """A network provider's ``*_models`` module: its static data and pure checks."""

    @property
    def NAME(self) -> str: ...
    @property
    def DEFAULT_MODEL(self) -> str: ...
    @property
    def MODELS(self) -> Collection[str]: ...
    @property
    def KEY_ENV(self) -> str: ...
    def capabilities(self, model: str) -> Capabilities: ...
    def check_options(self, model: str, options: Mapping[str, Any]) -> list[str]: ...
    def check_shot(self, model: str, options: Mapping[str, Any], shot: Shot) -> list[str]: ...


def _built(module: str, class_name: str) -> Callable[[ProviderContext], Provider]:
    """The factory of a network provider: ``module`` is imported only when one is built."""

    def build(context: ProviderContext) -> Provider:
        driver = getattr(importlib.import_module(f"{__name__}.{module}"), class_name)
        made = driver(context.work_dir, context.transport, context.client, context.project_root)
        return cast("Provider", made)

    return build


def _network(
    table: _ModelTable,
    module: str,
    class_name: str,
    *,
    open_models: bool = False,
    dialects: tuple[str, ...] = (),
    kind: Kind = "video",
) -> ProviderInfo:
    """The entry of a network provider, as its models module describes it."""
    return ProviderInfo(
        name=table.NAME,
        default_model=table.DEFAULT_MODEL,
        models=tuple(table.MODELS),
        key_env=table.KEY_ENV,
        capabilities_of=table.capabilities,
        options_check=table.check_options,
        factory=_built(module, class_name),
        shot_check=table.check_shot,
        open_models=open_models,
        dialects=dialects,
        kind=kind,
        **({"size_made": table.made_size} if hasattr(table, "made_size") else {}),
    )


def _animatic_info() -> ProviderInfo:
    return ProviderInfo(
        name="animatic",
        default_model="sketch",
        models=("sketch",),
        key_env=None,
        capabilities_of=_animatic_capabilities,
        options_check=_animatic_options,
        factory=_animatic,
    )


def _table(module: str) -> _ModelTable:
    return cast("_ModelTable", importlib.import_module(f"{__name__}.{module}"))


def _openai_info() -> ProviderInfo:
    table = _table("openai_models")
    dialects = tuple(cast("Any", table).DIALECTS)
    return _network(table, "openai", "OpenAIVideoProvider", open_models=True, dialects=dialects)


def _comfyui_info() -> ProviderInfo:
    from cinestitch.providers import comfyui_workflow

    return ProviderInfo(
        name=comfyui_workflow.NAME,
        default_model=comfyui_workflow.DEFAULT_MODEL,
        models=(comfyui_workflow.DEFAULT_MODEL,),
        key_env=None,
        capabilities_of=comfyui_workflow.capabilities,
        options_check=comfyui_workflow.check_options,
        factory=_built("comfyui", "ComfyUIProvider"),
        shot_check=comfyui_workflow.check_shot,
        open_models=True,
        files_check=comfyui_workflow.check_files,
        file_identity=comfyui_workflow.file_identity,
    )


_ENTRIES: dict[str, tuple[Kind, Callable[[], ProviderInfo]]] = {
    "animatic": ("video", _animatic_info),
    "veo": ("video", lambda: _network(_table("veo_models"), "veo", "VeoProvider")),
    "openai": ("video", _openai_info),
    "fal": ("video", lambda: _network(_table("fal_models"), "fal", "FalProvider")),
    "runway": ("video", lambda: _network(_table("runway_models"), "runway", "RunwayProvider")),
    "comfyui": ("video", _comfyui_info),
    "gemini-image": (
        "image",
        lambda: _network(
            _table("gemini_image_models"),
            "gemini_image",
            "GeminiImageProvider",
            open_models=True,
            kind="image",
        ),
    ),
    "fal-image": (
        "image",
        lambda: _network(_table("fal_image_models"), "fal_image", "FalImageProvider", kind="image"),
    ),
}
"""Each provider's kind, and how its entry is made: a provider's model table is imported
when its entry is first asked for, so a project loads only the tables it names."""


class _Registry(Mapping[str, ProviderInfo]):
    """The registered providers by name, each entry made on first use."""

    def __init__(self) -> None:
        self._made: dict[str, ProviderInfo] = {}

    def __getitem__(self, name: str) -> ProviderInfo:
        info = self._made.get(name)
        if info is None:
            info = _ENTRIES[name][1]()
            if (info.name, info.kind) != (name, _ENTRIES[name][0]):
                raise AssertionError(f"provider entry {name} describes {info.name} ({info.kind})")
            self._made[name] = info
        return info

    def __iter__(self) -> Iterator[str]:
        return iter(_ENTRIES)

    def __len__(self) -> int:
        return len(_ENTRIES)

    def __contains__(self, name: object) -> bool:
        return name in _ENTRIES


PROVIDERS: Mapping[str, ProviderInfo] = _Registry()


def provider_names(kind: Kind | None = "video") -> list[str]:
    """The registered providers that make ``kind`` (video by default: what a segment may
    name; ``image``: what a keyframe may name; ``None``: all)."""
    return sorted(name for name, (k, _) in _ENTRIES.items() if kind is None or k == kind)


def provider_info(name: str) -> ProviderInfo:
    """The registered provider ``name``; a ProviderError lists the known ones otherwise."""
    info = PROVIDERS.get(name)
    if info is None:
        known = ", ".join(provider_names())
        raise ProviderError(f"unknown provider '{name}' — known: {known}")
    return info


def default_model(name: str) -> str:
    """The model used when a manifest names none; ``""`` for an unknown provider (the
    manifest checks report the unknown name itself)."""
    info = PROVIDERS.get(name)
    return info.default_model if info else ""


def _project_root(work_dir: Path) -> Path:
    """The project of a provider work dir ``<project>/.cinestitch/<name>``, else the cwd."""
    parent = Path(work_dir).absolute().parent
    return parent.parent if parent.name == ".cinestitch" else Path.cwd()


def get_provider(
    name: str,
    work_dir: Path,
    transport: Transport = DEFAULT_TRANSPORT,
    client: httpx.Client | None = None,
    *,
    project_root: Path | None = None,
) -> Provider:
    """Build the provider called ``name``; a ProviderError lists the known ones otherwise,
    or names the key variable a network provider misses."""
    info = provider_info(name)
    root = project_root if project_root is not None else _project_root(work_dir)
    return info.create(ProviderContext(work_dir, client, transport, root))
