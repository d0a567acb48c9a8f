"""The network adapters under test, each bound to a fake server of its protocol.

A ``Case`` is one adapter in one dialect: its server(s), a valid request, and the names of
its routes, so the contract suite can run the same behaviour against every one.
Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from adapter_cases import NEW_CASES, open_new_case
from fake_http import KEY, FakeServer
from fake_veo import FakeVeo, StorageServer
from fake_videos import FakeVideos
from PIL import Image

from cinestitch.providers import get_provider, provider_info
from cinestitch.providers.base import GenerationRequest, JobHandle, JobStatus, Provider, Transport

OPENAI_DIALECTS = ("openai", "litellm", "new-api", "json", "bare-key", "classic")
CASES = ("veo", *(f"openai:{d}" for d in OPENAI_DIALECTS))
CONTRACT_CASES = (*CASES, *NEW_CASES)
"""Every adapter the contract suite runs: veo, /v1/videos, fal (per model family), runway,
comfyui."""
POLL = 0.02


@dataclass
class Case:
    name: str
    server: Any
    """The protocol's fake (``FakeVeo`` or ``FakeVideos``)."""
    download_server: FakeServer
    download_route: str
    provider_name: str
    transport: Transport
    request: GenerationRequest
    work_dir: Path
    client: httpx.Client
    invalid: GenerationRequest | None = None
    """A request the server refuses (``None``: the valid one at 5 s)."""
    invalid_status: int = 400
    has_policy: bool = True
    """Whether the provider can reject content (a local ComfyUI cannot)."""
    unknown_handle: JobHandle | None = None
    """A handle of a job the server never heard of (``None``: a bare id ``nope``)."""
    not_found_words: str = "HTTP 404"
    """What the error for such a job says."""

    @property
    def key_variable(self) -> str | None:
        """The environment variable the provider reads its key from (``None``: no key)."""
        return provider_info(self.provider_name).key_env

    def invalid_request(self) -> GenerationRequest:
        return self.invalid or replace(self.request, seconds=5.0)

    def provider(self, **transport_changes: Any) -> Provider:
        transport = replace(self.transport, **transport_changes)
        return get_provider(
            self.provider_name,
            self.work_dir,
            transport,
            self.client,
            project_root=self.work_dir.parent,
        )

    @property
    def submissions(self) -> int:
        count: int = self.server.submissions
        return count

    def outcome(self, outcome: str) -> None:
        """``ok``, ``policy`` (a content-policy rejection), ``failed``, ``never``."""
        policy = "filtered" if isinstance(self.server, FakeVeo) else "moderated"
        self.server.outcome = policy if outcome == "policy" else outcome

    def retire(self) -> None:
        self.server.retired = True


def reference_png(path: Path, size: tuple[int, int] = (320, 180)) -> Path:
    Image.new("RGB", size, (200, 40, 40)).save(path)
    return path


@contextlib.contextmanager
def open_case(name: str, tmp_path: Path) -> Iterator[Case]:
    """Start the servers of ``name`` and yield its case (servers stopped after)."""
    clips = tmp_path / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    image = reference_png(tmp_path / "ref.png")
    with contextlib.ExitStack() as stack, httpx.Client() as client:
        if name in NEW_CASES:
            o = open_new_case(name, stack, clips, image, tmp_path / ".cinestitch")
            work_dir = tmp_path / ".cinestitch" / o.provider_name
            yield Case(name, o.server, o.download_server, o.download_route, o.provider_name,
                       o.transport, o.request, work_dir, client, o.invalid, o.invalid_status,
                       o.has_policy, o.unknown_handle, o.not_found_words)  # fmt: skip
            return
        if name == "veo":
            storage = stack.enter_context(StorageServer(clips))
            server: FakeServer = stack.enter_context(FakeVeo(clips, storage))
            download_server: FakeServer = storage
            route, provider = "blob", "veo"
            request = GenerationRequest(
                "veo",
                "veo-3.1-fast-generate-preview",
                "a red kite over dunes",
                4.0,
                1280,
                720,
                24,
                0,
                reference_image=image,
            )
            transport = Transport(base_url=server.url + "/v1beta", poll_interval=POLL, timeout=2.0)
        else:
            dialect = name.split(":", 1)[1]
            server = download_server = stack.enter_context(FakeVideos(clips, dialect))
            route, provider = ("file" if dialect == "classic" else "content"), "openai"
            request = GenerationRequest(
                "openai",
                "sora-2",
                "a red kite over dunes",
                4.0,
                1280,
                720,
                24,
                0,
                reference_image=image,
            )
            transport = Transport(
                base_url=server.url + "/v1", poll_interval=POLL, timeout=2.0, dialect=dialect
            )
        yield Case(
            name,
            server,
            download_server,
            route,
            provider,
            transport,
            request,
            tmp_path / ".cinestitch" / provider,
            client,
        )


def run_job(provider: Provider, handle: JobHandle, limit: float = 20.0) -> tuple[JobStatus, int]:
    """Poll as the build does (waiting what each status asks) until final: (status, polls)."""
    end = time.monotonic() + limit
    polls = 0
    while True:
        status = provider.poll(handle)
        polls += 1
        handle = status.handle or handle
        if status.state.is_final:
            return replace(status, handle=handle), polls
        assert time.monotonic() < end, f"job not final after {limit} s"
        time.sleep(status.poll_after if status.poll_after is not None else POLL)


def no_key_in(*texts: object) -> bool:
    return all(KEY not in str(t) and KEY not in repr(t) for t in texts)
