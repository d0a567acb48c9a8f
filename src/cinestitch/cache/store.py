"""The generation cache: a content-addressed store of clips plus one run record per key.

Layout under the cache directory (a plain filesystem, so a shared disk or a synced folder
serves several projects, clones and CI; another backend would keep this interface)::

    objects/ab/<sha256>.mp4     clips, named by the SHA-256 of their bytes
    runs/ab/<key>.json          what produced the clip for a request key (a RunRecord)
    frames/ab/<sha256>-<k>.json the pixel digest of a clip's reference frame (for planning)

Every file is written atomically under a unique temporary name, so concurrent builds that
share the cache never see or leave a partial file; equal content makes a rename harmless. An
object whose bytes no longer match its name is damaged: it is treated as a miss, never served.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cinestitch.atomic import atomic_path, write_text_atomic
from cinestitch.digests import CHUNK, file_digest

__all__ = ["GenerationStore", "RunRecord", "file_digest"]


@dataclass(frozen=True)
class RunRecord:
    """How the clip for one request key was made."""

    key: str
    output: str
    """SHA-256 of the clip's bytes (its name in objects/)."""
    provider: str
    model: str
    job_id: str | None
    submitted: str | None
    finished: str | None
    cost_usd: float | None
    tool_version: str
    segment: str = ""
    """The segment it was first made for (informational: the key is what matters)."""
    take: int = 1
    provider_uri: str | None = None
    """The provider's own name for the clip (Veo's file URI, fal's URL), which a native
    continuation of it (``extend``) hands back to the provider."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def _fanned(base: Path, name: str) -> Path:
    return base / name[:2] / name


class GenerationStore:
    """Clips and run records by request key, in a directory (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def object_path(self, digest: str) -> Path:
        return _fanned(self.root / "objects", f"{digest}.mp4")

    def record_path(self, key: str) -> Path:
        return _fanned(self.root / "runs", f"{key}.json")

    def frame_path(self, output: str, view: str) -> Path:
        return _fanned(self.root / "frames", f"{output}-{view}.json")

    def record(self, key: str) -> RunRecord | None:
        """The run record for ``key`` if there is a readable one (its clip is not checked)."""
        try:
            data = json.loads(self.record_path(key).read_text(encoding="utf-8"))
            return RunRecord.from_json(data)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def has(self, key: str) -> bool:
        """A record and its clip exist (cheap: the bytes are verified when restored)."""
        record = self.record(key)
        return record is not None and self.object_path(record.output).is_file()

    def lookup(self, key: str) -> RunRecord | None:
        """The record for ``key`` if its clip is present and undamaged, else ``None``."""
        record = self.record(key)
        if record is None:
            return None
        path = self.object_path(record.output)
        try:
            intact = file_digest(path) == record.output
        except OSError:
            return None
        return record if intact else None

    def restore(self, record: RunRecord, dest: Path) -> bool:
        """Copy the record's clip to ``dest`` atomically; ``False`` if the cached clip proved
        damaged or missing. Failing to write ``dest`` is not damage: that ``OSError`` is
        raised as it is (a read-only or full disk is the user's to fix, not a reason to pay)."""
        source = self.object_path(record.output)
        if not source.is_file():
            return False
        try:
            with atomic_path(dest) as tmp:
                _copy_verified(source, tmp, record.output)
        except _Damaged:
            return False
        return True

    def is_damaged(self, key: str) -> bool:
        """A record exists for ``key`` but its clip is missing or its bytes do not match."""
        record = self.record(key)
        return record is not None and self.lookup(key) is None

    def put(self, clip: Path, record: RunRecord) -> RunRecord:
        """Store ``clip`` under its digest and ``record`` under its key; returns the record
        with ``output`` set to the clip's digest."""
        digest = file_digest(clip)
        target = self.object_path(digest)
        if not (target.is_file() and file_digest(target) == digest):
            with atomic_path(target) as tmp:
                shutil.copyfile(clip, tmp)
        stored = RunRecord.from_json({**asdict(record), "output": digest})
        text = json.dumps(asdict(stored), sort_keys=True, indent=2, ensure_ascii=False)
        write_text_atomic(self.record_path(record.key), text + "\n")
        return stored

    def frame_digest(self, output: str, view: str) -> str | None:
        """The pixel digest of the reference frame taken from clip ``output`` as ``view``
        shows it (``plan.frame_view``), if recorded."""
        try:
            data = json.loads(self.frame_path(output, view).read_text(encoding="utf-8"))
            return str(data["pixels"])
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def put_frame_digest(self, output: str, view: str, pixels: str) -> None:
        text = json.dumps({"output": output, "view": view, "pixels": pixels})
        write_text_atomic(self.frame_path(output, view), text + "\n")


class _Damaged(Exception):
    """Raised inside ``restore`` so that the temporary copy is discarded."""


def _copy_verified(source: Path, dest: Path, expected: str) -> None:
    """Copy ``source`` to ``dest``; ``_Damaged`` when reading fails or the digest differs."""
    digest = hashlib.sha256()
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below; its errors mean damage
    except OSError:
        raise _Damaged from None
    with handle, open(dest, "wb") as out:
        while True:
            try:
                chunk = handle.read(CHUNK)
            except OSError:
                raise _Damaged from None
            if not chunk:
                break
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != expected:
        raise _Damaged
