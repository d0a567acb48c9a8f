"""fal.ai's queue, whatever the model makes: submit to ``{base}/{endpoint}``, then follow the
URLs the answer gives.

The submit answer names ``status_url``, ``response_url`` and ``cancel_url``; they are kept in
the job handle (so another process can poll) and never built here, because they use only
the model's owner/app, not the endpoint's sub-path. The status is 202 while the request is
queued or running and 200 when it has completed; the result then holds the output (a
``video``, ``images``), or an error (a content-policy rejection is a 422 with
``content_policy_violation``). ``FalQueue`` is the driver the video and image adapters share;
each reads its own result; ``FalDriver`` is the set-up, cancel and lookup their providers
share.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from cinestitch.errors import (
    GenerationFailedError,
    JobNotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from cinestitch.providers import _driver, _http
from cinestitch.providers.base import JobHandle, JobState, JobStatus, LookupResult, Transport
from cinestitch.providers.fal_models import KEY_ENV, PUBLIC_BASE_URL
from cinestitch.providers.spec import DEFAULT_TRANSPORT

POLL_INTERVAL = 5.0
"""Seconds between status requests when the manifest sets none."""
POLICY_WORDS = ("content_policy", "content policy", "nsfw", "safety")
REQUEST_ERRORS = (
    "request_timeout",
    "startup_timeout",
    "runner_scheduling_failure",
    "runner_connection_timeout",
    "runner_disconnected",
    "runner_connection_refused",
    "runner_connection_error",
    "runner_incomplete_response",
    "runner_server_error",
    "internal_error",
)
"""fal's request error types: a result answered with one of them is the request's final
failure (fal has already retried it), not a passing fault of the network."""


# -- pure ------------------------------------------------------------------------------------


def api_root(base_url: str | None) -> str:
    return (base_url or PUBLIC_BASE_URL).rstrip("/")


def build_submit_url(root: str, endpoint: str) -> str:
    return f"{root}/{endpoint.strip('/')}"


@dataclass(frozen=True)
class Submitted:
    request_id: str
    status_url: str
    response_url: str
    cancel_url: str | None


def parse_submit(data: Any) -> Submitted:
    """The submit answer; ``ValueError`` when it lacks the id or the URLs to follow."""
    if not isinstance(data, Mapping):
        raise ValueError("the answer is not a JSON object")
    request_id = data.get("request_id")
    status_url, response_url = data.get("status_url"), data.get("response_url")
    if not isinstance(request_id, str) or not request_id:
        raise ValueError("the answer has no request_id")
    if not (is_url(status_url) and is_url(response_url)):
        raise ValueError("the answer has no status_url and response_url")
    cancel = data.get("cancel_url")
    return Submitted(
        request_id, str(status_url), str(response_url), cancel if is_url(cancel) else None
    )


def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


@dataclass(frozen=True)
class QueueStatus:
    state: JobState
    raw: str
    position: int | None = None
    error: str | None = None


def parse_queue_status(data: Any) -> QueueStatus:
    """A status answer; an unknown word means: still running."""
    if not isinstance(data, Mapping):
        raise ValueError("the status is not a JSON object")
    raw = str(data.get("status") or "")
    word = raw.upper()
    error = data.get("error")
    said = _http.one_line(str(error)) if error else None
    if word == "IN_QUEUE":
        position = data.get("queue_position")
        return QueueStatus(JobState.QUEUED, raw, position if isinstance(position, int) else None)
    if word == "COMPLETED":
        return QueueStatus(JobState.FAILED if said else JobState.SUCCEEDED, raw, error=said)
    if word in ("FAILED", "ERROR"):
        return QueueStatus(JobState.FAILED, raw, error=said or f"status {raw}")
    if word in ("CANCELLED", "CANCELED", "CANCELLATION_REQUESTED"):
        return QueueStatus(JobState.CANCELLED, raw)
    return QueueStatus(JobState.RUNNING, raw)


def is_policy(said: str) -> bool:
    lowered = said.lower()
    return any(word in lowered for word in POLICY_WORDS)


def failure_text(said: str, status: int | None = None) -> str:
    """Why a request failed, in words: a content-policy rejection or the provider's error."""
    if is_policy(said):
        return (
            f"fal rejected the request (content policy: {said}) — edit the prompt or the "
            "reference image; not retried"
        )
    where = f"HTTP {status}: " if status is not None else ""
    return f"fal failed the job ({where}{said}) — see the message; not retried"


# -- the driver ------------------------------------------------------------------------------

Outcome = Callable[[JobHandle, Any], JobHandle]
"""(handle, the finished request's result JSON) -> the handle with what the result names
(an output URL); raises ``GenerationFailedError`` when the result holds no usable output."""


class FalQueue:
    """One key's requests on fal's queue (``api``, at ``root``): submit, poll to the result,
    cancel."""

    def __init__(self, name: str, transport: Transport, api: _http.Api, root: str) -> None:
        self.name = name
        self.transport = transport
        self.api = api
        self.root = root

    def submit(self, endpoint: str, body: Mapping[str, Any], state: Mapping[str, Any]) -> JobHandle:
        """Queue ``body`` at ``endpoint`` (the call that may cost money); the handle keeps
        the URLs to follow and ``state``."""
        data, _ = self.api.send_json(
            "POST",
            build_submit_url(self.root, endpoint),
            what="submission",
            create=True,
            json=dict(body),
            on_status=self._submit_status(endpoint),
        )
        try:
            sent = parse_submit(data)
        except ValueError as exc:
            raise ProviderUnavailableError(
                f"fal: the answer to the submission is unusable ({exc}) — the request may have "
                "been queued and billed; check the fal dashboard before resubmitting",
                may_be_billed=True,
            ) from None
        full: dict[str, Any] = {
            "endpoint": endpoint,
            "status_url": sent.status_url,
            "response_url": sent.response_url,
            **state,
            "submitted_at": time.time(),
        }
        if sent.cancel_url:
            full["cancel_url"] = sent.cancel_url
        return JobHandle(self.name, sent.request_id, full)

    def poll(self, handle: JobHandle, outcome: Outcome) -> JobStatus:
        """The request's status; once completed, its result read by ``outcome``."""
        return _driver.unless_overdue(handle, self.transport, self._poll_now(handle, outcome))

    def _poll_now(self, handle: JobHandle, outcome: Outcome) -> JobStatus:
        interval = self.transport.poll_interval or POLL_INTERVAL
        url = self.url(handle, "status_url")
        status, _ = _driver.polled(
            self.api,
            url,
            parse_queue_status,
            job=handle.job_id,
            speaker="fal",
            on_status=_lost(handle),
        )
        if status.state is JobState.FAILED:
            return JobStatus(handle.job_id, status.state, None, failure_text(status.error or ""))
        if status.state is not JobState.SUCCEEDED:
            text = f"queue position {status.position}" if status.position is not None else None
            return JobStatus(handle.job_id, status.state, None, text, poll_after=interval)
        try:
            learned = outcome(handle, self.result(handle))
        except GenerationFailedError as exc:
            return JobStatus(handle.job_id, JobState.FAILED, None, str(exc))
        return JobStatus(handle.job_id, JobState.SUCCEEDED, 1.0, None, handle=learned)

    def result(self, handle: JobHandle) -> Any:
        """The finished request's result JSON; ``GenerationFailedError`` when it failed."""
        data, _ = self.api.send_json(
            "GET", self.url(handle, "response_url"), what="result", on_status=_result_hook(handle)
        )
        return data

    def cancel(self, handle: JobHandle) -> None:
        """Best effort: ``PUT cancel_url`` (fal stops only requests still queued)."""
        url = handle.state.get("cancel_url")
        if isinstance(url, str):
            with contextlib.suppress(ProviderError):
                self.api.send_json("PUT", url, what="cancel")

    def url(self, handle: JobHandle, name: str) -> str:
        url = handle.state.get(name)
        if not isinstance(url, str):
            raise JobNotFoundError(
                f"fal: job {handle.job_id} has no {name} in its record — it cannot be reached",
                may_be_billed=True,
            )
        return url

    def _submit_status(self, endpoint: str) -> _http.StatusHook:
        host = urlsplit(self.root).netloc

        def hook(status: int, said: str) -> ProviderError | None:
            if status == 404:
                return ProviderError(
                    f"fal: no model '{endpoint}' at {host} (HTTP 404: {said}) — check "
                    "provider.model and provider.base_url",
                    no_job=True,
                )
            if status == 422:
                return GenerationFailedError(
                    f"fal: refused the request (HTTP 422: {said}) — fix the segment's settings; "
                    "fal may bill an invalid request",
                    no_job=True,
                    may_be_billed=True,
                )
            return None

        return hook


class FalDriver(_driver.HttpDriver):
    """What the drivers of fal's video and image adapters share: fal's root and ``Key`` auth,
    the queue, cancel and lookup."""

    unbilled_create = frozenset({500, 502, 503})
    """fal: 5xx answers are never billed (video-apis.md 4.1, from fal's FAQ); a 504, a gateway
    timing out, may have come after the request was queued, so it is looked up."""

    default_key_env = KEY_ENV

    def __init__(
        self,
        work_dir: Path,
        transport: Transport = DEFAULT_TRANSPORT,
        client: httpx.Client | None = None,
        project_root: Path | None = None,
    ) -> None:
        super().__init__(work_dir, transport, client, project_root)
        self._queue = FalQueue(self.name, self.transport, self._api, self.root)

    def _root_of(self, base_url: str | None) -> str:
        return api_root(base_url)

    def _auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Key {key}"}

    def cancel(self, handle: JobHandle) -> None:
        """Best effort: ``PUT cancel_url`` (fal stops only requests still queued)."""
        self._queue.cancel(handle)

    def lookup(self, idempotency_key: str) -> JobHandle | LookupResult:
        """fal's queue cannot be searched for a request."""
        return LookupResult.UNKNOWN


def _lost(handle: JobHandle) -> _http.StatusHook:
    return _http.job_lost(
        f"fal: request {handle.job_id}", "it expired or was made with another key"
    )


def _result_hook(handle: JobHandle) -> _http.StatusHook:
    """A result answered with an error is the request's own failure: a refusal (4xx) or a
    request error fal gave up retrying (5xx with its error type)."""
    lost = _lost(handle)

    def hook(status: int, said: str) -> ProviderError | None:
        if status in (401, 403, 429):
            return None
        if status in (404, 410):
            return lost(status, said)
        final = status < 500 or said.split(":", 1)[0].strip() in REQUEST_ERRORS
        if final:
            return GenerationFailedError(failure_text(said, status), may_be_billed=True)
        return None

    return hook
