"""doit's state file (``.doit.db``) as a backend that fails in one line, never a traceback.

doit keeps what it remembers of a build in sqlite. A full disk, a read-only project or the
file deleted during a build used to end a build with a Python traceback (and a wrong advice
to delete a "corrupted" file). This backend says what happened instead: opening fails as a
one-line doit error (exit 3, nothing built); saving at the end of a build prints one line and
lets the build's own result stand — doit's memory is only a speed-up, and the next build
checks everything again without paying twice.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from typing import Any

from doit.dependency import DatabaseException, SqliteDB
from doit.exceptions import InvalidCommand

NAME = "cinestitch-sqlite3"


def describe(name: str, exc: BaseException) -> str:
    """What went wrong with doit's state file, in words a user can act on."""
    text = str(exc).lower()
    if "disk is full" in text or "no space" in text or "quota" in text:
        why = "the disk is full — free some space and run again"
    elif "readonly" in text or "read-only" in text:
        why = "it cannot be written (a read-only disk, or the file was removed during the build)"
    elif "unable to open" in text or isinstance(exc, PermissionError):
        why = "it cannot be opened — check that the project directory is writable"
    else:
        said = " ".join(str(exc).split())[:120]
        why = f"doit's state cannot be used ({said}) — delete it to start afresh"
    return f"{name}: {why}"


class StateDB(SqliteDB):  # type: ignore[misc]
    """``SqliteDB`` whose failures are one line."""

    desc = "sqlite3, with disk and permission problems said in one line"

    def __init__(self, name: str, codec: Any, *, module_name: str | None = None) -> None:
        try:
            super().__init__(name, codec, module_name=module_name)
        except (DatabaseException, sqlite3.Error, OSError) as exc:
            raise InvalidCommand(describe(name, exc.__cause__ or exc)) from None

    def _get_task_data(self, task_id: str) -> Any:
        try:
            return super()._get_task_data(task_id)
        except sqlite3.Error:
            return {}  # unreadable now: the task is judged as never run (rechecked, not paid)

    def dump(self) -> None:
        try:
            super().dump()
        except (sqlite3.Error, OSError) as exc:
            message = describe(self.name, exc)
            print(
                f"{message}; doit's memory of this build was not saved (the next build checks "
                "again, and pays for nothing twice)",
                file=sys.stderr,
                flush=True,
            )
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
