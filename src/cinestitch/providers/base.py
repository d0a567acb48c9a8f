"""What every provider speaks: a request, a job handle, a job status, and the protocol.

A provider is asynchronous by contract (submit -> poll -> download) because every real video
API is; the embedded animatic provider runs jobs in a worker process so the same path is
exercised offline.

A submitted job is named by a ``JobHandle``: the provider's id plus whatever state the
provider needs to find the job again (fal's status and response URLs, Veo's operation name,
an output URL and when it expires). Handles are plain JSON, kept in the job journal, so a
build resumed in another process polls and downloads without submitting again.

A request is for a clip (``kind="video"``) or a still (``kind="image"``: a keyframe). Stills
go through the same protocol, so the paid-once machinery (journal, claims, cache, lock)
serves them unchanged; an image provider's ``download`` writes a PNG of the requested size.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

Kind = Literal["video", "image"]
"""What a provider makes: clips, or stills (keyframes)."""


@dataclass(frozen=True)
class GenerationRequest:
    """Everything that determines a provider's output for one segment (or one keyframe)."""

    provider: str
    model: str
    prompt: str
    seconds: float
    width: int
    height: int
    fps: int
    seed: int
    reference_image: Path | None = None
    """The first frame (the previous segment's last frame, or a project image)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    take: int = 1
    """Which take of the same request this is: takes differ, equal takes are the same."""
    end_image: Path | None = None
    """The last frame the clip should end on, where the model accepts one."""
    negative_prompt: str | None = None
    extend_from: str | None = None
    """The provider's own URI of the clip to continue natively (Veo extend), taken from the
    upstream job's handle (``state["video_uri"]``); ``None``: no native continuation."""
    kind: Kind = "video"
    """``image``: a still (``seconds`` is 0, ``fps`` unused; ``reference_image`` is an optional
    picture to start from or restyle)."""
    reference_images: tuple[Path, ...] = ()
    """Pictures of characters and objects the output should show (where the model takes
    them, within ``Capabilities.max_reference_images``)."""

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class Transport:
    """How to reach a provider: never part of a request's identity (its key), so moving to
    another gateway or changing a timeout regenerates nothing."""

    base_url: str | None = None
    """``None``: the provider's public endpoint."""
    key_env: str | None = None
    """The environment variable holding the key; ``None``: the provider's default."""
    timeout: float = 60.0
    """Seconds for one HTTP request."""
    poll_interval: float | None = None
    """Seconds between polls; ``None``: the provider's own cadence (and its hints)."""
    job_timeout: float = 3600.0
    """The longest a job may take from submission to its end."""
    max_in_flight: int | None = None
    """Jobs at once at this provider, across every process of the build."""
    dialect: str | None = None
    """The gateway's variant of the provider's protocol (openai: ``openai``, ``litellm``,
    ``new-api``, ``json``, ``bare-key``, ``classic``); ``None``: the provider's own."""


@dataclass(frozen=True)
class JobHandle:
    """A submitted job: the provider's id and the state needed to reach it again (JSON)."""

    provider: str
    job_id: str
    state: Mapping[str, Any] = field(default_factory=dict)

    def with_state(self, **changes: Any) -> JobHandle:
        return replace(self, state={**self.state, **changes})

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "job_id": self.job_id, "state": dict(self.state)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobHandle:
        return cls(str(data["provider"]), str(data["job_id"]), dict(data.get("state") or {}))


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Cost:
    """What a provider says a job cost, in its own unit."""

    amount: float
    unit: str = "USD"
    """``USD`` or ``credits`` (converted with the price table's rate)."""


CREDIT_USD = {"runway": 0.01}
"""USD per credit, for providers that bill in credits."""


@dataclass(frozen=True)
class JobStatus:
    """One poll's answer, normalised across providers."""

    job_id: str
    state: JobState
    progress: float | None = None
    """0.0-1.0 when the provider reports it."""
    message: str | None = None
    """The provider's own words on failure (or progress text)."""
    cost_usd: float | None = None
    """Actual cost in USD when the provider reports one (converted from ``cost``)."""
    handle: JobHandle | None = None
    """The handle with what this poll learned (an output URL, its expiry), if it changed."""
    poll_after: float | None = None
    """Seconds the provider asks us to wait before the next poll."""
    cost: Cost | None = None
    """The reported cost in the provider's unit."""


class LookupResult(enum.Enum):
    """What a provider can tell about a submission whose answer was lost."""

    UNKNOWN = "unknown"
    """The provider cannot list jobs: it might exist."""
    ABSENT = "absent"
    """The provider knows every job it has, and there is none for this request."""


@dataclass(frozen=True)
class Capabilities:
    """What a provider/model accepts; manifest checks read this before anything is paid."""

    min_seconds: float
    max_seconds: float
    allowed_seconds: tuple[float, ...] | None = None
    """When set, only these durations are accepted."""
    max_width: int = 3840
    max_height: int = 2160
    accepts_reference_image: bool = True
    accepts_end_image: bool = False
    extends: bool = False
    """Native continuation of a previous clip (e.g. Veo extend)."""
    extends_seconds: tuple[float, float] | None = None
    """The lengths of clip it can continue natively (``None``: any it made)."""
    audio: bool = False
    """Returns a soundtrack of its own."""
    seed: bool = True
    fps: int | None = None
    """The frame rate it returns; ``None``: the requested one."""
    max_prompt_chars: int | None = None
    sizes: tuple[str, ...] | None = None
    """When set, the only ``WxH`` sizes it makes (others are rejected at load time)."""
    kind: Kind = "video"
    """``image``: the model makes stills (keyframes), never clips; its seconds are 0."""
    max_reference_images: int = 0
    """How many ``reference_images`` (characters, objects) a request may carry."""


class Provider(Protocol):
    """submit -> poll until final -> download. Implementations raise ``ProviderError``s.

    Errors from ``submit`` say whether they prove that no job was created
    (``ProviderError.no_job``): only then may the caller forget the submission.
    """

    name: str

    def submit(self, request: GenerationRequest, idempotency_key: str) -> JobHandle:
        """Start a job; return its handle. This is the call that may cost money.

        ``idempotency_key`` (the request key) is passed to providers that accept one, and
        recorded where the provider can be asked for it later (``lookup``)."""
        ...

    def poll(self, handle: JobHandle) -> JobStatus: ...

    def download(self, handle: JobHandle, dest: Path) -> None:
        """Write the finished video (an image provider: a PNG) to ``dest`` atomically."""
        ...

    def cancel(self, handle: JobHandle) -> None:
        """Ask the provider to stop the job (best effort)."""
        ...

    def lookup(self, idempotency_key: str) -> JobHandle | LookupResult:
        """The job submitted for ``idempotency_key`` whose submit answer was lost: its
        handle, ``ABSENT`` when the provider can tell there is none, else ``UNKNOWN``."""
        ...
