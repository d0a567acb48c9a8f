"""A fake Gemini API serving Veo as the protocol sheet (§2) describes it: predictLongRunning,
operations, a file download that redirects to storage on another origin."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_http import KEY, FakeJobServer, FakeServer, Seen, mp4_bytes

Answer = tuple[int, dict[str, str], Any]
CREATE = re.compile(r"/v1beta/models/([^/:]+):predictLongRunning")
OPERATION = re.compile(r"/v1beta/(models/[^/]+/operations/[^/:]+)")
CANCEL = re.compile(r"/v1beta/(models/[^/]+/operations/[^/:]+):cancel")
FILE = re.compile(r"/v1beta/files/([^/:]+):download")
EXTENSION_SECONDS = 7
"""What a Veo extension adds to the video it is given (its answer holds both)."""
MODELS = (
    "veo-3.1-generate-preview",
    "veo-3.1-fast-generate-preview",
    "veo-3.1-lite-generate-preview",
)


def google_error(code: int, status: str, message: str, reason: str | None = None) -> Any:
    """Google's error envelope (with an ``ErrorInfo`` detail when ``reason`` is given)."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": reason, "domain": "googleapis.com"}]  # fmt: skip
    return {"error": error}


def invalid_argument(message: str) -> Answer:
    """Google's answer to a request it refuses as malformed."""
    return 400, {}, google_error(400, "INVALID_ARGUMENT", message)


def checked_body(seen: Seen, check: Callable[[Any], str | None]) -> tuple[Any, Answer | None]:
    """The request's JSON body, and Google's refusal of it (not JSON, or the problem
    ``check`` finds) or ``None``."""
    try:
        body = json.loads(seen.body)
    except ValueError:
        return None, invalid_argument("Invalid JSON payload received.")
    problem = check(body)
    return body, invalid_argument(problem) if problem else None


@dataclass
class Operation:
    name: str
    model: str
    seconds: int
    created: float
    body: dict[str, Any]
    polls: int = 0
    file_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])


class StorageServer(FakeServer):
    """Where the file download redirects: another origin, which must never see the key."""

    def __init__(self, clip_dir: Path) -> None:
        super().__init__(clip_dir)
        self.blobs: dict[str, bytes] = {}

    def route(self, seen: Seen) -> tuple[str, Callable[[], Answer]]:
        blob = self.blobs.get(seen.path.rsplit("/", 1)[-1])
        if blob is None:
            return "blob", lambda: (404, {}, b"no such blob")
        return "blob", lambda: (200, {"Content-Type": "video/mp4"}, blob)

    def video_bytes(self, route: str) -> bytes:
        return next(iter(self.blobs.values()))


class FakeVeo(FakeJobServer):
    """Gemini API ``v1beta`` for Veo; ``outcome`` decides how finished jobs end: ``ok``,
    ``filtered`` (done, no samples, RAI count), ``failed`` (error), ``never``."""

    def __init__(self, clip_dir: Path, storage: StorageServer) -> None:
        super().__init__(clip_dir)
        self.storage = storage
        self.operations: dict[str, Operation] = {}

    def route(self, seen: Seen) -> tuple[str, Callable[[], Answer]]:
        if seen.headers.get("x-goog-api-key") != KEY:  # the Gemini API's answer to a bad key
            error = google_error(400, "INVALID_ARGUMENT",
                                 "API key not valid. Please pass a valid API key.",
                                 "API_KEY_INVALID")  # fmt: skip
            return "auth", lambda: (400, {}, error)
        if seen.method == "POST" and (m := CREATE.fullmatch(seen.path)):
            return "create", lambda: self._create(m.group(1), seen)
        if seen.method == "POST" and (m := CANCEL.fullmatch(seen.path)):
            return "cancel", lambda: (200, {}, {})
        if seen.method == "GET" and (m := OPERATION.fullmatch(seen.path)):
            return "poll", lambda: self._poll(m.group(1))
        if seen.method == "GET" and (m := FILE.fullmatch(seen.path)):
            return "file", lambda: self._file(m.group(1), seen)
        return "other", lambda: (404, {}, google_error(404, "NOT_FOUND", "Not found."))

    def _create(self, model: str, seen: Seen) -> Answer:
        if model not in MODELS:
            return 404, {}, google_error(404, "NOT_FOUND", f"models/{model} is not found")
        body, refused = checked_body(seen, lambda b: self._check(model, b))
        if refused is not None:
            return refused
        name = f"models/{model}/operations/{uuid.uuid4().hex[:12]}"
        seconds = int(body["parameters"].get("durationSeconds", 8))
        extended = self._extended(body["instances"][0])
        if extended is not None:  # one video: the clip it was given, then 7 s more
            seconds = extended.seconds + EXTENSION_SECONDS
        self.operations[name] = Operation(name, model, seconds, time.monotonic(), body)
        self.submissions += 1
        return 200, {}, {"name": name}

    def _extended(self, instance: dict[str, Any]) -> Operation | None:
        """The operation whose video an extension request names, if it names one."""
        video = instance.get("video")
        uri = video.get("uri") if isinstance(video, dict) else None
        found = FILE.search(uri) if isinstance(uri, str) else None
        if found is None:
            return None
        return next((op for op in self.operations.values() if op.file_id == found[1]), None)

    def _check(self, model: str, body: Any) -> str | None:
        instances = body.get("instances") if isinstance(body, dict) else None
        if not isinstance(instances, list) or len(instances) != 1:
            return "instances must hold one instance"
        instance, params = instances[0], body.get("parameters") or {}
        if not isinstance(instance.get("prompt"), str) or not instance["prompt"]:
            return "instances[0].prompt is required"
        for key in ("image", "lastFrame"):
            if key in instance:
                image = instance[key]
                if set(image) != {"bytesBase64Encoded", "mimeType"}:
                    return f"{key} must have bytesBase64Encoded and mimeType"
                try:
                    base64.b64decode(image["bytesBase64Encoded"], validate=True)
                except (binascii.Error, ValueError):
                    return f"{key}.bytesBase64Encoded is not base64"
                if image["mimeType"] not in ("image/png", "image/jpeg"):
                    return f"{key}.mimeType {image['mimeType']} is not supported"
        if "lastFrame" in instance and "lite" in model:
            return "lastFrame is not supported by this model"
        seconds = params.get("durationSeconds", 8)
        if seconds not in (4, 6, 8):
            return f"durationSeconds {seconds} is out of bound"
        resolution = params.get("resolution", "720p")
        if resolution not in ("720p", "1080p", "4k") or ("lite" in model and resolution == "4k"):
            return f"resolution {resolution} is not supported"
        if resolution != "720p" and seconds != 8:
            return f"{resolution} requires durationSeconds 8"
        if params.get("aspectRatio", "16:9") not in ("16:9", "9:16"):
            return "aspectRatio must be 16:9 or 9:16"
        return None

    def _poll(self, name: str) -> Answer:
        op = self.operations.get(name)
        if op is None:
            return 404, {}, google_error(404, "NOT_FOUND", f"Operation {name} not found")
        op.polls += 1
        if not self.finished(op.polls, time.monotonic() - op.created):
            return 200, {}, {"name": name, "done": False, "metadata": {}}
        if self.outcome == "failed":
            error = {"code": 13, "message": "Video generation failed due to an internal error."}
            return 200, {}, {"name": name, "done": True, "error": error}
        if self.outcome == "filtered":
            reasons = ["The prompt could not be submitted: it may violate our policies."]
            response = {
                "generateVideoResponse": {
                    "raiMediaFilteredCount": 1,
                    "raiMediaFilteredReasons": reasons,
                }
            }
            return 200, {}, {"name": name, "done": True, "response": response}
        self.storage.blobs[op.file_id] = mp4_bytes(float(op.seconds), self.clip_dir)
        uri = f"{self.url}/v1beta/files/{op.file_id}:download?alt=media"
        samples = [{"video": {"uri": uri}}]
        response = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
            "PredictLongRunningResponse",
            "generateVideoResponse": {"generatedSamples": samples},
        }
        return 200, {}, {"name": name, "done": True, "response": response}

    def _file(self, file_id: str, seen: Seen) -> Answer:
        if seen.query.get("alt") != ["media"]:
            return 400, {}, google_error(400, "INVALID_ARGUMENT", "alt=media is required")
        return 302, {"Location": f"{self.storage.url}/blob/{file_id}"}, b""

    def video_bytes(self, route: str) -> bytes:
        return mp4_bytes(8.0, self.clip_dir)
