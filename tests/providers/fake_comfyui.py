"""A fake ComfyUI server as the protocol sheet (§8) and ComfyUI's ``server.py`` describe it:
``/upload/image`` (multipart), ``/prompt`` (validated like a Wan workflow: uploaded images,
4n+1 lengths, sizes in steps of 16), ``/queue`` rows ``[number, id, prompt, extra_data,
outputs]``, ``/history`` entries with outputs and status, ``/view`` for the saved video."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
from fake_clips import ClipFormat, clip_bytes
from fake_http import FakeJobServer, Seen, parse_multipart
from PIL import Image

Answer = tuple[int, dict[str, str], Any]
WORKFLOW = Path(__file__).parent / "workflows" / "wan_i2v.json"
INPUTS = {
    "prompt": "6.text",
    "negative_prompt": "7.text",
    "image": "52.image",
    "seed": "3.seed",
    "length": "50.length",
    "width": "50.width",
    "height": "50.height",
    "fps": "57.fps",
}


def animation_bytes(seconds: float, fps: int, kind: str) -> bytes:
    """An animated GIF or WebP of 64x36 grey pictures, ``seconds`` long at ``fps``."""
    frames = [
        Image.fromarray(np.full((36, 64, 3), (17 * i) % 255, np.uint8))
        for i in range(max(1, round(seconds * fps)))
    ]
    out = io.BytesIO()
    frames[0].save(
        out, format=kind.upper(), save_all=True, append_images=frames[1:],
        duration=round(1000 / fps), loop=0,
    )  # fmt: skip
    return out.getvalue()


def invalid(node: str, class_type: str, message: str) -> dict[str, Any]:
    error = {"type": "value_not_valid", "message": message, "details": message, "extra_info": {}}
    return {
        "error": {
            "type": "prompt_outputs_failed_validation",
            "message": "Prompt outputs failed validation",
            "details": "",
            "extra_info": {},
        },
        "node_errors": {
            node: {"errors": [error], "dependent_outputs": ["58"], "class_type": class_type}
        },
    }


@dataclass
class Prompt:
    id: str
    number: int
    graph: dict[str, Any]
    extra: dict[str, Any]
    created: float
    polls: int = 0
    cancelled: bool = False
    filename: str = field(default_factory=lambda: f"ComfyUI_{uuid.uuid4().hex[:6]}.mp4")

    def row(self) -> list[Any]:
        return [self.number, self.id, self.graph, self.extra, ["58"]]


class FakeComfyUI(FakeJobServer):
    """A ComfyUI server with one GPU: prompts run one at a time, in order. ``outcome``:
    ``ok``, ``failed`` (an execution error), ``never`` (runs forever)."""

    def __init__(self, clip_dir: Path) -> None:
        super().__init__(clip_dir, polls_to_finish=2)
        self.uploads: dict[str, bytes] = {}
        self.prompts: dict[str, Prompt] = {}
        self.history: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.number = 0
        self.format = ClipFormat(fps=16, width=64, height=36, rate=None)
        self.saves = "mp4"
        """What the save node writes: ``mp4`` (SaveVideo, listed under ``videos``), ``gif``
        (VHS_VideoCombine set to image/gif, under ``gifs``) or ``webp`` (SaveAnimatedWEBP,
        under ``images``)."""
        self.node_errors: dict[str, Any] = {}
        """Output nodes ``/prompt`` reports invalid and leaves out (answering 200): with
        any, nothing is saved."""

    def route(self, seen: Seen) -> tuple[str, Callable[[], Answer]]:
        path = seen.path.removeprefix("/api")
        if self.retired:
            return "other", lambda: (404, {"Content-Type": "text/plain"}, b"404: Not Found")
        if seen.method == "POST" and path == "/upload/image":
            return "upload", lambda: self._upload(seen)
        if seen.method == "POST" and path == "/prompt":
            return "create", lambda: self._prompt(seen)
        if seen.method == "GET" and path == "/queue":
            return "queue", lambda: (200, {}, self._queue())
        if seen.method == "GET" and path.startswith("/history/"):
            return "poll", lambda: self._history(path.rsplit("/", 1)[-1])
        if seen.method == "GET" and path == "/history":
            return "history", lambda: (200, {}, self.history)
        if seen.method == "GET" and path == "/view":
            return "view", lambda: self._view(seen)
        if seen.method == "POST" and path in ("/interrupt", "/queue"):
            return "cancel", lambda: self._cancel(path, seen)
        return "other", lambda: (404, {"Content-Type": "text/plain"}, b"404: Not Found")

    def _upload(self, seen: Seen) -> Answer:
        fields, files = parse_multipart(seen.headers.get("Content-Type", ""), seen.body)
        if "image" not in files:
            return 400, {}, b""
        name, _, data = files["image"]
        self.uploads[name] = data
        return 200, {}, {"name": name, "subfolder": fields.get("subfolder", ""), "type": "input"}

    def _prompt(self, seen: Seen) -> Answer:
        try:
            body = json.loads(seen.body)
        except ValueError:
            return 400, {}, {"error": "invalid json", "node_errors": []}
        graph = body.get("prompt") if isinstance(body, dict) else None
        if not isinstance(graph, dict):
            return 400, {}, {"error": "no prompt", "node_errors": []}
        problem = self._check(graph)
        if problem:
            return 400, {}, problem
        extra = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra["client_id"] = body["client_id"]
        self.number += 1
        prompt_id = str(uuid.uuid4())
        self.prompts[prompt_id] = Prompt(prompt_id, self.number, graph, extra, time.monotonic())
        self.submissions += 1
        answer = {"prompt_id": prompt_id, "number": self.number, "node_errors": self.node_errors}
        return 200, {}, answer

    def _check(self, graph: dict[str, Any]) -> dict[str, Any] | None:
        for node_id, node in graph.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return {"error": {"type": "invalid_prompt", "message": f"Node {node_id} has no "
                                  "class_type", "details": "", "extra_info": {}},
                        "node_errors": {}}  # fmt: skip
            kind, inputs = node["class_type"], node.get("inputs", {})
            if kind == "LoadImage" and inputs.get("image") not in self.uploads:
                return invalid(node_id, kind, f"Invalid image file: {inputs.get('image')}")
            if kind == "WanImageToVideo":
                length, width, height = inputs["length"], inputs["width"], inputs["height"]
                if not isinstance(length, int) or length < 1 or (length - 1) % 4:
                    return invalid(node_id, kind, f"length {length} is not 4n+1")
                if width % 16 or height % 16:
                    return invalid(node_id, kind, "width and height must be multiples of 16")
            if kind == "KSampler" and not isinstance(inputs.get("seed"), int):
                return invalid(node_id, kind, "seed must be an integer")
        return None

    def _queue(self) -> dict[str, Any]:
        waiting = sorted(
            (p for p in self.prompts.values() if p.id not in self.history and not p.cancelled),
            key=lambda p: p.number,
        )
        return {
            "queue_running": [p.row() for p in waiting[:1]],
            "queue_pending": [p.row() for p in waiting[1:]],
        }

    def _history(self, prompt_id: str) -> Answer:
        prompt = self.prompts.get(prompt_id)
        if prompt is None or prompt.cancelled:
            return 200, {}, {}
        if prompt_id not in self.history:
            prompt.polls += 1
            running = self._queue()["queue_running"]
            first = bool(running) and running[0][1] == prompt_id
            if first and self.finished(prompt.polls, time.monotonic() - prompt.created):
                self._finish(prompt)
        entry = self.history.get(prompt_id)
        return 200, {}, {prompt_id: entry} if entry is not None else {}

    def _finish(self, prompt: Prompt) -> None:
        row = prompt.row()
        if self.outcome == "failed":
            error = {
                "prompt_id": prompt.id,
                "node_id": "3",
                "node_type": "KSampler",
                "exception_message": "Allocation on device failed: out of memory",
                "exception_type": "torch.OutOfMemoryError",
                "traceback": [],
            }
            status = {"status_str": "error", "completed": False,
                      "messages": [["execution_start", {"prompt_id": prompt.id}],
                                   ["execution_error", error]]}  # fmt: skip
            self.history[prompt.id] = {"prompt": row, "outputs": {}, "status": status}
            return
        wan = prompt.graph["50"]["inputs"]
        fps = float(prompt.graph["57"]["inputs"]["fps"])
        fmt = ClipFormat(fps=round(fps), width=64, height=36, rate=self.format.rate)
        seconds = wan["length"] / fps
        status = {"status_str": "success", "completed": True,
                  "messages": [["execution_start", {"prompt_id": prompt.id}],
                               ["execution_success", {"prompt_id": prompt.id}]]}  # fmt: skip
        if self.node_errors:  # the save node was left out: the run saves nothing
            self.history[prompt.id] = {"prompt": row, "outputs": {}, "status": status}
            return
        name = prompt.filename.removesuffix(".mp4") + f".{self.saves}"
        if self.saves == "mp4":
            self.files[name] = clip_bytes(seconds, fmt)
        else:
            self.files[name] = animation_bytes(seconds, round(fps), self.saves)
        saved = {"filename": name, "subfolder": "video", "type": "output"}
        kind = {"mp4": "videos", "gif": "gifs", "webp": "images"}[self.saves]
        outputs = {"58": {kind: [saved], **({"animated": [True]} if kind == "images" else {})}}
        self.history[prompt.id] = {"prompt": row, "outputs": outputs, "status": status}

    def _view(self, seen: Seen) -> Answer:
        name = unquote(seen.query.get("filename", [""])[0])
        if seen.query.get("type") != ["output"] or name not in self.files:
            return 404, {}, b""
        return 200, {"Content-Type": "video/mp4"}, self.files[name]

    def video_bytes(self, route: str) -> bytes:
        return next(iter(self.files.values()))

    def _cancel(self, path: str, seen: Seen) -> Answer:
        body = json.loads(seen.body or b"{}")
        if path == "/queue":
            for prompt_id in body.get("delete", []):
                if prompt_id in self.prompts:
                    self.prompts[prompt_id].cancelled = True
        elif body.get("prompt_id") in self.prompts:
            self.prompts[body["prompt_id"]].cancelled = True
        return 200, {}, b""
