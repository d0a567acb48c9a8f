"""Atomic file output: write to a temporary sibling, then rename over the target.

A reader (or an interrupted build) sees either the old file or the complete new one, never a
truncated one. Files get the mode a plain ``open()`` would give them (the umask decides), so a
cache shared by a team's accounts (group-writable, setgid directories) stays shared.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path


def _umask() -> int:
    """The process's umask (read without changing it where /proc tells it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open(path, "w")`` would create a file with."""
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest``, else vanishes.

    The temporary name keeps ``dest``'s suffix so that format-sniffing writers (PyAV, Pillow)
    pick the right container.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=dest.parent, prefix=f".{dest.stem}.{os.getpid()}.", suffix=f".tmp{dest.suffix}"
    )
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, file_mode())
    finally:
        os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_TEMPORARY = re.compile(r"^\..+\.(?P<pid>\d+)\.[^.]+\.(?:tmp|link)")
"""Our temporary names carry the writer's pid: ``.<stem>.<pid>.<random>.tmp<suffix>``."""
_LEFTOVERS = (
    _TEMPORARY,
    re.compile(r"^[0-9a-f]{64}\.(?P<pid>\d+)\.[0-9a-f]+\.mp4$"),  # downloads in incoming/
    re.compile(r"^\.staging-(?P<pid>\d+)-"),  # the animatic's jobs being prepared
)
STALE_SECONDS = 3600
"""A temporary name without a pid (an older version's) is stale after this long."""


def sweep_stale(directories: Iterable[Path]) -> int:
    """Remove what killed writers left in ``directories`` (not recursive): temporary files
    (``.<stem>.<pid>.….tmp…``, ``….link…``), downloads (``<key>.<pid>.<random>.mp4``) and
    staging directories (``.staging-<pid>-…``) whose writer process is gone. Returns how
    many went."""
    removed = 0
    for directory in directories:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if _is_stale(entry):
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path)
                    else:
                        os.unlink(entry.path)
                    removed += 1
    return removed


def _is_stale(entry: os.DirEntry[str]) -> bool:
    for pattern in _LEFTOVERS:
        match = pattern.match(entry.name)
        if match is not None:
            return not _alive(int(match["pid"]))
    if entry.name.startswith(".") and (".tmp" in entry.name or ".link" in entry.name):
        try:  # an older version's name, without a pid
            return time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS
        except OSError:
            return False
    return False


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


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
    allows (no space used), a copy elsewhere. Nothing is done when ``dest`` already is
    ``source`` (renaming a link over its own file would leave both names behind)."""
    with contextlib.suppress(OSError):
        if os.path.samefile(source, dest):
            return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{os.getpid()}.{id(dest):x}.link{dest.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, tmp)
        except OSError:
            with atomic_path(tmp) as copy:
                shutil.copyfile(source, copy)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
