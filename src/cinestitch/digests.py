"""SHA-256 digests of files, remembered by size, mtime and inode so that an unchanged file is
hashed once, not on every check (a no-op build then costs a ``stat`` per clip, not a read)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from cinestitch.atomic import write_text_atomic

CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DigestMemo:
    """Digests of files keyed by their stat signature, kept in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[str, list[object]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, list[object]]:
        if self._known is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._known = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._known = {}
        return self._known

    def digest(self, path: Path) -> str | None:
        """The file's SHA-256, ``None`` if it is not a readable file."""
        return self._remembered(path, "file", file_digest)

    def pixels(self, path: Path) -> str | None:
        """The digest of an image's decoded pixels, ``None`` if it cannot be read."""

        def decode(p: Path) -> str:
            from cinestitch.media import pixel_digest  # numpy and Pillow only when needed

            return pixel_digest(p)

        return self._remembered(path, "pixels", decode)

    def _remembered(self, path: Path, kind: str, compute: Callable[[Path], str]) -> str | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        signature: list[object] = [st.st_size, st.st_mtime_ns, st.st_ino]
        known = self._load()
        name = f"{kind}:{path}"
        entry = known.get(name)
        if isinstance(entry, list) and len(entry) == 4 and entry[:3] == signature:
            return str(entry[3])
        try:
            value = compute(path)
        except Exception:  # an unreadable file: the caller says what that means
            return None
        known[name] = [*signature, value]
        self._dirty = True
        return value

    def save(self) -> None:
        """Write what was learnt (best effort: the memo is only a speed-up)."""
        if not self._dirty or self._known is None:
            return
        try:
            write_text_atomic(self.path, json.dumps(self._known, separators=(",", ":")))
            self._dirty = False
        except OSError:
            pass
