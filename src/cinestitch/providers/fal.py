"""fal.ai's queue: submit to ``{base}/{endpoint}``, then follow the URLs the answer gives.

The submit answer names ``status_url``, ``response_url`` and ``cancel_url``; they are kept in
the job handle (so another process can poll) and never built here, because they use only
the model's owner/app, not the endpoint's sub-path. The status is 202 while the request is
queued or running and 200 when it has completed; the result then holds ``video.url``, or an
error (a content-policy rejection is a 422 with ``content_policy_violation``). Pure
``build_*`` / ``parse_*`` functions hold the wire format; ``FalProvider`` only sends.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
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
from cinestitch.providers import _http
from cinestitch.providers import fal_models as models
from cinestitch.providers._images import PreparedImage, prepare_image, within_bytes
from cinestitch.providers.base import (
    GenerationRequest,
    JobHandle,
    JobState,
    JobStatus,
    LookupResult,
    Transport,
)
from cinestitch.providers.fal_models import FalModel
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


# -- pure: requests --------------------------------------------------------------------------


def api_root(base_url: str | None) -> str:
    return (base_url or models.PUBLIC_BASE_URL).rstrip("/")


def build_submit_url(root: str, endpoint: str) -> str:
    return f"{root}/{endpoint.strip('/')}"


@dataclass(frozen=True)
class Route:
    """Where one request goes, and the names its frames take there."""

    endpoint: str
    first_field: str | None
    end_field: str | None
    extend_field: str | None = None


def route_of(m: FalModel, request: GenerationRequest) -> Route:
    """The endpoint for ``request``: a continuation, first+last frames, a first frame, or text
    alone; ``ValueError`` when the model cannot make it."""
    if request.extend_from:
        if m.extend_field is None:
            raise ValueError(f"{m.endpoint} cannot continue a clip")
        return Route(m.endpoint, None, None, m.extend_field)
    if request.reference_image is None:
        if request.end_image is not None:
            raise ValueError(f"{m.family} needs a first frame to go with the end frame")
        if m.text_endpoint is None:
            raise ValueError(f"{m.endpoint} makes video only from a first frame")
        return Route(m.text_endpoint, None, None)
    if request.end_image is not None:
        if m.end_field is None:
            raise ValueError(f"{m.endpoint} takes no end frame")
        if m.end_endpoint is not None:
            return Route(m.end_endpoint, m.end_first_field or m.image_field, m.end_field)
        return Route(m.endpoint, m.image_field, m.end_field)
    return Route(m.endpoint, m.image_field, None)


def build_input(
    m: FalModel,
    route: Route,
    request: GenerationRequest,
    first: PreparedImage | None = None,
    last: PreparedImage | None = None,
) -> dict[str, Any]:
    """The model's JSON input for ``request`` (images already prepared, sent as data URIs)."""
    options = request.options
    body: dict[str, Any] = {"prompt": request.prompt}
    if route.extend_field and request.extend_from:
        body[route.extend_field] = request.extend_from
    if route.first_field and first is not None:
        body[route.first_field] = first.data_uri
    if route.end_field and last is not None:
        body[route.end_field] = last.data_uri
    body["duration"] = models.duration_value(m, request.seconds)
    resolution = models.pick_resolution(m, request.width, request.height, options)
    if resolution is not None:
        body["resolution"] = resolution
    with_image = route.first_field is not None or route.extend_field is not None
    aspect = models.pick_aspect(m, request.width, request.height, options)
    if aspect is not None and (m.aspect_with_image or not with_image):
        body["aspect_ratio"] = aspect
    if m.seed:
        body["seed"] = request.seed
    if m.audio_field and isinstance(options.get("audio"), bool):
        body[m.audio_field] = options["audio"]
    negative = request.negative_prompt or options.get("negative_prompt")
    if m.negative_field and isinstance(negative, str) and negative:
        body[m.negative_field] = negative
    for name, wire in m.flags.items():
        if isinstance(options.get(name), bool):
            body[wire] = options[name]
    for name, (wire, _, _) in m.numbers.items():
        if name in options:
            body[wire] = options[name]
    return body


# -- pure: responses -------------------------------------------------------------------------


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
    if not (_is_url(status_url) and _is_url(response_url)):
        raise ValueError("the answer has no status_url and response_url")
    cancel = data.get("cancel_url")
    return Submitted(
        request_id, str(status_url), str(response_url), cancel if _is_url(cancel) else None
    )


def _is_url(value: Any) -> bool:
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


def parse_video_url(data: Any) -> str | None:
    """``video.url`` of a result (``videos[0].url`` in some schemas)."""
    if not isinstance(data, Mapping):
        return None
    video = data.get("video")
    if not isinstance(video, Mapping):
        videos = data.get("videos")
        video = videos[0] if isinstance(videos, list) and videos else None
    url = video.get("url") if isinstance(video, Mapping) else None
    return url if _is_url(url) else None


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


class FalProvider:
    """Models on fal.ai's queue; ``transport`` says where and how, ``client`` sends."""

    name = models.NAME

    def __init__(
        self,
        work_dir: Path,
        transport: Transport = DEFAULT_TRANSPORT,
        client: httpx.Client | None = None,
        project_root: Path | None = None,
    ) -> None:
        self.work_dir = Path(work_dir)
        self.transport = transport
        self.root = api_root(transport.base_url)
        self.key_env = transport.key_env or models.KEY_ENV
        key = _http.read_key(self.name, self.key_env, project_root)
        self._api = _http.Api(
            self.name,
            client or _http.shared_client(),
            transport,
            {"Authorization": f"Key {key.reveal()}"},
            self.root,
            self.key_env,
        )

    def __repr__(self) -> str:
        return f"FalProvider({self.root!r})"

    def submit(self, request: GenerationRequest, idempotency_key: str) -> JobHandle:
        m = self._model(request.model)
        if m.max_prompt_chars is not None and len(request.prompt) > m.max_prompt_chars:
            raise GenerationFailedError(
                f"fal: the prompt has {len(request.prompt)} characters; {m.family} takes "
                f"{m.max_prompt_chars} — shorten the segment's template",
                no_job=True,
            )
        try:
            route = route_of(m, request)
        except ValueError as exc:
            raise GenerationFailedError(f"fal: {exc} — change the segment", no_job=True) from None
        first = self._image(m, request.reference_image) if route.first_field else None
        last = self._image(m, request.end_image) if route.end_field else None
        body = build_input(m, route, request, first, last)
        data, _ = self._api.send_json(
            "POST",
            build_submit_url(self.root, route.endpoint),
            what="submission",
            create=True,
            json=body,
            on_status=self._submit_status(route.endpoint),
        )
        try:
            sent = parse_submit(data)
        except ValueError as exc:
            raise ProviderUnavailableError(
                f"fal: the answer to the submission is unusable ({exc}) — the request may have "
                "been queued and billed; check the fal dashboard before resubmitting",
                may_be_billed=True,
            ) from None
        state: dict[str, Any] = {
            "endpoint": route.endpoint,
            "status_url": sent.status_url,
            "response_url": sent.response_url,
            "expected_seconds": None if request.extend_from else request.seconds,
            "submitted_at": time.time(),
        }
        if sent.cancel_url:
            state["cancel_url"] = sent.cancel_url
        return JobHandle(self.name, sent.request_id, state)

    def poll(self, handle: JobHandle) -> JobStatus:
        overdue = _http.overdue(handle, self.transport)
        if overdue:
            return JobStatus(handle.job_id, JobState.FAILED, None, overdue)
        interval = self.transport.poll_interval or POLL_INTERVAL
        data, _ = self._api.send_json(
            "GET", self._url(handle, "status_url"), what="poll", on_status=_lost(handle)
        )
        try:
            status = parse_queue_status(data)
        except ValueError as exc:
            raise ProviderUnavailableError(
                f"fal: poll of {handle.job_id}: {exc} — try again later", may_be_billed=True
            ) from None
        if status.state is JobState.FAILED:
            return JobStatus(handle.job_id, status.state, None, failure_text(status.error or ""))
        if status.state is not JobState.SUCCEEDED:
            text = f"queue position {status.position}" if status.position is not None else None
            return JobStatus(handle.job_id, status.state, None, text, poll_after=interval)
        try:
            url = self._result(handle)
        except GenerationFailedError as exc:
            return JobStatus(handle.job_id, JobState.FAILED, None, str(exc))
        learned = handle.with_state(video_url=url, video_uri=url)
        return JobStatus(handle.job_id, JobState.SUCCEEDED, 1.0, None, handle=learned)

    def download(self, handle: JobHandle, dest: Path) -> None:
        expected = handle.state.get("expected_seconds")
        seconds = float(expected) if isinstance(expected, int | float) else None
        url = handle.state.get("video_url")
        if not isinstance(url, str):
            url = self._result(handle)
        self._api.download(url, dest, expected_seconds=seconds)

    def cancel(self, handle: JobHandle) -> None:
        """Best effort: ``PUT cancel_url`` (fal stops only requests still queued)."""
        url = handle.state.get("cancel_url")
        if isinstance(url, str):
            with contextlib.suppress(ProviderError):
                self._api.send_json("PUT", url, what="cancel")

    def lookup(self, idempotency_key: str) -> JobHandle | LookupResult:
        """fal's queue cannot be searched for a request."""
        return LookupResult.UNKNOWN

    def _result(self, handle: JobHandle) -> str:
        """The finished request's video URL; ``GenerationFailedError`` when it failed."""
        data, _ = self._api.send_json(
            "GET", self._url(handle, "response_url"), what="result", on_status=_result_hook(handle)
        )
        url = parse_video_url(data)
        if url is None:
            raise GenerationFailedError(
                "fal finished the request without a video — try again, or change the prompt",
                may_be_billed=True,
            )
        return url

    def _url(self, handle: JobHandle, name: str) -> str:
        url = handle.state.get(name)
        if not isinstance(url, str):
            raise JobNotFoundError(
                f"fal: job {handle.job_id} has no {name} in its record — it cannot be reached",
                may_be_billed=True,
            )
        return url

    def _model(self, name: str) -> FalModel:
        try:
            return models.model_of(name)
        except KeyError:
            known = ", ".join(models.MODELS)
            raise GenerationFailedError(
                f"fal: unknown model '{name}' — use one of {known}", no_job=True
            ) from None

    def _image(self, m: FalModel, path: Path | None) -> PreparedImage | None:
        return within_bytes(prepare_image(path), m.max_image_bytes) if path is not None else None

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


def _lost(handle: JobHandle) -> _http.StatusHook:
    def hook(status: int, said: str) -> ProviderError | None:
        if status in (404, 410):
            return JobNotFoundError(
                f"fal: request {handle.job_id} is unknown (HTTP {status}: {said}) — it expired "
                "or was made with another key; it may have been billed",
                may_be_billed=True,
            )
        return None

    return hook


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
