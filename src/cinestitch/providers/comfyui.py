"""A ComfyUI server (default ``http://127.0.0.1:8188``): upload, ``/prompt``, queue, history.

A shot is the project's workflow (API format) with the mapped node inputs filled in: the
reference image uploaded with ``POST /upload/image`` and named in its LoadImage node, the
prompt, seed, size and length in frames. ``POST /prompt`` queues it and answers its
``prompt_id``; ``GET /queue`` says whether it is pending or running, ``GET /history/{id}``
holds it once finished (its outputs, or the error); the saved video is fetched with
``GET /view?filename=…&subfolder=…&type=output``. The request key travels in
``extra_data``, which ComfyUI keeps in the queue and the history, so a submission whose
answer was lost can be found again (``lookup``). No key is needed; ``provider.key_env``
names one for a server behind an authenticating proxy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from cinestitch.errors import (
    GenerationFailedError,
    JobNotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from cinestitch.providers import _driver, _http
from cinestitch.providers import comfyui_workflow as workflows
from cinestitch.providers._images import PreparedImage, prepare_image
from cinestitch.providers.base import (
    GenerationRequest,
    JobHandle,
    JobState,
    JobStatus,
    LookupResult,
    Transport,
)
from cinestitch.providers.comfyui_workflow import WorkflowError
from cinestitch.providers.spec import DEFAULT_TRANSPORT

POLL_INTERVAL = 2.0
"""Seconds between polls of a local server when the manifest sets none."""
CLIENT_ID = "cinestitch"
KEY_FIELD = "cinestitch_request_key"
"""Where the request key is kept in ``extra_data``."""
OUTPUT_KINDS = ("videos", "gifs", "images")
"""History output lists that may hold the saved video (SaveVideo, VHS_VideoCombine,
SaveWEBM/SaveAnimated*)."""
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".mkv", ".m4v", ".gif")
"""What the stitch can read (an animated GIF is conformed like any clip; FFmpeg does not
decode animated WebP)."""


# -- pure ------------------------------------------------------------------------------------


def api_root(base_url: str | None) -> str:
    """The server root (every route is also under ``/api``; the plain ones are used)."""
    return (base_url or workflows.PUBLIC_BASE_URL).rstrip("/").removesuffix("/api")


def build_prompt_body(graph: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {"prompt": graph, "client_id": CLIENT_ID, "extra_data": {KEY_FIELD: key}}


def upload_name(image: PreparedImage) -> str:
    """A name by content, so uploading the same frame again overwrites it with itself."""
    suffix = "jpg" if image.mime_type == "image/jpeg" else "png"
    return f"cinestitch-{hashlib.sha256(image.data).hexdigest()[:20]}.{suffix}"


def uploaded_value(data: Any, fallback: str) -> str:
    """The LoadImage value of an upload answer ``{name, subfolder, type}``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        return fallback
    sub = data.get("subfolder")
    return f"{sub}/{data['name']}" if isinstance(sub, str) and sub else data["name"]


def pick_output(outputs: Any, preferred: str | None = None) -> dict[str, str] | None:
    """The saved video among a history entry's outputs (the preferred node's first)."""
    if not isinstance(outputs, Mapping):
        return None
    order = sorted(outputs, key=lambda n: (str(n) != preferred, str(n)))
    found: list[tuple[bool, bool, int, dict[str, str]]] = []
    for rank, node in enumerate(order):
        saved = outputs[node] if isinstance(outputs[node], Mapping) else {}
        for kind in OUTPUT_KINDS:
            items = saved.get(kind)
            for item in items if isinstance(items, list) else []:
                name = item.get("filename") if isinstance(item, Mapping) else None
                if isinstance(name, str) and name.lower().endswith(VIDEO_SUFFIXES):
                    file = {
                        "filename": name,
                        "subfolder": str(item.get("subfolder") or ""),
                        "type": str(item.get("type") or "output"),
                    }
                    gif = name.lower().endswith(".gif")  # a GIF preview beside a real video
                    found.append((str(node) != preferred, gif, rank, file))
    return min(found, key=lambda f: f[:3])[3] if found else None


def saved_names(outputs: Any, limit: int = 3) -> list[str]:
    """The names of the files a history entry's outputs hold (to say what was saved)."""
    names: list[str] = []
    for saved in outputs.values() if isinstance(outputs, Mapping) else []:
        for kind in OUTPUT_KINDS:
            items = saved.get(kind) if isinstance(saved, Mapping) else None
            for item in items if isinstance(items, list) else []:
                name = item.get("filename") if isinstance(item, Mapping) else None
                if isinstance(name, str) and name not in names:
                    names.append(name)
    return names[:limit]


def build_view_url(root: str, file: Mapping[str, str]) -> str:
    query = {k: file.get(k, "") for k in ("filename", "subfolder", "type")}
    return f"{root}/view?{urlencode(query)}"


def error_text(status: Any) -> str | None:
    """Why a finished prompt failed (its ``execution_error`` message), or ``None``."""
    if not isinstance(status, Mapping) or status.get("status_str") != "error":
        return None
    for message in status.get("messages") or []:
        if isinstance(message, list) and len(message) == 2 and message[0] == "execution_error":
            data = message[1] if isinstance(message[1], Mapping) else {}
            node = f"node {data.get('node_id')} ({data.get('node_type')})"
            said = _http.one_line(str(data.get("exception_message") or "no message"))
            return f"comfyui failed the job ({node}: {said}) — see the message; not retried"
    return "comfyui failed the job (the workflow stopped with an error) — see the server's log"


def was_interrupted(status: Any) -> bool:
    messages = status.get("messages") if isinstance(status, Mapping) else None
    return any(
        isinstance(m, list) and m and m[0] == "execution_interrupted" for m in messages or []
    )


def queue_ids(data: Any) -> tuple[list[str], list[str]]:
    """(running, pending) prompt ids of a ``/queue`` answer (rows ``[number, id, …]``)."""
    lists = []
    for name in ("queue_running", "queue_pending"):
        rows = data.get(name) if isinstance(data, Mapping) else None
        lists.append([str(r[1]) for r in rows or [] if isinstance(r, list) and len(r) > 1])
    return lists[0], lists[1]


def keyed_rows(queue: Any, history: Any) -> Iterator[tuple[str, Any]]:
    """(prompt id, extra_data) of every queued, running and finished prompt."""
    for name in ("queue_running", "queue_pending"):
        rows = queue.get(name) if isinstance(queue, Mapping) else None
        for row in rows or []:
            if isinstance(row, list) and len(row) > 3:
                yield str(row[1]), row[3]
    for prompt_id, entry in history.items() if isinstance(history, Mapping) else []:
        row = entry.get("prompt") if isinstance(entry, Mapping) else None
        if isinstance(row, list) and len(row) > 3:
            yield str(prompt_id), row[3]


# -- the driver ------------------------------------------------------------------------------


class ComfyUIProvider(_driver.HttpDriver):
    """A ComfyUI server; ``transport.base_url`` says where, ``client`` sends."""

    name = workflows.NAME
    default_key_env = "provider.key_env"
    """No key unless ``provider.key_env`` names one (a server behind an authenticating proxy)."""

    def __init__(
        self,
        work_dir: Path,
        transport: Transport = DEFAULT_TRANSPORT,
        client: httpx.Client | None = None,
        project_root: Path | None = None,
    ) -> None:
        self.project_root = Path(project_root) if project_root is not None else Path.cwd()
        super().__init__(work_dir, transport, client, project_root)

    def _root_of(self, base_url: str | None) -> str:
        return api_root(base_url)

    def _auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def _connect(self, client: httpx.Client | None, project_root: Path | None) -> _http.Api:
        if not self.transport.key_env:
            return self._api_with({}, client)
        return super()._connect(client, project_root)

    def submit(self, request: GenerationRequest, idempotency_key: str) -> JobHandle:
        options = request.options
        graph = self._workflow(options)
        roles = workflows.targets(options)
        shape = workflows.shape_of(options, request.seconds, request.width, request.height)
        values: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "seed": request.seed,
            "length": shape.frames,
            "width": shape.width,
            "height": shape.height,
            "fps": shape.fps,
        }
        for role, path in (("image", request.reference_image), ("end_image", request.end_image)):
            if (role in roles) != (path is not None):
                raise GenerationFailedError(_mismatch(role, path is not None), no_job=True)
            if path is not None:
                values[role] = self._upload(prepare_image(path))
        output = options.get("output")
        record: dict[str, Any] = {
            "sent_at": time.time(),
            "expected_seconds": shape.seconds,
            "output": str(output) if output is not None else None,
        }
        self._record(idempotency_key, record)
        body = build_prompt_body(workflows.fill(graph, options, values), idempotency_key)
        data, _ = self._api.send_json(
            "POST",
            f"{self.root}/prompt",
            what="submission",
            create=True,
            json=body,
            on_status=self._prompt_status(),
        )
        prompt_id = data.get("prompt_id") if isinstance(data, Mapping) else None
        dropped = _http.node_errors_text(
            data.get("node_errors") if isinstance(data, Mapping) else None
        )
        if dropped is not None:
            record = {**record, "dropped": dropped}
        if not isinstance(prompt_id, str) or not prompt_id:
            raise ProviderUnavailableError(
                "comfyui: the answer to /prompt has no prompt_id — the workflow may be queued; "
                "the next build looks for it in the queue and history",
                may_be_billed=True,
            )
        self._record(idempotency_key, {**record, "prompt_id": prompt_id})
        return self._handle(prompt_id, record)

    def poll(self, handle: JobHandle) -> JobStatus:
        return _driver.unless_overdue(handle, self.transport, self._poll_now(handle))

    def _poll_now(self, handle: JobHandle) -> JobStatus:
        interval = self.transport.poll_interval or POLL_INTERVAL
        entry = self._history_entry(handle.job_id)
        if entry is not None:
            return self._finished(handle, entry)
        data, _ = self._api.send_json("GET", f"{self.root}/queue", what="queue")
        running, pending = queue_ids(data)
        if handle.job_id in running:
            return JobStatus(handle.job_id, JobState.RUNNING, None, None, poll_after=interval)
        if handle.job_id in pending:
            where = f"{pending.index(handle.job_id) + 1} of {len(pending)} waiting"
            return JobStatus(handle.job_id, JobState.QUEUED, None, where, poll_after=interval)
        entry = self._history_entry(handle.job_id)  # it may have finished in between
        if entry is not None:
            return self._finished(handle, entry)
        raise JobNotFoundError(
            f"comfyui: prompt {handle.job_id} is neither queued, running nor in the history of "
            f"{urlsplit(self.root).netloc} — the server was restarted or its history cleared",
            may_be_billed=True,
        )

    def download(self, handle: JobHandle, dest: Path) -> None:
        seconds = _driver.expected_seconds(handle)
        file = handle.state.get("file")
        if not isinstance(file, Mapping):
            status = self.poll(handle)
            if status.state is not JobState.SUCCEEDED or status.handle is None:
                said = status.message or f"it is {status.state.value}"
                raise GenerationFailedError(f"comfyui: no video to fetch ({said})",
                                            may_be_billed=True)  # fmt: skip
            file = status.handle.state["file"]
        self._api.download(build_view_url(self.root, file), dest, expected_seconds=seconds)

    def cancel(self, handle: JobHandle) -> None:
        """Best effort: drop the prompt from the queue, or interrupt it if it is running."""
        with contextlib.suppress(ProviderError):
            data, _ = self._api.send_json("GET", f"{self.root}/queue", what="queue")
            running, pending = queue_ids(data)
            if handle.job_id in pending:
                self._api.send_json(
                    "POST", f"{self.root}/queue", what="cancel", json={"delete": [handle.job_id]}
                )
            elif handle.job_id in running:
                self._api.send_json(
                    "POST", f"{self.root}/interrupt", what="cancel",
                    json={"prompt_id": handle.job_id},
                )  # fmt: skip

    def lookup(self, idempotency_key: str) -> JobHandle | LookupResult:
        """The prompt submitted here for ``idempotency_key``, found by its key in the queue
        and the history; ``ABSENT`` when the server has no such prompt."""
        record = _driver.read_record(self.work_dir, idempotency_key)
        if record is None:
            return LookupResult.UNKNOWN
        if isinstance(record.get("prompt_id"), str):
            return self._handle(record["prompt_id"], record)
        try:
            queue, _ = self._api.send_json("GET", f"{self.root}/queue", what="queue")
            history, _ = self._api.send_json("GET", f"{self.root}/history", what="history")
        except ProviderError:
            return LookupResult.UNKNOWN
        for prompt_id, extra in keyed_rows(queue, history):
            if isinstance(extra, Mapping) and extra.get(KEY_FIELD) == idempotency_key:
                return self._handle(prompt_id, record)
        return LookupResult.ABSENT

    # -- helpers ---------------------------------------------------------------------------

    def _workflow(self, options: Mapping[str, Any]) -> dict[str, Any]:
        relative = options.get("workflow")
        if not isinstance(relative, str):
            raise GenerationFailedError(
                "comfyui: no workflow — set provider.options.workflow", no_job=True
            )
        try:
            graph, sha = workflows.read_workflow(self.project_root, relative)
        except WorkflowError as exc:
            raise GenerationFailedError(f"comfyui: {exc}", no_job=True) from None
        planned = options.get(workflows.DIGEST_KEY)
        if isinstance(planned, str) and planned != sha:
            raise GenerationFailedError(
                f"comfyui: {relative} changed since this build was planned — run the build again",
                no_job=True,
            )
        problems = workflows.check_workflow(graph, options, relative)
        if problems:
            raise GenerationFailedError(f"comfyui: {problems[0]}", no_job=True)
        return graph

    def _upload(self, image: PreparedImage) -> str:
        name = upload_name(image)
        try:
            data, _ = self._api.send_json(
                "POST",
                f"{self.root}/upload/image",
                what="upload of the reference image",
                files={"image": (name, image.data, image.mime_type)},
                data={"overwrite": "true", "type": "input"},
                on_status=self._not_comfyui("/upload/image"),
            )
        except ProviderError as exc:
            raise type(exc)(str(exc), no_job=True) from None
        return uploaded_value(data, name)

    def _history_entry(self, prompt_id: str) -> Mapping[str, Any] | None:
        data, _ = self._api.send_json("GET", f"{self.root}/history/{prompt_id}", what="poll")
        entry = data.get(prompt_id) if isinstance(data, Mapping) else None
        return entry if isinstance(entry, Mapping) else None

    def _finished(self, handle: JobHandle, entry: Mapping[str, Any]) -> JobStatus:
        status = entry.get("status")
        if was_interrupted(status):
            return JobStatus(handle.job_id, JobState.CANCELLED, None, "interrupted on the server")
        failed = error_text(status)
        if failed is not None:
            return JobStatus(handle.job_id, JobState.FAILED, None, failed)
        preferred = handle.state.get("output")
        file = pick_output(entry.get("outputs"), preferred if isinstance(preferred, str) else None)
        if file is None:
            saved = saved_names(entry.get("outputs"))
            what = f" (it saved {', '.join(saved)})" if saved else ""
            dropped = handle.state.get("dropped")
            left = f"; the server left out {dropped}" if isinstance(dropped, str) else ""
            message = (
                f"comfyui finished the workflow but it saved no video{what}{left} — end it "
                "with a SaveVideo or VHS_VideoCombine node saving mp4, webm or gif (or name "
                "that node in provider.options.output)"
            )
            return JobStatus(handle.job_id, JobState.FAILED, None, message)
        return JobStatus(
            handle.job_id, JobState.SUCCEEDED, 1.0, None, handle=handle.with_state(file=file)
        )

    def _handle(self, prompt_id: str, record: Mapping[str, Any]) -> JobHandle:
        state = {
            "expected_seconds": record.get("expected_seconds"),
            "submitted_at": record.get("sent_at"),
            "output": record.get("output"),
            **({"dropped": record["dropped"]} if isinstance(record.get("dropped"), str) else {}),
        }
        return JobHandle(self.name, prompt_id, state)

    def _record(self, key: str, record: Mapping[str, Any]) -> None:
        _driver.write_record(self.name, self.work_dir, key, json.dumps(record))

    def _prompt_status(self) -> _http.StatusHook:
        def hook(status: int, said: str) -> ProviderError | None:
            if status == 400:
                return GenerationFailedError(
                    f"comfyui: refused the workflow (HTTP 400: {said}) — fix the workflow or "
                    "provider.options.inputs; nothing was queued",
                    no_job=True,
                )
            return self._not_comfyui("/prompt")(status, said)

        return hook

    def _not_comfyui(self, path: str) -> _http.StatusHook:
        host = urlsplit(self.root).netloc

        def hook(status: int, said: str) -> ProviderError | None:
            if status in (404, 405):
                return ProviderError(
                    f"comfyui: {host} has no {path} (HTTP {status}: {said}) — it is not a "
                    "ComfyUI server, or its API was retired; check provider.base_url",
                    no_job=True,
                )
            return None

        return hook


def _mismatch(role: str, given: bool) -> str:
    frame = "first frame" if role == "image" else "end frame"
    if given:
        return f"comfyui: the workflow takes no {frame} — map provider.options.inputs.{role}"
    return f"comfyui: the workflow needs a {frame} (inputs.{role}) and the segment has none"
