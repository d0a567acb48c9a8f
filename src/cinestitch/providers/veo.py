"""Google Veo 3.1 through the Gemini API: ``models/{model}:predictLongRunning``.

Pure ``build_*`` / ``parse_*`` functions turn a request into the create body and an
operation into a ``JobStatus``; ``VeoProvider`` only sends them (through ``_http``). A job is
a long-running operation named ``models/{model}/operations/{id}``, polled at
``GET /v1beta/{name}``; its video is downloaded from the file URI it names (following the
redirect to storage, without our key). A finished operation with no video and a filtered
count is a content-policy rejection, not an error of the network.
"""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cinestitch.errors import (
    GenerationFailedError,
    ProviderError,
    ProviderUnavailableError,
)
from cinestitch.providers import _driver, _http
from cinestitch.providers import veo_models as models
from cinestitch.providers._gemini import API_VERSION, GeminiApi, refuses_key
from cinestitch.providers._gemini import PUBLIC_BASE_URL as PUBLIC_BASE_URL
from cinestitch.providers._gemini import api_root as api_root
from cinestitch.providers._images import PreparedImage, prepare_image
from cinestitch.providers.base import (
    GenerationRequest,
    JobHandle,
    JobState,
    JobStatus,
    LookupResult,
)

POLL_INTERVAL = 10.0
"""Seconds between polls when the manifest sets none (Google's samples poll every 10 s)."""


# -- pure: requests --------------------------------------------------------------------------


def build_create_url(root: str, model: str) -> str:
    return f"{root}/{API_VERSION}/models/{model}:predictLongRunning"


def build_poll_url(root: str, operation: str) -> str:
    return f"{root}/{API_VERSION}/{operation.lstrip('/')}"


def _inline(image: PreparedImage) -> dict[str, str]:
    return {"bytesBase64Encoded": image.base64, "mimeType": image.mime_type}


def build_predict_body(
    request: GenerationRequest,
    first: PreparedImage | None = None,
    last: PreparedImage | None = None,
) -> dict[str, Any]:
    """The ``predictLongRunning`` JSON for ``request`` (images already prepared)."""
    resolution, aspect = models.resolution_of(request.width, request.height)
    instance: dict[str, Any] = {"prompt": request.prompt}
    if request.extend_from:
        instance["video"] = {"uri": request.extend_from}
    elif first is not None:
        instance["image"] = _inline(first)
    if last is not None and not request.extend_from:
        instance["lastFrame"] = _inline(last)
    seconds = request.seconds
    if resolution != "720p" or request.extend_from:
        seconds = models.FORCED_SECONDS
    parameters: dict[str, Any] = {
        "aspectRatio": aspect,
        "durationSeconds": int(seconds),
        "resolution": resolution,
        "sampleCount": 1,
    }
    options = request.options
    negative = request.negative_prompt or options.get("negative_prompt")
    if negative:
        parameters["negativePrompt"] = negative
    if "person_generation" in options:
        parameters["personGeneration"] = options["person_generation"]
    if "enhance_prompt" in options:
        parameters["enhancePrompt"] = bool(options["enhance_prompt"])
    return {"instances": [instance], "parameters": parameters}


def build_download_url(uri: str) -> str:
    """The sample's file URI, asking for the bytes: a Gemini file named without its
    ``:download`` verb (``…/files/abc``, its metadata) gets it, as the SDK's
    ``files.download`` rebuilds ``files/{id}:download``, and ``alt=media`` is added where
    it is missing."""
    parts = urlsplit(uri)
    query = dict(parse_qsl(parts.query))
    path = parts.path
    head, _, name = path.rpartition("/")
    if head.endswith("/files") and name and ":" not in name:
        path = f"{path}:download"
    if "alt" not in query and path.endswith(":download"):
        query["alt"] = "media"
    return urlunsplit(parts._replace(path=path, query=urlencode(query)))


# -- pure: responses -------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """A Gemini long-running operation, as far as a video job needs it."""

    name: str
    done: bool
    video_uris: tuple[str, ...] = ()
    inline_videos: tuple[str, ...] = ()
    """Base64 videos returned in the operation itself (``encodedVideo``)."""
    filtered: int = 0
    filtered_reasons: tuple[str, ...] = ()
    error_code: int | None = None
    error_message: str | None = None


def parse_operation(data: Any) -> Operation:
    """An operation from its JSON; ``ValueError`` when it is not one."""
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        raise ValueError("the answer is not an operation (no name)")
    error = data.get("error")
    response = data.get("response") if isinstance(data.get("response"), Mapping) else {}
    assert isinstance(response, Mapping)
    video_response = response.get("generateVideoResponse") or response
    samples = video_response.get("generatedSamples") or video_response.get("videos") or []
    uris, inline = [], []
    for sample in samples if isinstance(samples, list) else []:
        video = sample.get("video", sample) if isinstance(sample, Mapping) else {}
        if not isinstance(video, Mapping):
            continue
        if isinstance(video.get("uri"), str):
            uris.append(video["uri"])
        encoded = video.get("encodedVideo") or video.get("bytesBase64Encoded")
        if isinstance(encoded, str):
            inline.append(encoded)
    reasons = video_response.get("raiMediaFilteredReasons") or []
    return Operation(
        name=data["name"],
        done=bool(data.get("done")),
        video_uris=tuple(uris),
        inline_videos=tuple(inline),
        filtered=_int(video_response.get("raiMediaFilteredCount")),
        filtered_reasons=tuple(str(r) for r in reasons) if isinstance(reasons, list) else (),
        error_code=_int(error.get("code")) if isinstance(error, Mapping) else None,
        error_message=str(error.get("message", "")) if isinstance(error, Mapping) else None,
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def failure_text(op: Operation) -> str | None:
    """Why a finished operation has no video, in words; ``None`` when it has one."""
    if op.error_message is not None or op.error_code is not None:
        said = _http.one_line(op.error_message or "no message")
        return f"veo failed the job (error {op.error_code}: {said}) — see the message; not retried"
    if op.video_uris or op.inline_videos:
        return None
    if op.filtered:
        noun = "video" if op.filtered == 1 else "videos"
        why = (
            f": {'; '.join(_http.one_line(r) for r in op.filtered_reasons)}"
            if (op.filtered_reasons)
            else ""
        )
        return (
            f"veo rejected the prompt (content policy: {op.filtered} {noun} filtered{why}) "
            "— edit the prompt or the reference image"
        )
    return "veo finished the job without a video — try again, or change the prompt"


def parse_status(handle: JobHandle, op: Operation, poll_after: float) -> JobStatus:
    """The normalised status of an operation, with the handle updated by what it learned."""
    if not op.done:
        return JobStatus(
            handle.job_id, JobState.RUNNING, None, None, handle=None, poll_after=poll_after
        )
    failed = failure_text(op)
    if failed is not None:
        return JobStatus(handle.job_id, JobState.FAILED, None, failed)
    learned = handle.with_state(video_uri=op.video_uris[0]) if op.video_uris else None
    return JobStatus(handle.job_id, JobState.SUCCEEDED, 1.0, None, handle=learned)


# -- the driver ------------------------------------------------------------------------------


class VeoProvider(GeminiApi, _driver.HttpDriver):
    """Veo on the Gemini API; ``transport`` says where and how, ``client`` sends."""

    unbilled_create = frozenset({503})
    """Gemini API: 503 UNAVAILABLE is to be retried (video-apis.md 2.5); a 500 INTERNAL may
    have come after the operation was made, so it is looked up, never sent again blindly."""

    name = models.NAME
    default_key_env = models.KEY_ENV

    def submit(self, request: GenerationRequest, idempotency_key: str) -> JobHandle:
        first = _image(request.reference_image) if not request.extend_from else None
        last = _image(request.end_image)
        try:
            body = build_predict_body(request, first, last)
        except ValueError as exc:
            raise GenerationFailedError(f"veo: {exc} — use a Veo size", no_job=True) from exc
        url = build_create_url(self.root, request.model)
        data, _ = self._api.send_json(
            "POST",
            url,
            what="submission",
            create=True,
            json=body,
            on_status=self._create_status(request.model),
        )
        try:
            op = parse_operation(data)
        except ValueError as exc:
            raise ProviderUnavailableError(
                f"veo: the answer to the submission is not an operation ({exc}) — the job may "
                "have been created and billed; check the Gemini API console",
                may_be_billed=True,
            ) from None
        expected = None if request.extend_from else request.seconds
        return JobHandle(
            self.name,
            op.name,
            {"operation": op.name, "expected_seconds": expected, "submitted_at": time.time()},
        )

    def poll(self, handle: JobHandle) -> JobStatus:
        return _driver.unless_overdue(handle, self.transport, self._poll_now(handle))

    def _poll_now(self, handle: JobHandle) -> JobStatus:
        op = self._operation(handle)
        return parse_status(handle, op, self.transport.poll_interval or POLL_INTERVAL)

    def download(self, handle: JobHandle, dest: Path) -> None:
        seconds = _driver.expected_seconds(handle)
        uri = handle.state.get("video_uri")
        if not isinstance(uri, str):
            op = self._operation(handle)
            failed = failure_text(op) if op.done else "veo: the job has not finished"
            if failed is not None:
                raise GenerationFailedError(failed, may_be_billed=True)
            if not op.video_uris:
                self._write_inline(op.inline_videos[0], dest, seconds)
                return
            uri = op.video_uris[0]
        self._api.download(build_download_url(uri), dest, expected_seconds=seconds)

    def cancel(self, handle: JobHandle) -> None:
        """Best effort: ``POST {name}:cancel``; a refusal is ignored."""
        url = build_poll_url(self.root, handle.job_id) + ":cancel"
        with contextlib.suppress(ProviderError):
            self._api.send_json("POST", url, what="cancel", json={})

    def lookup(self, idempotency_key: str) -> JobHandle | LookupResult:
        """The Gemini API cannot list a key's operations."""
        return LookupResult.UNKNOWN

    def _operation(self, handle: JobHandle) -> Any:
        name = str(handle.state.get("operation") or handle.job_id)
        op, _ = _driver.polled(
            self._api,
            build_poll_url(self.root, name),
            parse_operation,
            job=name,
            speaker=self.name,
            on_status=_poll_status(name),
        )
        return op

    def _write_inline(self, encoded: str, dest: Path, seconds: float | None) -> None:
        from cinestitch.atomic import atomic_path
        from cinestitch.errors import MediaError
        from cinestitch.media.check import check_video

        with atomic_path(dest) as tmp:
            tmp.write_bytes(base64.b64decode(encoded))
            try:
                check_video(tmp, seconds or 0.0, None if seconds else float("inf"))
            except MediaError as exc:
                raise ProviderUnavailableError(
                    f"veo: the clip in the operation is not a whole video ({exc}) — run the "
                    "build again",
                    may_be_billed=True,
                ) from None

    def _create_status(self, model: str) -> _http.StatusHook:
        def hook(status: int, said: str) -> ProviderError | None:
            if status == 404:
                return ProviderError(
                    f"veo: no model '{model}' here (HTTP 404: {said}) — use one of "
                    f"{', '.join(models.MODELS)}, or check provider.base_url",
                    no_job=True,
                )
            if refuses_key(status, said):
                return ProviderError(
                    f"veo: the key was refused (HTTP 400: {said}) — check {self.key_env}",
                    no_job=True,
                )
            return None

        return hook


def _poll_status(name: str) -> _http.StatusHook:
    return _http.job_lost(
        f"veo: the operation {name}", "it expired or was made with another key", (404,)
    )


def _image(path: Path | None) -> PreparedImage | None:
    return prepare_image(path) if path is not None else None
