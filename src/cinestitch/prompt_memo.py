"""Rendered prompts remembered between processes, so that loading an unchanged project
neither imports Jinja nor renders a template (a third of a no-op's own work at 100
segments, benchmarks/overhead.py).

A render is a function of its template's text, the templates it may include (every file
of the project's ``prompts/`` and of the shared templates, judged by name, size, times and
inode), the context it is given (JSON of the bible, the segment's vars and the
views around it, the previous prompt included) and cinestitch's version (the sandbox and
its filters). The memo keeps, per segment or keyframe label, the digest of those inputs and
what they rendered to; only renders that succeeded are kept, so a problem is always found
by rendering again. Like the manifest's validity memo it is only a speed-up: a memo that is
missing, damaged or stale is a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cinestitch import __version__
from cinestitch.atomic import write_text_atomic

MEMO_NAME = "prompts.json"
"""In the project's state directory (``.cinestitch/``)."""
MEMO_VERSION = 1


def folder_signature(folders: Iterable[Path]) -> str:
    """The digest of every file under ``folders``: relative name, size, modification and
    change times and inode (links followed, as the template loader follows them, and where
    they lead). The change time cannot be set back, so a file rewritten with its old size
    and modification time restored still changes the digest."""
    digest = hashlib.sha256()
    for folder in folders:
        digest.update(f"{folder}\0{os.path.realpath(folder)}\0".encode())
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                    link = os.path.realpath(path) if os.path.islink(path) else ""
                except OSError:
                    continue
                rel = os.path.relpath(path, folder)
                stamp = f"{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}"
                digest.update(f"{rel}\0{link}\0{stamp}\0".encode())
    return digest.hexdigest()


@dataclass
class PromptMemo:
    """The memo of one project, read once and written once per load."""

    path: Path
    templates: str
    """``folder_signature`` of the template folders."""
    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def open(cls, state_dir: Path, folders: Iterable[Path]) -> PromptMemo:
        """The memo of the project whose state directory is ``state_dir``, read now; the
        renders put into it are written by ``remember_prompts`` once the project loaded."""
        path = state_dir / MEMO_NAME
        memo = _OPEN[path] = cls(path, folder_signature(folders))
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            data = json.loads(path.read_bytes())
            if data.get("version") == MEMO_VERSION and isinstance(data.get("renders"), dict):
                memo.entries = {
                    str(k): v
                    for k, v in data["renders"].items()
                    if isinstance(v, dict) and all(isinstance(v.get(f), str) for f in _FIELDS)
                }
        return memo

    def key(self, label: str, source: Mapping[str, Any], context: Mapping[str, Any]) -> str | None:
        """The digest of a render's inputs; None when the context is not plain JSON data
        (then the prompt is always rendered)."""
        try:
            text = json.dumps(
                [__version__, self.templates, label, source, context],
                sort_keys=True,
                ensure_ascii=False,
                allow_nan=False,
            )
        except (TypeError, ValueError):
            return None
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, label: str, key: str | None) -> tuple[str, str] | None:
        """(text, template) remembered for ``label`` under ``key``."""
        entry = self.entries.get(label)
        if key is None or entry is None or entry["key"] != key:
            return None
        return entry["text"], entry["template"]

    def put(self, label: str, key: str | None, text: str, template: str) -> None:
        if key is None:
            return
        entry = {"key": key, "text": text, "template": template}
        if self.entries.get(label) != entry:
            self.entries[label] = entry
            self.changed = True

    def save(self, labels: Iterable[str]) -> None:
        """Write the memo, keeping only ``labels`` (the project's current ones), if anything
        changed; best effort."""
        keep = set(labels)
        if set(self.entries) - keep:
            self.entries = {k: v for k, v in self.entries.items() if k in keep}
            self.changed = True
        if not self.changed:
            return
        body = {"version": MEMO_VERSION, "renders": self.entries}
        with contextlib.suppress(OSError):
            write_text_atomic(self.path, json.dumps(body, ensure_ascii=False, sort_keys=True))
        self.changed = False


def remember_prompts(state_dir: Path, labels: Iterable[str]) -> None:
    """Write what the last load of the project rendered (after it loaded without a
    problem, as the manifest's validity memo is: a refused project is left untouched)."""
    memo = _OPEN.pop(state_dir / MEMO_NAME, None)
    if memo is not None:
        memo.save(labels)


_OPEN: dict[Path, PromptMemo] = {}
_FIELDS = ("key", "text", "template")
