"""A parsed manifest as the checks read it: its data and the line of every key path.

Kept apart from the YAML parser (``yamldoc``) so that loading a project whose manifest is
remembered (``doc_memo``) needs neither PyYAML nor a parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cinestitch.errors import Problem

KeyPath = tuple[str | int, ...]

MAX_MANIFEST_BYTES = 256 * 1024
"""A long manifest is a few tens of KB; parsing YAML in Python costs about 1 s per MB."""


def format_key_path(path: KeyPath) -> str:
    """``("segments", 2, "seconds")`` -> ``segments[2].seconds``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def printable(text: str) -> str:
    """``text`` on one visible line: characters that are not printable (newlines, controls,
    bidirectional overrides, zero-width marks) are shown as escapes; accents stay as they are."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def printable_problem(problem: Problem) -> Problem:
    """The same problem with every part of it on one visible line."""
    return Problem(
        printable(problem.file),
        problem.line,
        printable(problem.key),
        printable(problem.message),
    )


@dataclass
class YamlDocument:
    """The parsed data plus a key-path -> 1-based line map."""

    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def read_manifest_bytes(path: Path, name: str) -> bytes | Problem:
    """The manifest's bytes, or why they cannot be read (too long, unreadable)."""
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            message = (
                f"{size / 1024:,.0f} KB is more than a manifest may be "
                f"({MAX_MANIFEST_BYTES // 1024} KB) — move long text into templates"
            )
            return Problem(name, 1, "", message)
        with path.open("rb") as file:
            return file.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        return Problem(name, 1, "", f"cannot read — {exc.strerror or exc}")
