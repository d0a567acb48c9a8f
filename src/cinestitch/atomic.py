"""Atomic file output: write to a temporary sibling, then rename over the target.

A reader (or an interrupted build) sees either the old file or the complete new one, never a
truncated one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest``, else vanishes.

    The temporary name keeps ``dest``'s suffix so that format-sniffing writers (PyAV, Pillow)
    pick the right container.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=dest.parent, prefix=f".{dest.stem}.", suffix=f".tmp{dest.suffix}"
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(dest: Path, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(dest: Path, text: str) -> None:
    write_bytes_atomic(dest, text.encode("utf-8"))


def write_text_if_changed(dest: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds exactly it; return whether it wrote.

    Keeping the file untouched keeps its mtime and checksum, so doit sees nothing changed.
    """
    data = text.encode("utf-8")
    if dest.is_file() and dest.read_bytes() == data:
        return False
    write_bytes_atomic(dest, data)
    return True


def link_or_copy(source: Path, dest: Path) -> None:
    """Make ``dest`` hold ``source``'s bytes atomically: a hard link where the filesystem
    allows (no space used), a copy elsewhere."""
    with atomic_path(dest) as tmp:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
