"""Shared pieces of the team tests: a real S3 protocol server on 127.0.0.1 (moto's server
mode), tiny projects, clones, builds in fresh processes, and a proxy that can vanish."""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import subprocess
import sys
import textwrap
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.conftest import PROJECT_DODO, clean_env

ACCESS_KEY = "AKIACINESTITCHTEST01"
SECRET_KEY = "cinestitch-test-secret-Zx81qWv0"
"""Distinctive credentials: no output may ever contain them."""

MANIFEST = """
    schema_version: 1
    title: Team reel
    output: {path: build/reel.mp4, size: 64x36, fps: 12}
    provider: {name: animatic, price_per_second: 0.25}
    defaults: {seconds: 1, transition: {type: cut}}
    segments:
      - {id: a, template: a.j2, reference: none}
      - {id: b, template: b.j2}
      - {id: c, template: c.j2, reference: none}
      - {id: d, template: d.j2}
"""
TEMPLATES = {f"{s}.j2": f"Shot {s}: a paper boat drifts, take {s}.\n" for s in "abcd"}
FINAL = Path("build") / "reel.mp4"
GITIGNORE = "build/\n.doit.db*\n.cinestitch/\n.env\n"


@dataclass(frozen=True)
class S3:
    """The S3 server the tests started: its endpoint, and a client for arranging buckets."""

    endpoint: str

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def new_bucket(self) -> str:
        name = f"team-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        found = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(o["Key"] for o in found.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return bytes(self.client().get_object(Bucket=bucket, Key=key)["Body"].read())

    def write(self, bucket: str, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=data)

    def seed(self, bucket: str, prefix: str, cache: Path) -> None:
        """Upload a local cache's clips and run records as a build would have."""
        for kind in ("objects", "runs"):
            for path in sorted((cache / kind).glob("*/*")):
                rel = path.relative_to(cache).as_posix()
                self.write(bucket, f"{prefix}/{rel}", path.read_bytes())


def s3_env(endpoint: str, url: str | None, **extra: str) -> dict[str, str]:
    """A build's environment: S3 credentials and endpoint, the cache URL, no metadata
    service (no network beyond loopback)."""
    env = clean_env(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_CONFIG_FILE="/nonexistent/config",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        env.pop(name, None)
    if url is not None:
        env["CINESTITCH_CACHE"] = url
    env.update(extra)
    return env


def write_project(root: Path, manifest: str = MANIFEST) -> Path:
    (root / "prompts").mkdir(parents=True, exist_ok=True)
    (root / "cinestitch.yaml").write_text(textwrap.dedent(manifest).lstrip())
    for name, text in TEMPLATES.items():
        (root / "prompts" / name).write_text(text)
    (root / "dodo.py").write_text(PROJECT_DODO)
    (root / ".gitignore").write_text(GITIGNORE)
    return root


def clone(source: Path, dest: Path, with_cache: bool = False) -> Path:
    """What a fresh clone has: the manifest, templates, dodo.py and the lock (and, with
    ``with_cache``, the local cache as well, as on the machine that built it)."""
    dest.mkdir(parents=True)
    for name in ("cinestitch.yaml", "cinestitch.lock", "dodo.py", ".gitignore"):
        if (source / name).exists():
            shutil.copy2(source / name, dest / name)
    shutil.copytree(source / "prompts", dest / "prompts")
    if with_cache:
        shutil.copytree(source / ".cinestitch" / "cache", dest / ".cinestitch" / "cache")
    return dest


def doit(
    project: Path, *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doit", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def cli(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinestitch.cli", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def local_clips(project: Path) -> list[Path]:
    return sorted((project / ".cinestitch" / "cache" / "objects").glob("*/*.mp4"))


def lock_outputs(project: Path) -> dict[str, str]:
    from cinestitch.lock import load_lock

    return {sid: e.output for sid, e in load_lock(project / "cinestitch.lock").segments.items()}


def plan_json(project: Path, env: dict[str, str]) -> dict[str, Any]:
    result = doit(project, "plan", "--format", "json", env=env)
    assert result.returncode == 0, output(result)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


class VanishingProxy:
    """An HTTP proxy in front of the S3 server that goes away for good after it has served
    the first request matching ``method`` and ``needle`` (a remote lost mid-build): its
    port stops listening and every open connection is dropped."""

    def __init__(self, upstream: str, method: str, needle: str) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.upstream = (host, int(port))
        self.method, self.needle = method, needle
        self.gone = threading.Event()
        self.served: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _forward(self) -> None:
                if proxy.gone.is_set():
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status, answer.reason)
                for k, v in answer.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()
                proxy.served.append(f"{self.command} {self.path}")
                if self.command == proxy.method and proxy.needle in self.path:
                    proxy.vanish()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._closed = threading.Lock()

    def vanish(self) -> None:
        """Stop listening (new connections are refused) and drop the open ones."""
        self.gone.set()
        threading.Thread(target=self._close, daemon=True).start()

    def _close(self) -> None:
        with self._closed:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> VanishingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gone.set()
        self._close()


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]
