"""A fake fal.ai queue as the protocol sheet (§4) and fal's model pages describe it: submit to
``/{endpoint}``, status and result at the URLs the submit answer names (owner/app only, never
the endpoint's sub-path), 202 while queued or running, cancel with PUT, a CDN elsewhere.

Each endpoint validates its input as its schema types it (an integer or string duration,
the resolution and aspect enums, the image fields as data URIs), and refuses unknown fields,
so a misnamed field shows up as a 422 here."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_clips import ClipFormat, clip_bytes
from fake_http import KEY, FakeJobServer, Seen, is_image_data_uri
from fake_veo import StorageServer

Answer = tuple[int, dict[str, str], Any]


@dataclass(frozen=True)
class Schema:
    """One endpoint's input, as fal's page for it describes it."""

    durations: tuple[Any, ...]
    images: tuple[str, ...] = ()
    required_image: str | None = None
    resolutions: tuple[str, ...] = ()
    aspects: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    """Other fields it accepts."""
    prompt_max: int = 5000


WAN: dict[str, Any] = {
    "durations": tuple(range(2, 16)),
    "resolutions": ("720p", "1080p"),
    "aspects": ("16:9", "9:16", "1:1", "4:3", "3:4"),
    "extra": ("seed", "negative_prompt", "enable_prompt_expansion", "audio_url"),
}
KLING: dict[str, Any] = {
    "durations": tuple(str(n) for n in range(3, 16)),
    "extra": ("generate_audio", "negative_prompt", "cfg_scale"),
    "prompt_max": 2500,
}
LTX: dict[str, Any] = {
    "durations": (6, 8, 10),
    "resolutions": ("1080p", "1440p", "2160p"),
    "aspects": ("16:9", "9:16"),
    "extra": ("generate_audio", "fps"),
}
SCHEMAS: dict[str, Schema] = {
    "fal-ai/wan/v2.7/image-to-video": Schema(
        images=("image_url", "end_image_url", "video_url"), **WAN
    ),
    "fal-ai/wan/v2.7/text-to-video": Schema(**WAN),
    "fal-ai/kling-video/v4/image-to-video": Schema(
        images=("start_image_url", "end_image_url"), required_image="start_image_url", **KLING
    ),
    "fal-ai/kling-video/v4/text-to-video": Schema(**{**KLING, "aspects": ("16:9", "9:16", "1:1")}),
    "fal-ai/ltx-2.3/image-to-video": Schema(
        images=("image_url", "end_image_url"), required_image="image_url", **LTX
    ),
    "fal-ai/ltx-2.3/text-to-video": Schema(**LTX),
}
FORMATS = {
    "wan": ClipFormat(fps=30, width=64, height=36, rate=44_100, channels=1),
    "kling": ClipFormat(fps=24, width=48, height=48, rate=48_000, channels=2),
    "ltx": ClipFormat(fps=25, width=96, height=54, rate=None),
}


def fal_error(loc: str, msg: str, kind: str) -> dict[str, Any]:
    return {"detail": [{"loc": ["body", loc], "msg": msg, "type": kind,
                        "url": f"https://docs.fal.ai/errors#{kind}"}]}  # fmt: skip


@dataclass
class Request:
    id: str
    app: str
    endpoint: str
    body: dict[str, Any]
    created: float
    polls: int = 0
    cancelled: bool = False
    file_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])


class FakeFal(FakeJobServer):
    """The queue at ``url``; ``cdn`` serves the videos (another origin). ``outcome``: ``ok``,
    ``moderated`` (422 content_policy_violation), ``failed``, ``never``."""

    def __init__(self, clip_dir: Path, cdn: StorageServer) -> None:
        super().__init__(clip_dir, polls_to_finish=2)
        self.cdn = cdn
        self.requests: dict[str, Request] = {}
        self.formats = dict(FORMATS)
        self.schemas: dict[str, Any] = dict(SCHEMAS)
        """endpoint -> its input schema (``_check`` reads it)."""

    def route(self, seen: Seen) -> tuple[str, Callable[[], Answer]]:
        if seen.headers.get("Authorization") != f"Key {KEY}":
            detail = {"detail": "Authentication is required to perform this action"}
            return "auth", lambda: (401, {}, detail)
        path = seen.path.strip("/")
        if seen.method == "POST" and (self.retired or path in self.schemas):
            return "create", lambda: self._create(path, seen)
        match = re.fullmatch(r"([^/]+/[^/]+)/requests/([^/]+)(/status|/cancel)?", path)
        if match is None:
            return "other", lambda: (404, {}, {"detail": f"Application '{path}' not found"})
        app, request_id, tail = match.groups()
        if seen.method == "GET" and tail == "/status":
            return "poll", lambda: self._status(app, request_id)
        if seen.method == "GET" and tail is None:
            return "result", lambda: self._result(app, request_id)
        if seen.method == "PUT" and tail == "/cancel":
            return "cancel", lambda: self._cancel(app, request_id)
        return "other", lambda: (405, {}, {"detail": "Method not allowed"})

    def _create(self, endpoint: str, seen: Seen) -> Answer:
        if self.retired:
            return 404, {}, {"detail": f"Application '{endpoint}' not found"}
        try:
            body = json.loads(seen.body)
        except ValueError:
            return 422, {}, fal_error("body", "Invalid JSON", "json_invalid")
        problem = self._check(self.schemas[endpoint], body)
        if problem:
            return 422, {}, problem
        request_id = str(uuid.uuid4())
        app = "/".join(endpoint.split("/")[:2])
        self.requests[request_id] = Request(request_id, app, endpoint, body, time.monotonic())
        self.submissions += 1
        base = f"{self.url}/{app}/requests/{request_id}"
        return (
            200,
            {},
            {
                "request_id": request_id,
                "gateway_request_id": request_id,
                "status": "IN_QUEUE",
                "queue_position": 0,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
            },
        )

    def _check(self, schema: Any, body: Any) -> dict[str, Any] | None:
        if not isinstance(body, dict):
            return fal_error("body", "Input should be an object", "model_attributes_type")
        allowed = {"prompt", "duration", "resolution", "aspect_ratio", *schema.images}
        allowed |= set(schema.extra)
        for key in sorted(set(body) - allowed):
            return fal_error(key, "Extra inputs are not permitted", "extra_forbidden")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt or len(prompt) > schema.prompt_max:
            return fal_error("prompt", "Field required", "missing")
        duration = body.get("duration", schema.durations[0])
        if duration not in schema.durations or type(duration) is not type(schema.durations[0]):
            return fal_error("duration", f"Input should be one of {schema.durations}", "enum")
        for key, choices in (("resolution", schema.resolutions), ("aspect_ratio", schema.aspects)):
            if key in body and body[key] not in choices:
                return fal_error(key, f"Input should be one of {choices}", "enum")
        if schema.required_image and schema.required_image not in body:
            return fal_error(schema.required_image, "Field required", "missing")
        for key in schema.images:
            if key in body and not _is_file_input(body[key]):
                return fal_error(key, "Input should be a URL or a data URI", "url_parsing")
        if "seed" in body and not isinstance(body["seed"], int):
            return fal_error("seed", "Input should be a valid integer", "int_type")
        return None

    def _request(self, app: str, request_id: str) -> Request | None:
        request = self.requests.get(request_id)
        return request if request is not None and request.app == app else None

    def _done(self, request: Request) -> bool:
        return self.finished(request.polls, time.monotonic() - request.created)

    def _status(self, app: str, request_id: str) -> Answer:
        request = self._request(app, request_id)
        if request is None:
            return 404, {}, {"detail": "Request not found"}
        request.polls += 1
        urls = {"response_url": f"{self.url}/{app}/requests/{request_id}"}
        if request.cancelled:
            return 200, {}, {"status": "CANCELLED", **urls}
        if not self._done(request):
            if request.polls <= 1:
                return 202, {}, {"status": "IN_QUEUE", "queue_position": 0, **urls}
            return 202, {}, {"status": "IN_PROGRESS", "logs": [], **urls}
        metrics = {"inference_time": 1.2}
        return 200, {}, {"status": "COMPLETED", "logs": [], "metrics": metrics, **urls}

    def _result(self, app: str, request_id: str) -> Answer:
        request = self._request(app, request_id)
        if request is None:
            return 404, {}, {"detail": "Request not found"}
        if not self._done(request):
            return 400, {}, {"detail": "Request is still in progress"}
        if self.outcome == "moderated":
            msg = "The content could not be processed: flagged by a content checker."
            return 422, {}, fal_error("prompt", msg, "content_policy_violation")
        if self.outcome == "failed":
            kind = "runner_server_error"
            detail = {"detail": "Runner failed while processing the request", "error_type": kind}
            return 500, {"X-Fal-Error-Type": kind}, detail
        return 200, {}, self._output(request)

    def _output(self, request: Request) -> dict[str, Any]:
        """A finished request's result: its video on the CDN."""
        family = request.endpoint.split("/")[1].split("-")[0]
        fmt = self.formats.get(family, ClipFormat())
        seconds = float(str(request.body.get("duration", 5)).rstrip("s"))
        data = clip_bytes(seconds, fmt)
        self.cdn.blobs[request.file_id] = data
        video = {
            "url": f"{self.cdn.url}/files/{request.file_id}",
            "content_type": "video/mp4",
            "file_name": "output.mp4",
            "file_size": len(data),
        }
        return {"video": video, "seed": request.body.get("seed", 7)}

    def _cancel(self, app: str, request_id: str) -> Answer:
        request = self._request(app, request_id)
        if request is None:
            return 404, {}, {"detail": "Request not found"}
        if request.polls > 1:
            return 400, {}, {"status": "ALREADY_COMPLETED"}
        request.cancelled = True
        return 202, {}, {"status": "CANCELLATION_REQUESTED"}


def _is_file_input(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return value.startswith(("https://", "http://127.0.0.1")) or is_image_data_uri(value)
