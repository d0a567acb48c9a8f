"""The OpenAI ``/v1/videos`` shape: models, sizes, durations and the gateways' dialects.

OpenAI's own Videos API (Sora 2) was shut down on 2026-09-24; the shape lives on in
gateways (LiteLLM, new-api/one-api, resellers), each with its own differences. A *dialect*
names one set of them; it says how to reach a gateway, not what it makes, so it is a
transport setting (``provider.dialect``), never part of a request key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cinestitch.providers.base import Capabilities
from cinestitch.providers.spec import Shot

NAME = "openai"
KEY_ENV = "OPENAI_API_KEY"
DEFAULT_MODEL = "sora-2"
PUBLIC_BASE_URL = "https://api.openai.com/v1"
SHUTDOWN_DATE = "2026-09-24"
SORA_2 = ("sora-2", "sora-2-2025-10-06", "sora-2-2025-12-08")
SORA_2_PRO = ("sora-2-pro", "sora-2-pro-2025-10-06")
MODELS = SORA_2 + SORA_2_PRO
SECONDS = (4.0, 8.0, 12.0, 16.0, 20.0)
"""4/8/12 in the SDK; 16 and 20 added by the 2026 guide for both models."""
SIZES_720P = ("720x1280", "1280x720")
SIZES_PRO = (*SIZES_720P, "1024x1792", "1792x1024", "1920x1080", "1080x1920")
OPTION_KEYS: tuple[str, ...] = ()
"""The create call has no options beyond prompt, model, seconds, size and the image."""


@dataclass(frozen=True)
class Dialect:
    """One gateway's differences from OpenAI's own ``/v1/videos``."""

    name: str
    auth: Literal["bearer", "bare"] = "bearer"
    """``Authorization: Bearer <key>``, or the bare key (APIYI and the classic workflow)."""
    path: str = "/v1/videos"
    """Create is ``POST path``; retrieve ``GET path/{id}``; content ``GET path/{id}/content``."""
    body: Literal["multipart", "json"] = "multipart"
    """multipart with ``input_reference`` as a file part, or JSON with
    ``input_reference: {"image_url": "data:..."}``."""
    time_unit: Literal["s", "ms"] = "s"
    """Unit of ``created_at`` / ``expires_at``."""
    lists: bool = False
    """``GET path`` lists jobs (so a lost submission can be looked up)."""
    content: bool = True
    """The video is at ``GET path/{id}/content``; otherwise at the URL the job object names
    (``video_url``, ``url``, ``result_url``, ``output``…)."""
    idempotency_header: bool = False
    """Send the request key as ``Idempotency-Key``. No ``/v1/videos`` server documents one,
    and a server that replays a key's first answer would replay a failed job forever to a
    build that resubmits the same request: off for every dialect known so far."""


DIALECTS = {
    d.name: d
    for d in (
        Dialect("openai", lists=True),
        Dialect("litellm"),
        Dialect("new-api", time_unit="ms"),
        Dialect("json", body="json"),
        Dialect("bare-key", auth="bare"),
        Dialect("classic", auth="bare", path="/v1/video/generations", body="json", content=False),
    )
}
DEFAULT_DIALECT = "openai"

QUEUED = ("queued", "submitted", "pending", "not_start", "not_started")
RUNNING = ("in_progress", "processing", "running", "unknown", "generating")
"""``unknown`` (new-api) means: keep polling."""
SUCCEEDED = ("completed", "succeeded", "success", "succeed")
FAILED = ("failed", "failure", "error", "expired")
CANCELLED = ("cancelled", "canceled")


def sizes_of(model: str) -> tuple[str, ...] | None:
    if model in SORA_2:
        return SIZES_720P
    if model in SORA_2_PRO:
        return SIZES_PRO
    return None


def capabilities(model: str) -> Capabilities:
    """OpenAI's models strictly; a gateway's other models as the gateway decides."""
    sizes = sizes_of(model)
    if sizes is None:
        return Capabilities(min_seconds=1, max_seconds=20, audio=True, seed=False)
    return Capabilities(
        min_seconds=min(SECONDS),
        max_seconds=max(SECONDS),
        allowed_seconds=SECONDS,
        max_width=1920,
        max_height=1920,
        accepts_reference_image=True,
        accepts_end_image=False,
        extends=False,
        audio=True,
        seed=False,
        fps=None,
        sizes=sizes,
    )


def check_options(model: str, options: Mapping[str, Any]) -> list[str]:
    return [
        f"{key}: unknown option — the openai create call takes no options "
        "(model, seconds and size come from the manifest)"
        for key in sorted(options)
    ]


def check_shot(model: str, options: Mapping[str, Any], shot: Shot) -> list[str]:
    return []


def dialect_of(name: str | None) -> Dialect:
    """The named dialect; ``ValueError`` naming the known ones otherwise."""
    if name is None:
        return DIALECTS[DEFAULT_DIALECT]
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect '{name}' — openai has: {', '.join(DIALECTS)}") from None
