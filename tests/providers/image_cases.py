"""The image adapters as contract-suite cases: their fake servers, a valid keyframe request,
one the server refuses, and where their pictures are downloaded from.

Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from fake_fal_image import FakeFalImage
from fake_gemini_image import FakeGeminiImage
from fake_http import FakeServer
from fake_images import write_picture
from fake_veo import StorageServer

from cinestitch.providers import get_provider, provider_info
from cinestitch.providers.base import GenerationRequest, JobHandle, Provider, Transport

PROMPT = "a lighthouse on a cliff at dawn, wide shot"
POLL = 0.02
SIZE = (1280, 720)
IMAGE_CASES = {
    "gemini:3.1-flash": ("gemini-image", "gemini-3.1-flash-image"),
    "gemini:2.5-flash": ("gemini-image", "gemini-2.5-flash-image"),
    "fal:flux-dev": ("fal-image", "fal-ai/flux/dev"),
    "fal:flux-schnell": ("fal-image", "fal-ai/flux/schnell"),
    "fal:kontext": ("fal-image", "fal-ai/flux-pro/kontext/text-to-image"),
}


@dataclass
class ImageCase:
    name: str
    server: Any
    """The protocol's fake (``FakeGeminiImage`` or ``FakeFalImage``)."""
    download_server: FakeServer | None
    """Where pictures are fetched from (``None``: they come inside the answer)."""
    provider_name: str
    transport: Transport
    request: GenerationRequest
    work_dir: Path
    client: httpx.Client
    reference: Path

    @property
    def synchronous(self) -> bool:
        """The answer to the submission is the picture (no queue to poll)."""
        return self.download_server is None

    @property
    def key_variable(self) -> str:
        variable = provider_info(self.provider_name).key_env
        assert variable is not None
        return variable

    @property
    def submissions(self) -> int:
        count: int = self.server.submissions
        return count

    def provider(self, **transport_changes: Any) -> Provider:
        transport = replace(self.transport, **transport_changes)
        return get_provider(
            self.provider_name, self.work_dir, transport, self.client,
            project_root=self.work_dir.parent,
        )  # fmt: skip

    def invalid_request(self) -> GenerationRequest:
        """A request the server refuses: an empty prompt."""
        return replace(self.request, prompt=" ")

    def unknown_handle(self) -> JobHandle:
        if self.synchronous:
            return JobHandle(self.provider_name, "gi-nope", {"file": "gi-nope.img", "width": 8})
        base = f"{self.server.url}/fal-ai/flux/requests/nope"
        return JobHandle(self.provider_name, "nope", {"status_url": f"{base}/status",
                                                      "response_url": base})  # fmt: skip

    def outcome(self, outcome: str) -> None:
        """``ok``, ``policy`` (a content-policy refusal), ``failed``, ``never``."""
        if outcome == "policy":
            outcome = "policy" if self.synchronous else "moderated"
        self.server.outcome = outcome


def image_request(provider: str, model: str, **changes: Any) -> GenerationRequest:
    base = GenerationRequest(provider, model, PROMPT, 0.0, *SIZE, 24, 5, kind="image")
    return replace(base, **changes)


@contextlib.contextmanager
def open_image_case(name: str, tmp_path: Path) -> Iterator[ImageCase]:
    """Start the servers of ``name`` and yield its case (servers stopped after)."""
    provider, model = IMAGE_CASES[name]
    scratch = tmp_path / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    reference = write_picture(tmp_path / "character.png", 300, 400)
    with contextlib.ExitStack() as stack, httpx.Client() as client:
        cdn: StorageServer | None = None
        if provider == "gemini-image":
            server: Any = stack.enter_context(FakeGeminiImage(scratch))
            base = server.url + "/v1beta"
        else:
            cdn = stack.enter_context(StorageServer(scratch))
            server = stack.enter_context(FakeFalImage(scratch, cdn))
            base = server.url
        transport = Transport(base_url=base, poll_interval=POLL, timeout=2.0)
        work_dir = tmp_path / ".cinestitch" / provider
        yield ImageCase(name, server, cdn, provider, transport, image_request(provider, model),
                        work_dir, client, reference)  # fmt: skip
