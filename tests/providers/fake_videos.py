"""A fake ``/v1/videos`` server as the protocol sheet (§1) describes OpenAI's and its
gateways': create (multipart or JSON), retrieve, content, list, and a retired mode."""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fake_http import KEY, FakeJobServer, Seen, mp4_bytes, parse_multipart
from PIL import Image

Answer = tuple[int, dict[str, str], Any]
SECONDS = ("4", "8", "12", "16", "20")
SIZES = {
    "sora-2": ("720x1280", "1280x720"),
    "sora-2-pro": ("720x1280", "1280x720", "1024x1792", "1792x1024", "1920x1080", "1080x1920"),
}


@dataclass(frozen=True)
class Flavour:
    """How one gateway speaks the shape (the server side of a dialect)."""

    auth: str = "bearer"
    path: str = "/v1/videos"
    bodies: tuple[str, ...] = ("multipart", "json")
    ms: bool = False
    queued: str = "queued"
    running: str = "in_progress"
    lists: bool = False
    models_open: bool = False
    content: bool = True
    """``GET path/{id}/content``; else the finished job names a ``video_url`` on /files/."""


FLAVOURS = {
    "openai": Flavour(lists=True),
    "litellm": Flavour(
        bodies=("multipart",), queued="processing", running="processing", models_open=True
    ),
    "new-api": Flavour(bodies=("multipart",), ms=True, running="unknown", models_open=True),
    "json": Flavour(bodies=("json",)),
    "bare-key": Flavour(auth="bare", bodies=("multipart",), queued="submitted"),
    "classic": Flavour(
        auth="bare",
        path="/v1/video/generations",
        bodies=("json",),
        queued="submitted",
        running="processing",
        content=False,
    ),
}


def openai_error(
    message: str,
    type_: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@dataclass
class Job:
    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    created: float
    polls: int = 0
    reference: tuple[int, int] | None = None


class FakeVideos(FakeJobServer):
    """A ``/v1/videos`` server in one dialect; ``outcome``: ``ok``, ``failed``, ``moderated``,
    ``never``."""

    def __init__(self, clip_dir: Path, dialect: str = "openai") -> None:
        super().__init__(clip_dir, poll_after_ms=20)
        self.flavour = FLAVOURS[dialect]
        self.jobs: dict[str, Job] = {}
        self.bodies: list[str] = []
        """The body type of each accepted create (multipart or json)."""
        self.shows_prompt = True
        """Whether job objects carry ``prompt`` (optional in the SDK's ``Video``)."""

    # -- routing -------------------------------------------------------------------------

    def route(self, seen: Seen) -> tuple[str, Callable[[], Answer]]:
        want = f"Bearer {KEY}" if self.flavour.auth == "bearer" else KEY
        if seen.headers.get("Authorization") != want:
            error = openai_error("Incorrect API key provided.", code="invalid_api_key")
            return "auth", lambda: (401, {}, error)
        base = self.flavour.path
        if self.retired and seen.path.startswith(base):
            error = openai_error(
                "The model `sora-2` does not exist or you do not have access to it.",
                code="model_not_found",
            )
            return "retired", lambda: (404, {}, error)
        if seen.path.startswith("/files/") and seen.method == "GET":
            job_id = seen.path.removeprefix("/files/").removesuffix(".mp4")
            return "file", lambda: self._content(job_id, seen)
        rest = seen.path[len(base) :] if seen.path.startswith(base) else None
        if rest == "" and seen.method == "POST":
            return "create", lambda: self._create(seen)
        if rest == "" and seen.method == "GET":
            if not self.flavour.lists:
                return "list", lambda: (404, {}, openai_error("Not found"))
            return "list", self._list
        parts = (rest or "").strip("/").split("/")
        if rest and len(parts) == 1 and seen.method == "GET":
            return "poll", lambda: self._poll(parts[0])
        if rest and len(parts) == 1 and seen.method == "DELETE":
            return "cancel", lambda: (
                200,
                {},
                {"id": parts[0], "object": "video.deleted", "deleted": True},
            )
        if (
            rest
            and len(parts) == 2
            and parts[1] == "content"
            and self.flavour.content
            and seen.method == "GET"
        ):
            return "content", lambda: self._content(parts[0], seen)
        return "other", lambda: (404, {}, openai_error(f"Invalid URL ({seen.method} {seen.path})"))

    # -- create --------------------------------------------------------------------------

    def _create(self, seen: Seen) -> Answer:
        ctype = seen.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data") and "multipart" in self.flavour.bodies:
            fields, files = parse_multipart(ctype, seen.body)
            image = files.get("input_reference")
            if "input_reference" in fields:
                return (
                    400,
                    {},
                    openai_error(
                        "Invalid type for 'input_reference': expected a file, "
                        "but got a string instead.",
                        code="invalid_type",
                        param="input_reference",
                    ),
                )
            picture = image[2] if image else None
            kind = "multipart"
        elif ctype.startswith("application/json") and "json" in self.flavour.bodies:
            try:
                body = json.loads(seen.body)
            except ValueError:
                return 400, {}, openai_error("We could not parse the JSON body of your request.")
            fields = {k: v for k, v in body.items() if k != "input_reference"}
            if not all(isinstance(v, str) for v in fields.values()):
                return (
                    400,
                    {},
                    openai_error(
                        "seconds, size, model and prompt must be strings", code="invalid_type"
                    ),
                )
            picture, problem = self._json_reference(body.get("input_reference"))
            if problem:
                return 400, {}, openai_error(problem, param="input_reference")
            kind = "json"
        else:
            return 400, {}, openai_error(f"Unsupported content type {ctype!r}")
        model = fields.get("model", "sora-2")
        seconds, size = fields.get("seconds", "4"), fields.get("size", "720x1280")
        if not fields.get("prompt"):
            return 400, {}, openai_error("Missing required parameter: 'prompt'.", param="prompt")
        if model not in SIZES and not self.flavour.models_open:
            return 400, {}, openai_error(f"Invalid model {model!r}", param="model")
        if seconds not in SECONDS:
            return (
                400,
                {},
                openai_error(
                    f"Invalid value: '{seconds}'. Supported values are: '4', '8', and '12'.",
                    param="seconds",
                ),
            )
        if size not in SIZES.get(model, SIZES["sora-2-pro"]):
            return 400, {}, openai_error(f"Invalid value: '{size}'.", param="size")
        reference = None
        if picture is not None:
            try:
                reference = Image.open(io.BytesIO(picture)).size
            except OSError:
                return (
                    400,
                    {},
                    openai_error("The image could not be decoded.", param="input_reference"),
                )
            if f"{reference[0]}x{reference[1]}" != size:
                return (
                    400,
                    {},
                    openai_error(
                        "Inpaint image must match the requested width and height",
                        param="input_reference",
                    ),
                )
        job = Job(
            f"video_{uuid.uuid4().hex[:16]}",
            model,
            fields["prompt"],
            seconds,
            size,
            time.time(),
            reference=reference,
        )
        self.jobs[job.id] = job
        self.submissions += 1
        self.bodies.append(kind)
        return 200, {}, self._video(job, self.flavour.queued)

    def _json_reference(self, value: Any) -> tuple[bytes | None, str | None]:
        if value is None:
            return None, None
        if not isinstance(value, dict):
            return None, "Invalid type for 'input_reference': expected an object."
        if len(value) != 1 or not ({"image_url", "file_id"} & set(value)):
            return None, "input_reference needs exactly one of image_url or file_id"
        url = value.get("image_url")
        if not isinstance(url, str) or not url.startswith("data:image/") or ";base64," not in url:
            return None, "image_url must be a URL or a base64 data URL"
        return base64.b64decode(url.split(",", 1)[1]), None

    # -- the job -------------------------------------------------------------------------

    def _stamp(self, t: float | None) -> int | None:
        if t is None:
            return None
        return int(t * 1000) if self.flavour.ms else int(t)

    def _video(self, job: Job, status: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": job.id,
            "object": "video",
            "model": job.model,
            "status": status,
            "progress": extra.pop("progress", 0),
            "created_at": self._stamp(job.created),
            "completed_at": None,
            "expires_at": None,
            **({"prompt": job.prompt} if self.shows_prompt else {}),
            "seconds": job.seconds,
            "size": job.size,
            "remixed_from_video_id": None,
            "error": None,
            **extra,
        }

    def _status_of(self, job: Job) -> tuple[str, dict[str, Any]]:
        if not self.finished(job.polls, time.time() - job.created):
            return self.flavour.running, {"progress": 40}
        if self.outcome == "failed":
            return "failed", {
                "error": {"code": "internal_error", "message": "Video generation failed."}
            }
        if self.outcome == "moderated":
            return "failed", {
                "error": {
                    "code": "moderation_blocked",
                    "message": "Your request was blocked by our moderation system.",
                }
            }
        done = {
            "progress": 100,
            "completed_at": self._stamp(time.time()),
            "expires_at": self._stamp(time.time() + 3600),
        }
        if not self.flavour.content:
            done["video_url"] = f"{self.url}/files/{job.id}.mp4"
        return "completed", done

    def _poll(self, job_id: str) -> Answer:
        job = self.jobs.get(job_id)
        if job is None:
            return 404, {}, openai_error(f"Video with id '{job_id}' not found.", code="not_found")
        job.polls += 1
        status, extra = self._status_of(job)
        headers = (
            {} if self.poll_after_ms is None else {"openai-poll-after-ms": str(self.poll_after_ms)}
        )
        return 200, headers, self._video(job, status, **extra)

    def _content(self, job_id: str, seen: Seen) -> Answer:
        job = self.jobs.get(job_id)
        if job is None:
            return 404, {}, openai_error(f"Video with id '{job_id}' not found.", code="not_found")
        if self._status_of(job)[0] != "completed":
            return 400, {}, openai_error("Video is not ready yet.")
        return 200, {"Content-Type": "video/mp4"}, mp4_bytes(float(job.seconds), self.clip_dir)

    def _list(self) -> Answer:
        jobs = sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)
        data = [self._video(j, self._status_of(j)[0]) for j in jobs]
        return 200, {}, {"object": "list", "data": data, "has_more": False}

    def video_bytes(self, route: str) -> bytes:
        job = next(iter(self.jobs.values()))
        return mp4_bytes(float(job.seconds), self.clip_dir)
