"""A remote generation cache in object storage (S3, GCS, Azure, or any fsspec URL).

The remote holds the same layout as the local store, under the URL's prefix::

    objects/ab/<sha256>.mp4     clips, named by the SHA-256 of their bytes
    runs/ab/<key>.json          the run record of a request key

Objects are content-addressed, so uploading one twice is harmless; a run record is written
only where there is none (a conditional write where the store offers one), so a record is
never replaced by a different one. A download is streamed to a local temporary file and its
digest checked before anything trusts it.

``fsspec`` (and the protocol's library: ``s3fs``, ``gcsfs``, ``adlfs``) is imported only when
a URL is used. Credentials come from that library's usual sources (environment variables,
profile files); errors are one line naming the URL, never a credential.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cinestitch.cache.store import RunRecord
from cinestitch.digests import file_digest
from cinestitch.errors import CinestitchError

URL_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure"}
"""Protocol -> the cinestitch extra that installs its library."""
SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL|CONNECTION_STRING|SAS", re.I)


def is_url(spec: str) -> bool:
    """``s3://…``, ``gs://…``, ``file://…``: a remote cache; anything else is a directory."""
    return bool(URL_PATTERN.match(spec))


def safe_url(url: str) -> str:
    """The URL as it may be shown: any ``user:password@`` and query string removed."""
    shown = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*:[^/@]*@", r"\1", url)
    return shown.split("?", 1)[0]


def redact(text: str, url: str = "") -> str:
    """``text`` with the value of every credential-like environment variable, and any
    password written in ``url``, masked."""
    secrets = [v for k, v in os.environ.items() if len(v) >= 6 and SECRET_NAME.search(k)]
    found = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@]*:([^/@]+)@", url)
    if found:
        secrets.append(found.group(1))
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, "***")
    return text


class RemoteCacheError(CinestitchError):
    """The remote cache could not be used: no library, no credentials, no bucket, network."""

    def __init__(self, url: str, what: str, fix: str = "") -> None:
        self.url = safe_url(url)
        self.what = redact(what, url)
        tail = f" — {fix}" if fix else ""
        super().__init__(f"cache {self.url}: {self.what}{tail}")


class DamagedObjectError(Exception):
    """A remote object's bytes do not match the digest it is named by."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _said(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _unreached(exc: BaseException) -> str:
    """Name the endpoint (``could not connect to http://host:port``), not the request URL."""
    text = str(exc)
    endpoint = re.search(r"(https?://[^/\"\s]+)", text)
    if endpoint and "connect" in text.lower():
        return f"could not connect to {endpoint.group(1)}"
    return _said(exc)


def translate(url: str, exc: BaseException) -> RemoteCacheError:
    """A foreign storage error as one line: what is wrong with the remote and how to fix it."""
    for link in _chain(exc):
        name = type(link).__name__
        if name in ("NoCredentialsError", "PartialCredentialsError", "DefaultCredentialsError",
                    "CredentialRetrievalError", "ClientAuthenticationError"):  # fmt: skip
            return RemoteCacheError(
                url, "no credentials found",
                "set them as the storage library expects (for S3: AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)",
            )  # fmt: skip
        if name in ("EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError",
                    "ServerDisconnectedError", "ConnectionClosedError", "ReadTimeoutError",
                    "ServiceRequestError"):  # fmt: skip
            return RemoteCacheError(
                url, f"cannot reach it ({_unreached(link)})", "check the network"
            )
    if isinstance(exc, FileNotFoundError):
        fix = "create the bucket or fix the URL"
        return RemoteCacheError(url, f"not found ({_said(exc)})", fix)
    if isinstance(exc, PermissionError):
        return RemoteCacheError(
            url, f"access denied ({_said(exc)})", "check the credentials and the bucket's policy"
        )
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return RemoteCacheError(url, f"cannot reach it ({_said(exc)})", "check the network")
    return RemoteCacheError(url, f"{type(exc).__name__}: {_said(exc)}")


def _options(protocol: str) -> dict[str, Any]:
    """Storage options: fail fast when an S3 endpoint is down (a build then says so and goes
    on with the local cache), unless the user set botocore's own retry settings."""
    if protocol not in ("s3", "s3a"):
        return {}
    config: dict[str, Any] = {"connect_timeout": 5, "read_timeout": 60}
    if not (os.environ.get("AWS_MAX_ATTEMPTS") or os.environ.get("AWS_RETRY_MODE")):
        config["retries"] = {"max_attempts": 2, "mode": "standard"}
    return {"config_kwargs": config}


@dataclass(frozen=True)
class RemoteObject:
    """An object or record found by listing: its path under the prefix and its size."""

    name: str
    """``objects/ab/<sha>.mp4`` or ``runs/ab/<key>.json``."""
    size: int
    modified: float | None = None
    """When it was written (seconds since the epoch), if the store says."""


class RemoteStore:
    """Clips and run records by request key, under an fsspec URL (opened on first use)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.shown = safe_url(self.url)
        self._fs: Any = None
        self._root = ""
        self._pid = 0

    @property
    def protocol(self) -> str:
        return self.url.split("://", 1)[0].lower()

    def _open(self) -> Any:
        if self._fs is not None and self._pid == os.getpid():
            return self._fs  # a forked worker (doit -n) opens its own: the loop is per process
        extra = EXTRAS.get(self.protocol)
        install = f"pip install 'cinestitch[{extra}]'" if extra else "install its fsspec library"
        try:
            import fsspec
            from fsspec.core import url_to_fs

            if self.protocol not in fsspec.available_protocols():
                raise ValueError(f"unknown protocol {self.protocol!r}")
            fs, root = url_to_fs(self.url, **_options(self.protocol))
        except ImportError as exc:
            what = f"{self.protocol}:// support is not installed ({_said(exc)})"
            raise RemoteCacheError(self.url, what, install) from None
        except ValueError as exc:
            raise RemoteCacheError(self.url, _said(exc), install) from None
        except Exception as exc:
            raise translate(self.url, exc) from None
        if self.protocol in ("s3", "s3a"):
            fs.retries = 2  # s3fs's own retry loop on top of botocore's
        self._fs, self._root, self._pid = fs, str(root).rstrip("/"), os.getpid()
        return fs

    @property
    def is_local(self) -> bool:
        return self.protocol in ("file", "local")

    def _path(self, name: str) -> str:
        return f"{self._root}/{name}" if self._root else name

    @staticmethod
    def object_name(digest: str) -> str:
        return f"objects/{digest[:2]}/{digest}.mp4"

    @staticmethod
    def record_name(key: str) -> str:
        return f"runs/{key[:2]}/{key}.json"

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one storage call; foreign errors become ``RemoteCacheError`` (missing files
        are the caller's to handle)."""
        self._open()
        try:
            return fn(*args, **kwargs)
        except (FileNotFoundError, FileExistsError):
            raise
        except RemoteCacheError:
            raise
        except Exception as exc:
            raise translate(self.url, exc) from None

    def check(self) -> None:
        """Raise ``RemoteCacheError`` unless the remote can be listed (the bucket exists and
        the credentials work); a local directory is created on first write."""
        fs = self._open()
        if self.is_local:
            return
        bucket = self._root.split("/", 1)[0]
        try:
            self._call(fs.ls, bucket, detail=False)
        except FileNotFoundError:
            raise RemoteCacheError(self.url, "no such bucket", "create it or fix the URL") from None

    def record(self, key: str) -> RunRecord | None:
        """The remote run record for ``key``; ``None`` if there is none or it is unreadable."""
        fs = self._open()
        try:
            data = self._call(fs.cat_file, self._path(self.record_name(key)))
        except (FileNotFoundError, IsADirectoryError):
            return None
        try:
            return RunRecord.from_json(json.loads(data))
        except (ValueError, TypeError, KeyError):
            return None

    def _stat(self, digest: str) -> int | None:
        """The object's size, ``None`` if it is absent (one HEAD request on S3)."""
        fs = self._open()
        path = self._path(self.object_name(digest))
        try:
            if self.protocol in ("s3", "s3a"):
                bucket, _, key = path.partition("/")
                head = self._call(fs.call_s3, "head_object", Bucket=bucket, Key=key)
                return int(head.get("ContentLength") or 0)
            info = self._call(fs.info, path)
        except FileNotFoundError:
            return None
        return int(info.get("size") or 0) if info.get("type") == "file" else None

    def has_object(self, digest: str) -> bool:
        return self._stat(digest) is not None

    def object_size(self, digest: str) -> int | None:
        return self._stat(digest)

    def has(self, key: str) -> bool:
        record = self.record(key)
        return record is not None and self.has_object(record.output)

    def download(self, digest: str, directory: Path) -> Path | None:
        """Stream the object to a temporary file in ``directory`` and return it once its
        bytes match ``digest``; ``None`` when it is missing. Raises ``DamagedObjectError``
        (and keeps nothing) when its bytes do not match its name."""
        fs = self._open()
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix=f".{digest[:12]}.", suffix=".mp4")
        os.close(fd)
        part = Path(name)
        try:
            self._call(fs.get_file, self._path(self.object_name(digest)), str(part))
            if file_digest(part) != digest:
                part.unlink(missing_ok=True)
                raise DamagedObjectError(digest)
        except FileNotFoundError:
            part.unlink(missing_ok=True)
            return None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return part

    def put_object(self, clip: Path, digest: str, replace: bool = False) -> bool:
        """Upload ``clip`` as object ``digest`` unless it is there; ``replace`` uploads it over
        an object known to be damaged. Returns whether it uploaded."""
        if not replace and self.has_object(digest):
            return False
        fs = self._open()
        target = self._path(self.object_name(digest))
        if self.is_local:
            _publish_local(Path(target), clip, exclusive=False)
        else:
            self._call(fs.put_file, str(clip), target)
        return True

    def put_record(
        self, record: RunRecord, damaged: Callable[[RunRecord], bool] | None = None
    ) -> RunRecord:
        """Write ``record`` unless the remote has one for its key; returns the record the
        remote keeps. A record is never replaced by a different one, except one whose clip
        ``damaged`` says was proven damaged (it could only make every clone pay again)."""
        existing = self.record(record.key)
        if existing is not None and not (damaged is not None and damaged(existing)):
            return existing
        if existing is not None:
            target = self._path(self.record_name(record.key))
            text = json.dumps(asdict(record), sort_keys=True, indent=2, ensure_ascii=False)
            self._write(target, (text + "\n").encode("utf-8"))
            return record
        fs = self._open()
        target = self._path(self.record_name(record.key))
        text = json.dumps(asdict(record), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        data = text.encode("utf-8")
        try:
            if self.is_local:
                _publish_local(Path(target), data, exclusive=True)
            elif self.protocol in ("s3", "s3a"):
                self._put_if_absent(fs, target, data)
            else:
                self._call(fs.pipe_file, target, data)
        except FileExistsError:  # another build wrote it first: theirs stands
            return self.record(record.key) or record
        return record

    def _write(self, target: str, data: bytes) -> None:
        """Write (or replace) one small file."""
        if self.is_local:
            _publish_local(Path(target), data, exclusive=False)
        else:
            self._call(self._open().pipe_file, target, data)

    def _put_if_absent(self, fs: Any, target: str, data: bytes) -> None:
        """An S3 conditional write (``If-None-Match: *``); a store that does not offer one
        gets a plain write, the key having just been seen absent."""
        try:
            self._call(fs.pipe_file, target, data, IfNoneMatch="*")
        except RemoteCacheError as exc:
            if "NotImplemented" not in exc.what and "not implemented" not in exc.what.lower():
                raise
            self._call(fs.pipe_file, target, data)

    def upload(
        self,
        clip: Path,
        record: RunRecord,
        replace: bool = False,
        damaged: Callable[[RunRecord], bool] | None = None,
    ) -> RunRecord:
        """The clip (by digest) and its record (by key), each only where it is missing (or
        proven damaged)."""
        self.put_object(clip, record.output, replace=replace)
        return self.put_record(record, damaged)

    def listing(self, kind: str) -> list[RemoteObject]:
        """Every object (``kind="objects"``) or record (``"runs"``) under the prefix."""
        fs = self._open()
        base = self._path(kind)
        try:
            found = self._call(fs.find, base, detail=True)
        except FileNotFoundError:
            return []
        items = []
        for path, info in sorted(found.items()):
            name = self._relative(str(path))
            if name is None or name.rsplit("/", 1)[-1].startswith("."):
                continue
            if info.get("type") == "file":
                items.append(RemoteObject(name, int(info.get("size") or 0), _modified(info)))
        return items

    def _relative(self, path: str) -> str | None:
        """A listed path relative to the prefix (``None`` if it is not under it)."""
        path = path.split("://", 1)[-1]
        root = self._root
        if not root:
            return path.lstrip("/")
        return path[len(root) + 1 :] if path.startswith(root + "/") else None

    def read_object(self, digest: str) -> Iterator[bytes]:
        """The object's bytes in chunks (for verifying without keeping a copy)."""
        fs = self._open()
        handle = self._call(fs.open, self._path(self.object_name(digest)), "rb")
        with handle:
            while True:
                chunk = self._call(handle.read, 1 << 20)
                if not chunk:
                    return
                yield chunk

    def remove(self, names: list[str]) -> None:
        if not names:
            return
        fs = self._open()
        for name in names:
            try:
                self._call(fs.rm_file, self._path(name))
            except FileNotFoundError:
                continue


def _publish_local(target: Path, data: bytes | Path, exclusive: bool) -> None:
    """Write ``data`` (bytes, or a file's) to ``target`` on a local or network disk so that
    readers never see a partial file; ``exclusive`` refuses (``FileExistsError``) to replace
    an existing file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, Path):
                with open(data, "rb") as source:
                    shutil.copyfileobj(source, out, 1 << 20)
            else:
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if exclusive:
            os.link(tmp, target)
        else:
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _modified(info: dict[str, Any]) -> float | None:
    """The listing's write time: ``LastModified`` (object stores) or ``mtime`` (disks)."""
    value = info.get("LastModified", info.get("mtime", info.get("last_modified")))
    if isinstance(value, (int, float)):
        return float(value)
    timestamp = getattr(value, "timestamp", None)
    return float(timestamp()) if callable(timestamp) else None
