"""What every provider speaks: a request, a job status, capabilities, and the protocol.

A provider is asynchronous by contract (submit -> poll -> download) because every real video
API is; the embedded animatic provider runs jobs in a worker process so the same path is
exercised offline.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class GenerationRequest:
    """Everything that determines a provider's output for one segment."""

    provider: str
    model: str
    prompt: str
    seconds: float
    width: int
    height: int
    fps: int
    seed: int
    reference_image: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    take: int = 1
    """Which take of the same request this is: takes differ, equal takes are the same."""

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


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
class JobStatus:
    """One poll's answer, normalised across providers."""

    job_id: str
    state: JobState
    progress: float | None = None
    """0.0-1.0 when the provider reports it."""
    message: str | None = None
    """The provider's own words on failure (or progress text)."""
    cost_usd: float | None = None
    """Actual cost when the provider reports one."""


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


class Provider(Protocol):
    """submit -> poll until final -> download. Implementations raise ``ProviderError``s."""

    name: str

    def capabilities(self, model: str) -> Capabilities: ...

    def check_options(self, model: str, options: Mapping[str, Any]) -> list[str]:
        """Problems with a model name or provider options, one message each (empty: fine).

        Messages name the option key first, e.g. ``"delay: must be a number >= 0"``.
        """
        ...

    def submit(self, request: GenerationRequest) -> str:
        """Start a job; return its id. This is the call that may cost money."""
        ...

    def poll(self, job_id: str) -> JobStatus: ...

    def download(self, job_id: str, dest: Path) -> None:
        """Write the finished video to ``dest`` atomically."""
        ...
