"""One line for a failed read or write: which file (as the user knows it) and what to do."""

from __future__ import annotations

import contextlib
import errno
import os
import re
from pathlib import Path

_TEMPORARY = re.compile(r"^\.(?P<stem>.+?)\.(?:\d+\.)?[A-Za-z0-9_]{6,12}\.tmp(?P<suffix>\.[^.]*)?$")
"""``atomic.atomic_path``'s temporary names: ``.<stem>.<pid>.<random>.tmp<suffix>``."""
_WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
_FIXES = {
    errno.ENOSPC: "the disk is full — free some space and run again",
    errno.EDQUOT: "the disk quota is used up — free some space and run again",
    errno.EROFS: "the file system is read-only — make it writable and run again",
    errno.EACCES: "permission denied — check who owns the directory",
    errno.EPERM: "not permitted — check who owns the directory",
}


def shown_path(name: str | bytes | os.PathLike[str]) -> Path:
    """The file a user knows: relative to the current directory, and the real name for one
    of our temporary files."""
    path = Path(os.fsdecode(name))
    match = _TEMPORARY.match(path.name)
    if match:
        path = path.with_name(match["stem"] + (match["suffix"] or ""))
    with contextlib.suppress(ValueError):
        path = path.relative_to(Path.cwd())
    return path


def describe_os_error(exc: OSError) -> str:
    """``<file>: <what is wrong — what to do>``. For a failed write the file is the one
    being written (``shutil.copyfile`` names the source first and the target second)."""
    name = exc.filename
    if exc.errno in _WRITE_ERRORS and exc.filename2:
        name = exc.filename2
    where = f"{shown_path(name)}: " if name else ""
    why = _FIXES.get(exc.errno or 0) or (exc.strerror or str(exc))
    return f"{where}{why}"
