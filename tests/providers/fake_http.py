"""What every fake provider server shares: a threaded HTTP server on 127.0.0.1, injectable
faults, a request log, and real MP4 bytes made with PyAV.

Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import socket
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from cinestitch.media.writer import Mp4Writer

KEY = "sk-test-SECRET-0123456789abcdef"
"""The key every fake accepts; tests grep every output for it."""
CLIP_FPS = 12
CLIP_SIZE = (64, 36)


def mp4_bytes(seconds: float, directory: str) -> bytes:
    """A real, tiny H.264+AAC MP4 of ``seconds`` (made once per length and process)."""
    return _mp4_bytes(seconds)


@functools.cache
def _mp4_bytes(seconds: float) -> bytes:
    path = Path(tempfile.mkdtemp(prefix="fake-clips-")) / f"clip-{seconds:g}.mp4"
    width, height = CLIP_SIZE
    frames = round(seconds * CLIP_FPS)
    with Mp4Writer(path, width, height, CLIP_FPS) as writer:
        for i in range(frames):
            shade = np.full((height, width, 3), (i * 7) % 255, dtype=np.uint8)
            writer.write_frame(shade)
        writer.write_audio(np.zeros((2, int(seconds * 48000)), dtype=np.float32))
    data = path.read_bytes()
    path.unlink()
    path.parent.rmdir()
    return data


@dataclass
class Fault:
    """What to do instead of answering normally, once (``times`` times)."""

    kind: str
    """``status`` (answer ``status`` with ``body``), ``drop`` (close without answering),
    ``slow`` (sleep ``delay`` then answer normally), ``malformed`` (200, not JSON),
    ``truncated`` (half the body, then close), ``not_video`` (200, HTML)."""
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int = 1
    after_effect: bool = False
    """Apply the route's effect (e.g. create the job) before faulting."""


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class FakeServer:
    """A threaded HTTP server; subclasses route requests in ``handle``."""

    def __init__(self, clip_dir: Path) -> None:
        self.clip_dir = str(clip_dir)
        self.faults: dict[str, deque[Fault]] = {}
        self.seen: list[Seen] = []
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                server._dispatch(self)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def inject(self, route: str, fault: Fault) -> None:
        """Make the next request(s) to ``route`` misbehave as ``fault`` says."""
        with self.lock:
            self.faults.setdefault(route, deque()).append(fault)

    def _take_fault(self, route: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(route)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.popleft()
            return fault

    def requests_to(self, route: str) -> int:
        return self.counts[route]

    # -- dispatch ------------------------------------------------------------------------

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        seen = Seen(h.command, parts.path, parse_qs(parts.query), dict(h.headers.items()), body)
        with self.lock:
            self.seen.append(seen)
        route, effect = self.route(seen)
        with self.lock:
            self.counts[route] += 1
        fault = self._take_fault(route)
        if fault is not None and fault.after_effect:
            effect()
        if fault is not None and self._fault(h, fault, route):
            return
        status, headers, payload = effect()
        self._send(h, status, headers, payload)

    def route(self, seen: Seen) -> tuple[str, Callable[[], tuple[int, dict[str, str], Any]]]:
        raise NotImplementedError

    def _fault(self, h: BaseHTTPRequestHandler, fault: Fault, route: str) -> bool:
        """Act out ``fault``; ``True`` when the request is answered (or dropped)."""
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind == "drop":
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return True
        if fault.kind == "status":
            self._send(h, fault.status, fault.headers, fault.body)
            return True
        if fault.kind == "malformed":
            self._send(h, 200, {"Content-Type": "application/json"}, b'{"name": "oops", ')
            return True
        if fault.kind == "not_video":
            self._send(h, 200, {"Content-Type": "text/html"}, b"<html>Service busy</html>")
            return True
        if fault.kind == "truncated":
            data = self.video_bytes(route)
            h.send_response(200)
            h.send_header("Content-Type", "video/mp4")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return True
        raise AssertionError(f"unknown fault {fault.kind}")

    def video_bytes(self, route: str) -> bytes:
        return mp4_bytes(4.0, self.clip_dir)

    def _send(
        self, h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: Any
    ) -> None:
        if isinstance(payload, bytes):
            data = payload
        elif payload is None:
            data = b""
        else:
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **headers}
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)


class FakeJobServer(FakeServer):
    """A fake that makes jobs: the knobs tests turn, and when a job is finished.

    ``outcome`` says how finished jobs end (each fake names its words; ``never``: they never
    finish), ``retired`` makes the create endpoint answer 404, a job finishes after
    ``polls_to_finish`` polls and ``latency`` seconds, ``poll_after_ms`` is the poll hint
    where the protocol has one, and ``submissions`` counts the jobs made (what is billed)."""

    def __init__(
        self, clip_dir: Path, *, polls_to_finish: int = 1, poll_after_ms: int | None = None
    ) -> None:
        super().__init__(clip_dir)
        self.outcome = "ok"
        self.retired = False
        self.polls_to_finish = polls_to_finish
        self.latency = 0.0
        self.poll_after_ms = poll_after_ms
        self.submissions = 0

    def finished(self, polls: int, waited: float) -> bool:
        """Whether a job polled ``polls`` times, made ``waited`` seconds ago, has ended."""
        return not (
            self.outcome == "never" or polls < self.polls_to_finish or waited < self.latency
        )


def is_image_data_uri(value: str) -> bool:
    """``data:image/…;base64,…`` with a payload that is base64."""
    head, _, data = value.partition(",")
    if not (head.startswith("data:image/") and head.endswith(";base64")):
        return False
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """(plain fields, files as (filename, content type, bytes)) of a multipart body."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        data = part.get_payload(decode=True) or b""
        if filename:
            files[str(name)] = (filename, part.get_content_type(), data)
        else:
            fields[str(name)] = data.decode()
    return fields, files


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def every_text(*items: object) -> Iterator[str]:
    for item in items:
        yield str(item)
        yield repr(item)
