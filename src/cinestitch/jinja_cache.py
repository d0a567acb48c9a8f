"""Compiled Jinja templates kept in a folder between processes (compiling a template is
most of the cost of rendering it once)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import jinja2


class KeptTemplates(jinja2.BytecodeCache):
    """Compiled templates in a folder, one file each, named by the template and checked by
    Jinja against its source's checksum; written atomically. Only a speed-up: a folder that
    cannot be read or written, or a damaged file, means the template is compiled again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, bucket: jinja2.bccache.Bucket) -> Path:
        return self.folder / f"{bucket.key}.jinja"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            with open(self._file(bucket), "rb") as f:
                bucket.load_bytecode(f)
        except Exception:  # missing or damaged: compiled instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Written beside its final name and renamed onto it (not synced: a file lost in a
        crash is compiled again)."""
        dest = self._file(bucket)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(bucket.bytecode_to_string())
            os.replace(tmp, dest)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
