"""The network adapters under test, each bound to a fake server of its protocol.

A ``Case`` is one adapter in one dialect: its server(s), a valid request, and the names of
its routes, so the contract suite can run the same behaviour against every one.
Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from adapter_cases import NEW_CASES, PROMPT, Opened, open_new_case
from fake_http import KEY, FakeServer, Fault, free_port
from fake_veo import FakeVeo, StorageServer
from fake_videos import FakeVideos
from PIL import Image

from cinestitch.errors import GenerationFailedError, ProviderError, ProviderUnavailableError
from cinestitch.providers import get_provider, provider_info
from cinestitch.providers.base import (
    GenerationRequest,
    JobHandle,
    JobState,
    JobStatus,
    Provider,
    Transport,
)

OPENAI_DIALECTS = ("openai", "litellm", "new-api", "json", "bare-key", "classic")
CASES = ("veo", *(f"openai:{d}" for d in OPENAI_DIALECTS))
CONTRACT_CASES = (*CASES, *NEW_CASES)
"""Every adapter the contract suite runs: veo, /v1/videos, fal (per model family), runway,
comfyui."""
POLL = 0.02
UNBILLED_CREATE = {
    "veo": {503},
    "runway": {502, 503},
    "fal": {500, 502, 503},
    "fal-image": {500, 502, 503},
}
"""5xx answers to a submission that the provider's documentation says made no job (the
protocol sheet: Gemini API 503 UNAVAILABLE; Runway 502/503 overload; fal "5xx never
billed"): those are retried. Every other 5xx may have made a job, a gateway's 504 and
Google's 500 INTERNAL included."""


@dataclass
class Case(Opened):
    """One adapter in one dialect, its servers started: what ``Opened`` says of it (the
    protocol's fake as ``server``, ``FakeVeo``, ``FakeVideos``, …), with its name, the work
    dir of its provider and the client the provider sends with."""

    name: str = field(kw_only=True)
    work_dir: Path = field(kw_only=True)
    client: httpx.Client = field(kw_only=True)

    @property
    def key_variable(self) -> str | None:
        """The environment variable the provider reads its key from (``None``: no key)."""
        return provider_info(self.provider_name).key_env

    def invalid_request(self) -> GenerationRequest:
        return self.invalid

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
        else:
            o = _open_first_case(name, stack, clips, image)
        work_dir = tmp_path / ".cinestitch" / o.provider_name
        yield Case(**vars(o), name=name, work_dir=work_dir, client=client)


def _open_first_case(name: str, stack: contextlib.ExitStack, clips: Path, image: Path) -> Opened:
    """Start the fake server(s) of veo or of one /v1/videos dialect; the server refuses a
    request for 5 s with a 400."""
    if name == "veo":
        storage = stack.enter_context(StorageServer(clips))
        server: FakeServer = stack.enter_context(FakeVeo(clips, storage))
        download_server: FakeServer = storage
        route, provider, model = "blob", "veo", "veo-3.1-fast-generate-preview"
        transport = Transport(base_url=server.url + "/v1beta", poll_interval=POLL, timeout=2.0)
    else:
        dialect = name.split(":", 1)[1]
        server = download_server = stack.enter_context(FakeVideos(clips, dialect))
        route = "file" if dialect == "classic" else "content"
        provider, model = "openai", "sora-2"
        transport = Transport(
            base_url=server.url + "/v1", poll_interval=POLL, timeout=2.0, dialect=dialect
        )
    request = GenerationRequest(
        provider, model, PROMPT, 4.0, 1280, 720, 24, 0, reference_image=image
    )
    return Opened(server, download_server, route, provider, transport, request,
                  replace(request, seconds=5.0), 400)  # fmt: skip


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


# -- what the video and image contract suites check alike ----------------------------------


@contextlib.contextmanager
def keys_and_no_waits(monkeypatch: pytest.MonkeyPatch, *variables: str) -> Iterator[None]:
    """The fakes' key in each of ``variables``, and retries that never sleep (stamina's test
    mode, with tries enough for every fault a test injects)."""
    for variable in variables:
        monkeypatch.setenv(variable, KEY)
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


def generate(case: Any, dest: Path) -> Path:
    """submit -> poll until final -> download to ``dest``, which must succeed."""
    provider = case.provider()
    handle = provider.submit(case.request, "key-1")
    status, _ = run_job(provider, handle)
    assert status.state is JobState.SUCCEEDED, status
    assert status.handle is not None
    provider.download(status.handle, dest)
    return dest


def resume_elsewhere(case: Any, dest: Path) -> Path:
    """Submit, keep the handle as JSON, then poll it to the end and download it to ``dest``
    with a new provider (as another process would), which must succeed."""
    handle = case.provider().submit(case.request, "key-1")
    stored = json.loads(json.dumps(handle.to_json()))
    fresh = case.provider()
    status, _ = run_job(fresh, JobHandle.from_json(stored))
    assert status.state is JobState.SUCCEEDED and status.handle is not None
    fresh.download(status.handle, dest)
    return dest


def ambiguous_submit(
    case: Any, match: str | None = None, **transport_changes: Any
) -> ProviderUnavailableError:
    """Submit ``case.request``; it must fail as a submission that may have made (and billed)
    a job, so that nothing resubmits it. The error is returned for further checks."""
    with pytest.raises(ProviderUnavailableError, match=match) as caught:
        case.provider(**transport_changes).submit(case.request, "key-1")
    assert caught.value.may_be_billed and not caught.value.no_job
    return caught.value


def check_429_on_create_is_retried(case: Any, dest: Path) -> None:
    """A 429 refusal (with Retry-After) twice: retried, and one job is made."""
    body = {"error": {"code": 429, "message": "Resource has been exhausted",
                      "status": "RESOURCE_EXHAUSTED"}}  # fmt: skip
    case.server.inject("create", Fault("status", 429, body, {"Retry-After": "1"}, times=2))
    generate(case, dest)
    assert case.server.requests_to("create") == 3 and case.submissions == 1


def check_5xx_on_create(case: Any, status: int, dest: Path) -> None:
    """A 5xx answer to the create call. Where the provider documents the status as making no
    job (``unbilled_create``), it is retried and one job is made, and, when it persists,
    the error proves no job. Any other may have made a job: raised at once, asked once,
    with the status and the provider's words."""
    said = {"error": {"message": "upstream hiccup"}}
    documented = UNBILLED_CREATE.get(case.provider_name, set())
    assert getattr(case.provider(), "unbilled_create", frozenset()) == documented
    if status in documented:
        case.server.inject("create", Fault("status", status, said, times=2))
        generate(case, dest)
        assert case.server.requests_to("create") == 3 and case.submissions == 1
        case.server.inject("create", Fault("status", status, said, times=1000))
        with pytest.raises(ProviderUnavailableError, match=f"HTTP {status}") as caught:
            case.provider().submit(case.request, "key-2")
        assert caught.value.no_job and not caught.value.may_be_billed
        assert case.submissions == 1
        return
    case.server.inject("create", Fault("status", status, said))
    error = ambiguous_submit(case)
    assert f"HTTP {status}" in str(error) and "upstream hiccup" in str(error)
    assert case.server.requests_to("create") == 1


def check_refused_connection_proves_no_job(case: Any) -> None:
    """Nothing listening: retried, then an error that proves no job was made."""
    provider = case.provider(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailableError, match=r"cannot connect to 127\.0\.0\.1") as caught:
        provider.submit(case.request, "key-1")
    assert caught.value.no_job and not caught.value.may_be_billed


def check_slow_poll_is_retried(case: Any) -> None:
    """A poll slower than the timeout is asked again, and the job still succeeds."""
    provider = case.provider(timeout=0.3)
    handle = provider.submit(case.request, "key-1")
    case.server.inject("poll", Fault("slow", delay=0.6))
    status, _ = run_job(provider, handle)
    assert status.state is JobState.SUCCEEDED


def check_job_timeout(case: Any) -> None:
    """A job unfinished after provider.job_timeout stops with a message saying so, as one
    that may be billed (it stays journaled), never as FAILED (which would forget it and pay
    for it again); the provider is asked first, so a job it has finished meanwhile is taken,
    however late the poll."""
    case.outcome("never")
    provider = case.provider(job_timeout=0.2)
    handle = provider.submit(case.request, "key-1")
    time.sleep(0.3)
    asked = case.server.requests_to("poll")
    with pytest.raises(ProviderError) as caught:
        provider.poll(handle)
    assert case.server.requests_to("poll") == asked + 1
    assert caught.value.may_be_billed and not caught.value.no_job
    message = str(caught.value)
    assert "unfinished after" in message and "job_timeout" in message
    assert "journaled" in message and "\n" not in message
    case.outcome("ok")  # the provider finishes it after all: its final answer is taken
    for _ in range(20):
        with contextlib.suppress(ProviderError):
            status = provider.poll(handle)
            if status.state.is_final:
                break
        time.sleep(POLL)
    assert status.state is JobState.SUCCEEDED


def check_refused_in_words(case: Any, starts: str, dest: Path) -> None:
    """A job the provider refuses for its content ends FAILED with words that begin with
    ``starts``, and its download is refused too (nothing is written at ``dest``)."""
    provider = case.provider()
    handle = provider.submit(case.request, "key-1")
    status, _ = run_job(provider, handle)
    assert status.state is JobState.FAILED and status.message
    assert status.message.startswith(starts)
    with pytest.raises(GenerationFailedError, match="content policy"):
        provider.download(handle, dest)


def refused_key_message(case: Any, variable: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Submit with a wrong key in ``variable``: the error is one line naming the variable,
    without the key, and proves no job. Its message is returned for further checks."""
    monkeypatch.setenv(variable, "sk-wrong-key-000000")
    with pytest.raises(ProviderError) as caught:
        case.provider().submit(case.request, "key-1")
    message = str(caught.value)
    assert variable in message and "\n" not in message
    assert "sk-wrong-key-000000" not in message
    assert caught.value.no_job and case.submissions == 0
    return message


def check_key_hidden(case: Any, seen: list[object], error: BaseException, logs: str) -> None:
    """The key is in none of ``seen``, ``error`` (with its cause and context), the logs, nor
    any file under the project the provider wrote."""
    seen = [*seen, error, error.__cause__, error.__context__]
    files = [p.read_bytes() for p in case.work_dir.parent.rglob("*") if p.is_file()]
    assert no_key_in(*seen, logs)
    assert all(KEY.encode() not in data for data in files)


def check_missing_key_is_one_line(
    case: Any, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``variable`` unset and no .env, building the provider fails naming it."""
    monkeypatch.delenv(variable)
    with pytest.raises(
        ProviderError, match=f"no API key — set the environment variable {variable}"
    ):
        case.provider()
