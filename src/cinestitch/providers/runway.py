"""Runway's tasks API: ``POST /v1/image_to_video`` (or ``/v1/text_to_video``), then
``GET /v1/tasks/{id}`` until ``SUCCEEDED`` with ``output[0]``, ``DELETE`` to cancel.

Every request carries ``Authorization: Bearer`` and ``X-Runway-Version: 2024-11-06``; the
body is camelCase, frames go as ``promptImage: [{uri, position}]`` with ``uri`` a data URI
of at most 5 MB. ``PENDING`` and ``THROTTLED`` (over the account's concurrency) are queued,
``RUNNING`` reports progress 0-1, ``FAILED`` has a ``failureCode``: ``SAFETY.*`` is content
moderation, said in words and never retried. Runway reports no cost in a task: the cost is
its published credits per second times the clip's length.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cinestitch.errors import (
    GenerationFailedError,
    ProviderError,
    ProviderUnavailableError,
)
from cinestitch.providers import _driver, _http
from cinestitch.providers import runway_models as models
from cinestitch.providers._images import PreparedImage, prepare_image, within_bytes
from cinestitch.providers.base import (
    CREDIT_USD,
    Cost,
    GenerationRequest,
    JobHandle,
    JobState,
    JobStatus,
    LookupResult,
)
from cinestitch.providers.runway_models import RunwayModel

POLL_INTERVAL = 6.0
"""Seconds between polls when the manifest sets none (the SDK polls every 6 s)."""
IMAGE_BYTES = models.MAX_DATA_URI_BYTES * 3 // 4 - 64
"""Image bytes whose base64 data URI stays within Runway's 5 MB."""
STATES = {
    "PENDING": JobState.QUEUED,
    "THROTTLED": JobState.QUEUED,
    "RUNNING": JobState.RUNNING,
    "SUCCEEDED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
}


# -- pure: requests --------------------------------------------------------------------------


def api_root(base_url: str | None) -> str:
    """The server root, whether ``base_url`` ends in ``/v1`` or not."""
    return (base_url or models.PUBLIC_BASE_URL).rstrip("/").removesuffix("/v1")


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Runway-Version": models.API_VERSION}


def wants_audio(m: RunwayModel, options: Mapping[str, Any]) -> bool:
    """Whether the clip is made with sound (on unless ``audio: false``, where it is a choice)."""
    return m.audio and options.get("audio", True) is not False


def build_task(
    m: RunwayModel,
    request: GenerationRequest,
    first: PreparedImage | None = None,
    last: PreparedImage | None = None,
) -> tuple[str, dict[str, Any]]:
    """(path, JSON body) of the create call; ``ValueError`` when the model cannot make it."""
    options = request.options
    ratios = m.ratios if first is not None else m.text_ratios
    if first is None and not ratios:
        raise ValueError(f"{m.name} makes video only from a first frame")
    if last is not None and (first is None or not m.last_frame):
        raise ValueError(f"{m.name} takes no last frame here")
    ratio = models.pick_ratio(ratios, request.width, request.height, options)
    if ratio is None:
        raise ValueError(f"{request.size} has no {m.name} ratio of its shape")
    body: dict[str, Any] = {"model": m.name, "promptText": request.prompt, "ratio": ratio}
    body["duration"] = round(request.seconds)
    if first is not None:
        images = [{"uri": first.data_uri, "position": "first"}]
        if last is not None:
            images.append({"uri": last.data_uri, "position": "last"})
        body["promptImage"] = images
    if m.seed:
        body["seed"] = request.seed
    if m.audio:
        body["audio"] = wants_audio(m, options)
    negative = request.negative_prompt or options.get("negative_prompt")
    if m.negative_prompt and isinstance(negative, str) and negative:
        body["negativePrompt"] = negative
    threshold = options.get("public_figure_threshold")
    if m.public_figures and isinstance(threshold, str):
        body["contentModeration"] = {"publicFigureThreshold": threshold}
    path = "/v1/image_to_video" if first is not None else "/v1/text_to_video"
    return path, body


# -- pure: responses -------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    id: str
    state: JobState
    raw: str
    progress: float | None = None
    output: tuple[str, ...] = ()
    failure: str | None = None
    failure_code: str | None = None


def parse_task(data: Any) -> Task:
    """A task from its JSON; ``ValueError`` when it is not one. An unknown status is
    still running."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise ValueError("the answer is not a task (no id)")
    raw = str(data.get("status") or "")
    progress = data.get("progress")
    fraction = None
    if isinstance(progress, int | float) and not isinstance(progress, bool):
        fraction = max(0.0, min(1.0, float(progress)))
    output = data.get("output")
    urls = tuple(u for u in output if isinstance(u, str)) if isinstance(output, list) else ()
    failure = data.get("failure")
    code = data.get("failureCode")
    return Task(
        id=data["id"],
        state=STATES.get(raw.upper(), JobState.RUNNING),
        raw=raw,
        progress=fraction,
        output=urls,
        failure=_http.one_line(str(failure)) if failure else None,
        failure_code=str(code) if code else None,
    )


def failure_text(task: Task) -> str:
    """Why a task failed, in words; moderation (``SAFETY.*``) is named as such."""
    said = task.failure or "no reason given"
    code = task.failure_code or ""
    if code.upper().startswith("SAFETY"):
        where = "the output" if ".OUTPUT" in code.upper() else "the input"
        return (
            f"runway rejected {where} (content policy {code}: {said}) — edit the prompt or the "
            "reference image; not retried"
        )
    if code.upper().startswith("ASSET"):
        return f"runway failed the job ({code}: {said}) — fix the reference image; not retried"
    if code.upper().startswith("INTERNAL"):
        return (
            f"runway failed the job ({code}: {said}), a passing failure on Runway's side — "
            "run the build again to submit it again"
        )
    shown = f"{code}: {said}" if code else said
    return f"runway failed the job ({shown}) — see the message; not retried"


def parse_status(handle: JobHandle, task: Task, poll_after: float, cost: Cost | None) -> JobStatus:
    if task.state is JobState.FAILED:
        return JobStatus(handle.job_id, task.state, None, failure_text(task))
    if task.state is JobState.SUCCEEDED:
        if not task.output:
            empty = "runway finished the task without a video — try again"
            return JobStatus(handle.job_id, JobState.FAILED, None, empty)
        learned = handle.with_state(output_url=task.output[0])
        usd = cost.amount * CREDIT_USD[models.NAME] if cost is not None else None
        return JobStatus(
            handle.job_id, task.state, 1.0, None, cost_usd=usd, handle=learned, cost=cost
        )
    waiting = (
        "throttled: waiting for a free slot of the account" if task.raw == "THROTTLED" else None
    )
    return JobStatus(handle.job_id, task.state, task.progress, waiting, poll_after=poll_after)


# -- the driver ------------------------------------------------------------------------------


class RunwayProvider(_driver.HttpDriver):
    """Runway's API; ``transport`` says where and how, ``client`` sends."""

    unbilled_create = frozenset({502, 503})
    """Runway: 502 and 503 mean overload, to be retried (video-apis.md 3.4); a 504, a gateway
    timing out, may have made the task, so it is looked up."""

    name = models.NAME
    default_key_env = models.KEY_ENV

    def _root_of(self, base_url: str | None) -> str:
        return api_root(base_url)

    def _auth(self, key: str) -> dict[str, str]:
        return headers(key)

    def submit(self, request: GenerationRequest, idempotency_key: str) -> JobHandle:
        m = _driver.model_in(models.MODELS, self.name, request.model)
        if len(request.prompt.encode("utf-16-le")) // 2 > models.MAX_PROMPT_CHARS:
            raise GenerationFailedError(
                f"runway: the prompt has more than {models.MAX_PROMPT_CHARS} characters — "
                "shorten the segment's template",
                no_job=True,
            )
        first = _image(request.reference_image)
        last = _image(request.end_image)
        try:
            path, body = build_task(m, request, first, last)
        except ValueError as exc:
            raise GenerationFailedError(
                f"runway: {exc} — change the segment", no_job=True
            ) from None
        data, _ = self._api.send_json(
            "POST",
            self.root + path,
            what="submission",
            create=True,
            json=body,
            on_status=self._create_status(request.model),
        )
        task_id = data.get("id") if isinstance(data, Mapping) else None
        if not isinstance(task_id, str) or not task_id:
            raise ProviderUnavailableError(
                "runway: the answer to the submission has no task id — the task may have been "
                "created and billed; check the Runway dashboard before resubmitting",
                may_be_billed=True,
            )
        credits = models.credits_for(m, float(body["duration"]), wants_audio(m, request.options))
        state = {
            "expected_seconds": float(body["duration"]),
            "credits": credits,
            "submitted_at": time.time(),
        }
        return JobHandle(self.name, task_id, state)

    def poll(self, handle: JobHandle) -> JobStatus:
        return _driver.unless_overdue(handle, self.transport, self._poll_now(handle))

    def _poll_now(self, handle: JobHandle) -> JobStatus:
        task = self._task(handle)
        credits = handle.state.get("credits")
        cost = Cost(float(credits), "credits") if isinstance(credits, int | float) else None
        return parse_status(handle, task, self.transport.poll_interval or POLL_INTERVAL, cost)

    def download(self, handle: JobHandle, dest: Path) -> None:
        """Download ``output[0]``; its signed URL expires in 24-48 h, so a refused one is
        asked for again by fetching the task."""
        seconds = _driver.expected_seconds(handle)
        url = handle.state.get("output_url")
        if isinstance(url, str):
            try:
                self._api.download(url, dest, expected_seconds=seconds)
                return
            except ProviderUnavailableError:
                raise
            except ProviderError:
                pass  # an expired URL: fetch a fresh one below
        task = self._task(handle)
        if task.state is not JobState.SUCCEEDED or not task.output:
            said = failure_text(task) if task.state is JobState.FAILED else f"it is {task.raw}"
            raise GenerationFailedError(f"runway: task {handle.job_id} has no video ({said})",
                                        may_be_billed=True)  # fmt: skip
        self._api.download(task.output[0], dest, expected_seconds=seconds)

    def cancel(self, handle: JobHandle) -> None:
        """Best effort: ``DELETE /v1/tasks/{id}`` (cancels a running task, deletes a done one)."""
        with contextlib.suppress(ProviderError):
            self._api.send_json("DELETE", f"{self.root}/v1/tasks/{handle.job_id}", what="cancel")

    def lookup(self, idempotency_key: str) -> JobHandle | LookupResult:
        """Runway cannot list tasks."""
        return LookupResult.UNKNOWN

    def _task(self, handle: JobHandle) -> Task:
        task, _ = _driver.polled(
            self._api,
            f"{self.root}/v1/tasks/{handle.job_id}",
            parse_task,
            job=handle.job_id,
            speaker=self.name,
            on_status=_lost(handle),
        )
        return task

    def _create_status(self, model: str) -> _http.StatusHook:
        host = urlsplit(self.root).netloc

        def hook(status: int, said: str) -> ProviderError | None:
            if status == 404:
                return ProviderError(
                    f"runway: no model '{model}' or endpoint at {host} (HTTP 404: {said}) — the "
                    "model may be retired; check provider.model and provider.base_url",
                    no_job=True,
                )
            return None

        return hook


def _lost(handle: JobHandle) -> _http.StatusHook:
    return _http.job_lost(
        f"runway: task {handle.job_id}", "it was deleted or made with another key"
    )


def _image(path: Path | None) -> PreparedImage | None:
    return within_bytes(prepare_image(path), IMAGE_BYTES) if path is not None else None
