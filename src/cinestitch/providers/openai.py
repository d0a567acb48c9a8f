"""The OpenAI ``/v1/videos`` shape (create, retrieve, content), as gateways still serve it.

OpenAI's own Videos API was shut down on 2026-09-24: a 404 there says so and is never
retried. Gateways differ in small ways, named by a dialect (``openai_models.DIALECTS``):
the auth header, the path, multipart or JSON bodies, timestamp units. Pure ``build_*`` /
``parse_*`` functions hold those differences; ``OpenAIVideoProvider`` only sends.

A lost submission can be looked up where the dialect lists jobs: before the create call a
small record of the request (no key) is written under the work directory, and ``lookup``
matches it against the listed jobs created since.
"""

from __future__ import annotations

import contextlib
import enum
import json
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
from cinestitch.providers import _driver, _http
from cinestitch.providers import openai_models as models
from cinestitch.providers._images import PreparedImage, prepare_image
from cinestitch.providers.base import (
    Cost,
    GenerationRequest,
    JobHandle,
    JobState,
    JobStatus,
    LookupResult,
    Transport,
)
from cinestitch.providers.openai_models import Dialect
from cinestitch.providers.spec import DEFAULT_TRANSPORT

POLL_INTERVAL = 10.0
"""Seconds between polls when neither the manifest nor the server says."""
POLL_HINT_HEADER = "openai-poll-after-ms"
LOOKUP_PAGES = 5
CLOCK_SLACK = 120.0
"""Seconds a listed job may seem to predate its submission (clocks differ)."""


# -- pure: requests --------------------------------------------------------------------------


def api_root(base_url: str | None) -> str:
    """The server root, whether ``base_url`` ends in ``/v1`` or not."""
    return (base_url or models.PUBLIC_BASE_URL).rstrip("/").removesuffix("/v1")


def is_openai_host(root: str) -> bool:
    host = urlsplit(root).hostname or ""
    return host == "api.openai.com" or host.endswith(".openai.com")


def auth_headers(dialect: Dialect, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}" if dialect.auth == "bearer" else key}


def build_fields(request: GenerationRequest) -> dict[str, str]:
    """The create call's plain fields (``seconds`` is a string in this API)."""
    return {
        "model": request.model,
        "prompt": request.prompt,
        "seconds": f"{request.seconds:g}",
        "size": request.size,
    }


def build_create(
    dialect: Dialect, request: GenerationRequest, image: PreparedImage | None
) -> dict[str, Any]:
    """httpx keyword arguments of the create call: ``files`` (multipart) or ``json``."""
    fields = build_fields(request)
    if dialect.body == "json":
        body: dict[str, Any] = dict(fields)
        if image is not None:
            body["input_reference"] = {"image_url": image.data_uri}
        return {"json": body}
    parts: list[tuple[str, tuple[str | None, bytes | str] | tuple[str, bytes, str]]] = [
        (name, (None, value)) for name, value in fields.items()
    ]
    if image is not None:
        parts.append(("input_reference", (image.filename, image.data, image.mime_type)))
    return {"files": parts}


def build_lookup_record(request: GenerationRequest, sent_at: float) -> dict[str, Any]:
    """What ``lookup`` matches listed jobs against (the request's visible fields, no key)."""
    return {**build_fields(request), "sent_at": sent_at}


# -- pure: responses -------------------------------------------------------------------------


@dataclass(frozen=True)
class Video:
    """A ``Video`` job object, normalised."""

    id: str
    state: JobState
    raw_status: str
    progress: float | None = None
    error: str | None = None
    created_at: float | None = None
    expires_at: float | None = None
    output_url: str | None = None
    cost: Cost | None = None


def to_seconds(value: Any, dialect: Dialect) -> float | None:
    """A timestamp in Unix seconds (milliseconds where the dialect, or the size, says so)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if dialect.time_unit == "ms" or value > 1e11:
        return float(value) / 1000.0
    return float(value)


def parse_state(status: str) -> JobState:
    """The normalised state of a status word; an unknown word means: still running."""
    word = status.strip().lower()
    if word in models.QUEUED:
        return JobState.QUEUED
    if word in models.SUCCEEDED:
        return JobState.SUCCEEDED
    if word in models.FAILED:
        return JobState.FAILED
    if word in models.CANCELLED:
        return JobState.CANCELLED
    return JobState.RUNNING


def parse_video(data: Any, dialect: Dialect) -> Video:
    """A job object from its JSON; ``ValueError`` when it has no id."""
    if not isinstance(data, Mapping):
        raise ValueError("the answer is not a JSON object")
    data = _unwrapped(data)
    job_id = data.get("id") or data.get("task_id")
    if not isinstance(job_id, str) or not job_id:
        raise ValueError("the answer has no job id")
    raw = str(data.get("status") or "queued")
    progress = data.get("progress")
    fraction = None
    if isinstance(progress, int | float) and not isinstance(progress, bool):
        fraction = max(0.0, min(1.0, float(progress) / 100.0))
    return Video(
        id=job_id,
        state=parse_state(raw),
        raw_status=raw,
        progress=fraction,
        error=_error_text(data.get("error")),
        created_at=to_seconds(data.get("created_at"), dialect),
        expires_at=to_seconds(data.get("expires_at"), dialect),
        output_url=_output_url(data),
        cost=_cost(data.get("usage")),
    )


def _error_text(error: Any) -> str | None:
    if isinstance(error, Mapping):
        code, message = error.get("code"), error.get("message")
        said = _http.one_line(str(message or "no message"))
        return f"{code}: {said}" if code else said
    if isinstance(error, str) and error:
        return _http.one_line(error)
    return None


def _unwrapped(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The job object, also where a gateway wraps it as ``{"code": …, "data": {…}}``."""
    inner = data.get("data")
    if isinstance(inner, Mapping) and "status" not in data:
        outer_id = data.get("id") or data.get("task_id")
        return {**({"id": outer_id} if outer_id else {}), **inner}
    return data


OUTPUT_KEYS = ("video_url", "url", "result_url", "output", "urls", "unsigned_urls")


def _output_url(data: Mapping[str, Any]) -> str | None:
    """The finished video's URL where the job object gives one (the classic path has no
    ``/content`` endpoint): a string, or the first of a list of strings or ``{url}``."""
    for key in OUTPUT_KEYS:
        found = _first_url(data.get(key))
        if found:
            return found
    return None


def _first_url(value: Any) -> str | None:
    if isinstance(value, str):
        return value if value.startswith(("http://", "https://")) else None
    if isinstance(value, Mapping):
        return _first_url(value.get("url"))
    if isinstance(value, list):
        return next((u for u in map(_first_url, value) if u), None)
    return None


def _cost(usage: Any) -> Cost | None:
    if not isinstance(usage, Mapping):
        return None
    try:
        return Cost(float(usage["cost"]), "USD")
    except (KeyError, TypeError, ValueError):
        return None


def poll_hint(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait before polling again (``openai-poll-after-ms``)."""
    value = headers.get(POLL_HINT_HEADER)
    try:
        return max(0.0, float(value) / 1000.0) if value is not None else None
    except ValueError:
        return None


def parse_status(handle: JobHandle, video: Video, poll_after: float) -> JobStatus:
    learned: dict[str, Any] = {}
    if video.output_url and video.output_url != handle.state.get("output_url"):
        learned["output_url"] = video.output_url
    if video.expires_at and video.expires_at != handle.state.get("expires_at"):
        learned["expires_at"] = video.expires_at
    message = None
    if video.state is JobState.FAILED:
        said = video.error or f"status {video.raw_status}"
        message = f"{handle.provider} failed the job ({said}) — see the message; not retried"
    return JobStatus(
        handle.job_id,
        video.state,
        1.0 if video.state is JobState.SUCCEEDED else video.progress,
        message,
        cost_usd=video.cost.amount if video.cost else None,
        handle=handle.with_state(**learned) if learned else None,
        poll_after=poll_after,
        cost=video.cost,
    )


class Listed(enum.Enum):
    """How a listed job compares with a submission whose answer was lost."""

    SAME = "same"
    """Made since it was sent, and every field it shows agrees, its prompt included."""
    MAYBE = "maybe"
    """It agrees but shows no prompt (the SDK's ``Video.prompt`` is optional; new-api's
    jobs never carry one): it may be the submission's job or another one."""
    OTHER = "other"


def matches(record: Mapping[str, Any], item: Any, dialect: Dialect) -> Listed:
    """Whether a listed job is the one ``record`` describes (same fields, made since)."""
    if not isinstance(item, Mapping):
        return Listed.OTHER
    same = all(
        str(item.get(name, "")) == str(record.get(name))
        for name in ("model", "size")
        if name in item
    ) and _same_seconds(item.get("seconds"), record.get("seconds"))
    created = to_seconds(item.get("created_at"), dialect)
    sent = record.get("sent_at")
    recent = created is None or not isinstance(sent, int | float) or created >= sent - CLOCK_SLACK
    if not (same and recent):
        return Listed.OTHER
    prompt = item.get("prompt")
    if prompt is None:
        return Listed.MAYBE
    return Listed.SAME if str(prompt) == str(record.get("prompt")) else Listed.OTHER


def _same_seconds(listed: Any, asked: Any) -> bool:
    try:
        return listed is None or float(listed) == float(asked)
    except (TypeError, ValueError):
        return False


def gone_text(root: str, path: str, subject: str, answer: str, *, create: bool) -> str:
    """What a 404 on the endpoint means: the API or model is retired (OpenAI's since
    2026-09-24), or the job is gone. ``subject`` is the model (create) or the job id."""
    if is_openai_host(root):
        return (
            f"openai: the Videos API is retired — OpenAI shut Sora 2 and /v1/videos down on "
            f"{models.SHUTDOWN_DATE} ({answer}) — point provider.base_url at a gateway that "
            "serves /v1/videos, or use another provider"
        )
    host = urlsplit(root).netloc
    if create:
        return (
            f"openai: {host} has no {path} or no model '{subject}' ({answer}) — the API or model "
            "is retired there; check provider.base_url, provider.dialect and provider.model"
        )
    return (
        f"openai: job {subject} is gone from {host} ({answer}) — the job expired or the API was "
        "retired; it may have been billed"
    )


# -- the driver ------------------------------------------------------------------------------


class OpenAIVideoProvider(_driver.HttpDriver):
    """A ``/v1/videos`` server: OpenAI's own (retired) or a gateway (``transport.base_url``)."""

    name = models.NAME
    default_key_env = models.KEY_ENV

    def __init__(
        self,
        work_dir: Path,
        transport: Transport = DEFAULT_TRANSPORT,
        client: httpx.Client | None = None,
        project_root: Path | None = None,
    ) -> None:
        try:
            self.dialect = models.dialect_of(transport.dialect)
        except ValueError as exc:
            raise ProviderError(f"openai: {exc}", no_job=True) from None
        super().__init__(work_dir, transport, client, project_root)

    def _root_of(self, base_url: str | None) -> str:
        return api_root(base_url)

    def _auth(self, key: str) -> dict[str, str]:
        return auth_headers(self.dialect, key)

    def __repr__(self) -> str:
        return f"OpenAIVideoProvider({self.root!r}, dialect={self.dialect.name!r})"

    @property
    def jobs_url(self) -> str:
        return self.root + self.dialect.path

    def submit(self, request: GenerationRequest, idempotency_key: str) -> JobHandle:
        if request.end_image is not None or request.extend_from:
            raise GenerationFailedError(
                "openai: the /v1/videos create call takes no end frame and no continuation "
                "— remove end_frame/extend from the segment",
                no_job=True,
            )
        image = None
        if request.reference_image is not None:
            image = prepare_image(request.reference_image, (request.width, request.height))
        kwargs = build_create(self.dialect, request, image)
        headers = {"Accept": "application/json"}
        if self.dialect.idempotency_header:
            headers["Idempotency-Key"] = idempotency_key
        sent_at = time.time()
        self._record(idempotency_key, build_lookup_record(request, sent_at))
        data, _ = self._api.send_json(
            "POST",
            self.jobs_url,
            what="submission",
            create=True,
            headers=headers,
            on_status=self._status_hook(request.model, create=True),
            **kwargs,
        )
        try:
            video = parse_video(data, self.dialect)
        except ValueError as exc:
            raise ProviderUnavailableError(
                f"openai: the answer to the submission is unusable ({exc}) — the job may have "
                "been created and billed; check the gateway's dashboard",
                may_be_billed=True,
            ) from None
        self._record(idempotency_key, {**build_lookup_record(request, sent_at), "id": video.id})
        return self._handle(video.id, request.seconds, sent_at)

    def poll(self, handle: JobHandle) -> JobStatus:
        return _driver.unless_overdue(handle, self.transport, self._poll_now(handle))

    def _poll_now(self, handle: JobHandle) -> JobStatus:
        video, response = _driver.polled(
            self._api,
            f"{self.jobs_url}/{handle.job_id}",
            lambda data: parse_video(data, self.dialect),
            job=handle.job_id,
            speaker=self.name,
            on_status=self._status_hook(handle.job_id, create=False),
        )
        hint = poll_hint(response.headers)
        interval = hint if hint is not None else self.transport.poll_interval or POLL_INTERVAL
        return parse_status(handle, video, interval)

    def download(self, handle: JobHandle, dest: Path) -> None:
        seconds = _driver.expected_seconds(handle)
        url = f"{self.jobs_url}/{handle.job_id}/content"
        fallback = handle.state.get("output_url")
        hook = self._status_hook(handle.job_id, create=False)
        if not self.dialect.content:
            self._download_output(handle, dest, seconds)
            return
        try:
            self._api.download(
                url,
                dest,
                expected_seconds=seconds,
                on_status=hook,
                headers={"Accept": "application/binary"},
            )
        except ProviderUnavailableError:
            raise
        except ProviderError:
            status = self.poll(handle)
            if status.state is JobState.FAILED:
                raise GenerationFailedError(
                    status.message or "failed", may_be_billed=True
                ) from None
            if not isinstance(fallback, str):
                raise
            self._api.download(fallback, dest, expected_seconds=seconds)

    def _download_output(self, handle: JobHandle, dest: Path, seconds: float | None) -> None:
        """Download from the URL the job object gave (a dialect with no ``/content``)."""
        url = handle.state.get("output_url")
        if not isinstance(url, str):
            status = self.poll(handle)
            if status.state is JobState.FAILED:
                raise GenerationFailedError(status.message or "failed", may_be_billed=True)
            url = (status.handle or handle).state.get("output_url")
        if not isinstance(url, str):
            raise ProviderError(
                f"openai: job {handle.job_id} names no video URL (status "
                f"{status.state.value}) — nothing to download yet",
                may_be_billed=True,
            )
        self._api.download(url, dest, expected_seconds=seconds)

    def cancel(self, handle: JobHandle) -> None:
        """Best effort: ``DELETE`` the job (the shape has no cancel); a refusal is ignored."""
        with contextlib.suppress(ProviderError):
            self._api.send_json("DELETE", f"{self.jobs_url}/{handle.job_id}", what="cancel")

    def lookup(self, idempotency_key: str) -> JobHandle | LookupResult:
        """Find the job of a submission whose answer was lost, by listing recent jobs."""
        record = _driver.read_record(self.work_dir, idempotency_key)
        if record is None:
            return LookupResult.UNKNOWN
        seconds = float(record.get("seconds", 0) or 0)
        sent_at = float(record.get("sent_at", 0) or 0)
        if isinstance(record.get("id"), str):
            return self._handle(record["id"], seconds, sent_at)
        if not self.dialect.lists:
            return LookupResult.UNKNOWN
        try:
            found = self._search(idempotency_key, record, seconds, sent_at)
        except ProviderError:
            return LookupResult.UNKNOWN
        if isinstance(found, JobHandle):  # this submission's now: no other lookup takes it
            self._record(idempotency_key, {**record, "id": found.job_id})
        return found

    def _search(
        self, key: str, record: Mapping[str, Any], seconds: float, sent_at: float
    ) -> JobHandle | LookupResult:
        """The one listed job that can only be this submission's; UNKNOWN when the list
        cannot tell (two candidates, say two takes of one request, or a job that shows no
        prompt), so that an unsure lookup never resumes another take's job nor pays again.
        Jobs other submissions already know as theirs are not candidates."""
        claimed = _driver.claimed_job_ids(self.work_dir, key)
        same: list[str] = []
        unsure = False
        after: str | None = None
        for _ in range(LOOKUP_PAGES):
            params = {"limit": "100", "order": "desc", **({"after": after} if after else {})}
            data, _ = self._api.send_json("GET", self.jobs_url, what="list", params=params)
            items = data.get("data") if isinstance(data, Mapping) else None
            if not isinstance(items, list):
                return LookupResult.UNKNOWN
            for item in items:
                job_id = item.get("id") if isinstance(item, Mapping) else None
                if not isinstance(job_id, str) or job_id in claimed:
                    continue
                listed = matches(record, item, self.dialect)
                if listed is Listed.SAME:
                    same.append(job_id)
                unsure = unsure or listed is Listed.MAYBE
            oldest = to_seconds(items[-1].get("created_at"), self.dialect) if items else None
            covered = oldest is not None and oldest < sent_at - CLOCK_SLACK
            if covered or not data.get("has_more"):
                if len(same) == 1:
                    return self._handle(same[0], seconds, sent_at)
                return LookupResult.UNKNOWN if same or unsure else LookupResult.ABSENT
            last = items[-1].get("id")
            if not isinstance(last, str):
                return LookupResult.UNKNOWN
            after = last
        return LookupResult.UNKNOWN

    def _handle(self, job_id: str, seconds: float, sent_at: float) -> JobHandle:
        return JobHandle(
            self.name,
            job_id,
            {
                "expected_seconds": seconds,
                "submitted_at": sent_at,
                "base_url": self.root,
                "dialect": self.dialect.name,
            },
        )

    def _record(self, key: str, record: Mapping[str, Any]) -> None:
        text = json.dumps(record, ensure_ascii=False)
        _driver.write_record(self.name, self.work_dir, key, text)

    def _status_hook(self, subject: str, *, create: bool) -> _http.StatusHook:
        root, path = self.root, self.dialect.path

        def hook(status: int, said: str) -> ProviderError | None:
            if status not in (404, 410):
                return None
            text = gone_text(root, path, subject, f"HTTP {status}: {said}", create=create)
            if create:
                return ProviderError(text, no_job=True)
            return JobNotFoundError(text, may_be_billed=True)

        return hook
