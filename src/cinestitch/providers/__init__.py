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

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from cinestitch.errors import ProviderError
from cinestitch.providers import (
    comfyui_workflow,
    fal_image_models,
    fal_models,
    gemini_image_models,
    openai_models,
    runway_models,
    veo_models,
)
from cinestitch.providers.base import Capabilities, Kind, Provider, Transport
from cinestitch.providers.spec import DEFAULT_TRANSPORT, ProviderContext, ProviderInfo, Shot

if TYPE_CHECKING:
    import httpx

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


def _veo(context: ProviderContext) -> Provider:
    from cinestitch.providers.veo import VeoProvider

    return VeoProvider(context.work_dir, context.transport, context.client, context.project_root)


def _openai(context: ProviderContext) -> Provider:
    from cinestitch.providers.openai import OpenAIVideoProvider

    return OpenAIVideoProvider(
        context.work_dir, context.transport, context.client, context.project_root
    )


def _fal(context: ProviderContext) -> Provider:
    from cinestitch.providers.fal import FalProvider

    return FalProvider(context.work_dir, context.transport, context.client, context.project_root)


def _runway(context: ProviderContext) -> Provider:
    from cinestitch.providers.runway import RunwayProvider

    return RunwayProvider(context.work_dir, context.transport, context.client, context.project_root)


def _comfyui(context: ProviderContext) -> Provider:
    from cinestitch.providers.comfyui import ComfyUIProvider

    return ComfyUIProvider(
        context.work_dir, context.transport, context.client, context.project_root
    )


def _gemini_image(context: ProviderContext) -> Provider:
    from cinestitch.providers.gemini_image import GeminiImageProvider

    return GeminiImageProvider(
        context.work_dir, context.transport, context.client, context.project_root
    )


def _fal_image(context: ProviderContext) -> Provider:
    from cinestitch.providers.fal_image import FalImageProvider

    return FalImageProvider(
        context.work_dir, context.transport, context.client, context.project_root
    )


PROVIDERS: dict[str, ProviderInfo] = {
    info.name: info
    for info in (
        ProviderInfo(
            name="animatic",
            default_model="sketch",
            models=("sketch",),
            key_env=None,
            capabilities_of=_animatic_capabilities,
            options_check=_animatic_options,
            factory=_animatic,
        ),
        ProviderInfo(
            name=veo_models.NAME,
            default_model=veo_models.DEFAULT_MODEL,
            models=veo_models.MODELS,
            key_env=veo_models.KEY_ENV,
            capabilities_of=veo_models.capabilities,
            options_check=veo_models.check_options,
            factory=_veo,
            shot_check=veo_models.check_shot,
        ),
        ProviderInfo(
            name=openai_models.NAME,
            default_model=openai_models.DEFAULT_MODEL,
            models=openai_models.MODELS,
            key_env=openai_models.KEY_ENV,
            capabilities_of=openai_models.capabilities,
            options_check=openai_models.check_options,
            factory=_openai,
            shot_check=openai_models.check_shot,
            open_models=True,
            dialects=tuple(openai_models.DIALECTS),
        ),
        ProviderInfo(
            name=fal_models.NAME,
            default_model=fal_models.DEFAULT_MODEL,
            models=tuple(fal_models.MODELS),
            key_env=fal_models.KEY_ENV,
            capabilities_of=fal_models.capabilities,
            options_check=fal_models.check_options,
            factory=_fal,
            shot_check=fal_models.check_shot,
        ),
        ProviderInfo(
            name=runway_models.NAME,
            default_model=runway_models.DEFAULT_MODEL,
            models=tuple(runway_models.MODELS),
            key_env=runway_models.KEY_ENV,
            capabilities_of=runway_models.capabilities,
            options_check=runway_models.check_options,
            factory=_runway,
            shot_check=runway_models.check_shot,
        ),
        ProviderInfo(
            name=comfyui_workflow.NAME,
            default_model=comfyui_workflow.DEFAULT_MODEL,
            models=(comfyui_workflow.DEFAULT_MODEL,),
            key_env=None,
            capabilities_of=comfyui_workflow.capabilities,
            options_check=comfyui_workflow.check_options,
            factory=_comfyui,
            shot_check=comfyui_workflow.check_shot,
            open_models=True,
            files_check=comfyui_workflow.check_files,
            file_identity=comfyui_workflow.file_identity,
        ),
        ProviderInfo(
            name=gemini_image_models.NAME,
            default_model=gemini_image_models.DEFAULT_MODEL,
            models=tuple(gemini_image_models.MODELS),
            key_env=gemini_image_models.KEY_ENV,
            capabilities_of=gemini_image_models.capabilities,
            options_check=gemini_image_models.check_options,
            factory=_gemini_image,
            shot_check=gemini_image_models.check_shot,
            open_models=True,
            kind="image",
        ),
        ProviderInfo(
            name=fal_image_models.NAME,
            default_model=fal_image_models.DEFAULT_MODEL,
            models=tuple(fal_image_models.MODELS),
            key_env=fal_image_models.KEY_ENV,
            capabilities_of=fal_image_models.capabilities,
            options_check=fal_image_models.check_options,
            factory=_fal_image,
            shot_check=fal_image_models.check_shot,
            kind="image",
        ),
    )
}


def provider_names(kind: Kind | None = "video") -> list[str]:
    """The registered providers that make ``kind`` (video by default: what a segment may
    name; ``image``: what a keyframe may name; ``None``: all)."""
    return sorted(name for name, info in PROVIDERS.items() if kind is None or info.kind == kind)


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
