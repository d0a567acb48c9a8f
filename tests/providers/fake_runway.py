"""A fake Runway API as the protocol sheet (§3) and Runway's SDK types describe it: version
header required, camelCase bodies validated per model (ratio, duration, promptImage
positions, data URIs up to 5 MB), tasks going PENDING -> THROTTLED -> RUNNING -> SUCCEEDED,
SAFETY failures, DELETE to cancel, outputs on another origin."""

from __future__ import annotations

import json
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
VERSION = "2024-11-06"
GEN4 = ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")
VEO = ("1280:720", "720:1280", "1080:1920", "1920:1080")


@dataclass(frozen=True)
class Model:
    durations: tuple[int, ...]
    ratios: tuple[str, ...]
    text_ratios: tuple[str, ...] = ()
    positions: tuple[str, ...] = ("first",)
    extra: tuple[str, ...] = ()


MODELS = {
    "gen4.5": Model(
        tuple(range(2, 11)), GEN4, ("1280:720", "720:1280"), extra=("seed", "contentModeration")
    ),
    "gen4_turbo": Model(tuple(range(2, 11)), GEN4, extra=("seed", "contentModeration")),
    "veo3.1": Model((4, 6, 8), VEO, VEO, ("first", "last"), ("audio", "negativePrompt")),
    "veo3.1_fast": Model((4, 6, 8), VEO, VEO, ("first", "last"), ("audio", "negativePrompt")),
    "veo3": Model((8,), VEO, VEO, extra=("negativePrompt",)),
}
FORMAT = ClipFormat(fps=24, width=64, height=36, rate=None)
"""gen4.5 clips have no sound."""


def runway_error(message: str) -> dict[str, Any]:
    return {"error": message}


@dataclass
class Task:
    id: str
    body: dict[str, Any]
    created: float
    polls: int = 0
    cancelled: bool = False
    file_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])


class FakeRunway(FakeJobServer):
    """Runway's ``/v1`` on ``url``; ``storage`` serves the outputs. ``outcome``: ``ok``,
    ``moderated`` (SAFETY.INPUT.TEXT), ``failed`` (INTERNAL), ``never``."""

    def __init__(self, clip_dir: Path, storage: StorageServer) -> None:
        super().__init__(clip_dir, polls_to_finish=3)
        self.storage = storage
        self.tasks: dict[str, Task] = {}
        self.throttle = True
        self.format = FORMAT

    def route(self, seen: Seen) -> tuple[str, Callable[[], Answer]]:
        if seen.headers.get("Authorization") != f"Bearer {KEY}":
            return "auth", lambda: (401, {}, runway_error("Invalid API key"))
        if seen.headers.get("X-Runway-Version") != VERSION:
            message = "The X-Runway-Version header is missing or not a supported version."
            return "version", lambda: (400, {}, runway_error(message))
        if seen.method == "POST" and seen.path in ("/v1/image_to_video", "/v1/text_to_video"):
            return "create", lambda: self._create(seen)
        if seen.path.startswith("/v1/tasks/"):
            task_id = seen.path.rsplit("/", 1)[-1]
            if seen.method == "GET":
                return "poll", lambda: self._poll(task_id)
            if seen.method == "DELETE":
                return "cancel", lambda: self._delete(task_id)
        return "other", lambda: (404, {}, runway_error("Not found"))

    def _create(self, seen: Seen) -> Answer:
        if self.retired:
            return 404, {}, runway_error("This endpoint or model is no longer available.")
        try:
            body = json.loads(seen.body)
        except ValueError:
            return 400, {}, runway_error("Invalid JSON body")
        problem = self._check(body, text=seen.path == "/v1/text_to_video")
        if problem:
            return 400, {}, {"error": problem, "issues": [{"message": problem}]}
        task_id = str(uuid.uuid4())
        self.tasks[task_id] = Task(task_id, body, time.monotonic())
        self.submissions += 1
        return 200, {}, {"id": task_id}

    def _check(self, body: Any, *, text: bool) -> str | None:
        model = MODELS.get(body.get("model")) if isinstance(body, dict) else None
        if model is None:
            return "model: Invalid enum value"
        allowed = {"model", "promptText", "ratio", "duration", *model.extra}
        if not text:
            allowed.add("promptImage")
        for key in sorted(set(body) - allowed):
            return f"{key}: Unrecognized key"
        prompt = body.get("promptText")
        if not isinstance(prompt, str) or not prompt or len(prompt) > 1000:
            return "promptText: must be a non-empty string up to 1000 characters"
        ratios = model.text_ratios if text else model.ratios
        if body.get("ratio") not in ratios:
            return f"ratio: Invalid enum value. Expected {' | '.join(ratios)}"
        duration = body.get("duration")
        if not isinstance(duration, int) or isinstance(duration, bool):
            return "duration: Expected number"
        if duration not in model.durations:
            return f"duration: must be one of {model.durations}"
        if "audio" in body and not isinstance(body["audio"], bool):
            return "audio: Expected boolean"
        if not text:
            return self._check_images(body.get("promptImage"), model)
        return None

    def _check_images(self, images: Any, model: Model) -> str | None:
        if not isinstance(images, list) or not images:
            return "promptImage: Required"
        positions = [i.get("position") if isinstance(i, dict) else None for i in images]
        if positions[0] != "first" or any(p not in model.positions for p in positions):
            return f"promptImage: positions must be {' or '.join(model.positions)}, first first"
        for image in images:
            if not _is_image_uri(image.get("uri")):
                return "promptImage.uri: must be an HTTPS URL or a data URI of at most 5 MB"
        return None

    def _poll(self, task_id: str) -> Answer:
        task = self.tasks.get(task_id)
        if task is None:
            return 404, {}, runway_error("Task not found")
        task.polls += 1
        base = {"id": task.id, "createdAt": "2026-11-24T10:00:00.000Z"}
        if task.cancelled:
            return 200, {}, {**base, "status": "CANCELLED"}
        if not self.finished(task.polls, time.monotonic() - task.created):
            if task.polls == 1:
                return 200, {}, {**base, "status": "PENDING"}
            if task.polls == 2 and self.throttle:
                return 200, {}, {**base, "status": "THROTTLED"}
            return 200, {}, {**base, "status": "RUNNING", "progress": min(0.9, 0.2 * task.polls)}
        if self.outcome == "moderated":
            failure = "Your prompt was flagged by our content moderation system."
            failed = {"status": "FAILED", "failure": failure, "failureCode": "SAFETY.INPUT.TEXT"}
            return 200, {}, {**base, **failed}
        if self.outcome == "failed":
            failure = "An unexpected error occurred while generating."
            failed = {"status": "FAILED", "failure": failure, "failureCode": "INTERNAL"}
            return 200, {}, {**base, **failed}
        self.storage.blobs[task.file_id] = clip_bytes(float(task.body["duration"]), self.format)
        url = f"{self.storage.url}/runway-outputs/{task.file_id}"
        return 200, {}, {**base, "status": "SUCCEEDED", "output": [url]}

    def _delete(self, task_id: str) -> Answer:
        task = self.tasks.get(task_id)
        if task is None:
            return 404, {}, runway_error("Task not found")
        task.cancelled = True
        return 204, {}, None


def _is_image_uri(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return value.startswith("https://") or (
        len(value) <= 5 * 1024 * 1024 and is_image_data_uri(value)
    )
