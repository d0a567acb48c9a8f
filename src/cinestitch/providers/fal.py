"""fal.ai's video models on its queue (``fal_queue``): each model's input as its schema types it.

Pure ``route_of`` / ``build_input`` pick the endpoint and write the model's JSON input, and
``parse_video_url`` reads ``video.url`` (``videos[0].url``) from a result; ``FalProvider``
sends them through the queue driver it shares with the image adapter (``fal_image``): submit,
then follow the ``status_url`` / ``response_url`` / ``cancel_url`` the answer names. A
content-policy rejection is a 422 with ``content_policy_violation``, said in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinestitch.errors import GenerationFailedError
from cinestitch.providers import _driver
from cinestitch.providers import fal_models as models
from cinestitch.providers._images import PreparedImage, prepare_image, within_bytes
from cinestitch.providers.base import (
    GenerationRequest,
    JobHandle,
    JobStatus,
)
from cinestitch.providers.fal_models import FalModel
from cinestitch.providers.fal_queue import (
    POLICY_WORDS,
    POLL_INTERVAL,
    REQUEST_ERRORS,
    FalDriver,
    QueueStatus,
    Submitted,
    api_root,
    build_submit_url,
    failure_text,
    is_policy,
    is_url,
    parse_queue_status,
    parse_submit,
)

__all__ = [
    "POLICY_WORDS",
    "POLL_INTERVAL",
    "REQUEST_ERRORS",
    "FalProvider",
    "QueueStatus",
    "Route",
    "Submitted",
    "api_root",
    "build_input",
    "build_submit_url",
    "failure_text",
    "is_policy",
    "parse_queue_status",
    "parse_submit",
    "parse_video_url",
    "route_of",
]


# -- pure: requests --------------------------------------------------------------------------


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


def parse_video_url(data: Any) -> str | None:
    """``video.url`` of a result (``videos[0].url`` in some schemas)."""
    if not isinstance(data, Mapping):
        return None
    video = data.get("video")
    if not isinstance(video, Mapping):
        videos = data.get("videos")
        video = videos[0] if isinstance(videos, list) and videos else None
    url = video.get("url") if isinstance(video, Mapping) else None
    return url if is_url(url) else None


# -- the driver ------------------------------------------------------------------------------


class FalProvider(FalDriver):
    """Video models on fal.ai's queue; ``transport`` says where and how, ``client`` sends."""

    name = models.NAME

    def submit(self, request: GenerationRequest, idempotency_key: str) -> JobHandle:
        m = _driver.model_in(models.MODELS, self.name, request.model)
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
        expected = None if request.extend_from else request.seconds
        return self._queue.submit(route.endpoint, body, {"expected_seconds": expected})

    def poll(self, handle: JobHandle) -> JobStatus:
        return self._queue.poll(handle, _video_outcome)

    def download(self, handle: JobHandle, dest: Path) -> None:
        seconds = _driver.expected_seconds(handle)
        url = handle.state.get("video_url")
        if not isinstance(url, str):
            url = _video_url(self._queue.result(handle))
        self._api.download(url, dest, expected_seconds=seconds)

    def _image(self, m: FalModel, path: Path | None) -> PreparedImage | None:
        return within_bytes(prepare_image(path), m.max_image_bytes) if path is not None else None


def _video_url(result: Any) -> str:
    """The finished request's video URL; ``GenerationFailedError`` when it has none."""
    url = parse_video_url(result)
    if url is None:
        raise GenerationFailedError(
            "fal finished the request without a video — try again, or change the prompt",
            may_be_billed=True,
        )
    return url


def _video_outcome(handle: JobHandle, result: Any) -> JobHandle:
    url = _video_url(result)
    return handle.with_state(video_url=url, video_uri=url)
