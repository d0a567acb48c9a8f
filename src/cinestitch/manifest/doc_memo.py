"""The parsed manifest remembered between processes, so that loading an unchanged project
neither imports PyYAML nor parses it (about a tenth of a no-op ``doit`` at 100 segments,
benchmarks/overhead.py).

A parse is a function of the manifest's bytes and of cinestitch's version, which is what
``validity_key`` digests (with the schema). Only a manifest that loaded without a problem is
remembered, with its data and the line of every key path (a later check that finds a problem
outside the manifest, a missing picture say, still names the line), and only when JSON holds
its data exactly. Like the other memos it is only a speed-up: a memo that is missing,
damaged or for other bytes is a miss, and the manifest is parsed again.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

from cinestitch.atomic import write_text_if_changed
from cinestitch.manifest.document import KeyPath, YamlDocument

MEMO_NAME = "manifest.json"
"""In the project's state directory (``.cinestitch/``)."""
MEMO_VERSION = 1

_PARSED: dict[str, str] = {}
"""Validity key -> the memo's text, for documents parsed in this process without a problem
(written by ``remember_document`` once the project has loaded)."""


def recall_document(state_dir: Path, key: str) -> YamlDocument | None:
    """The document remembered for the manifest whose ``validity_key`` is ``key``, if any."""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError, KeyError):
        memo = json.loads((state_dir / MEMO_NAME).read_bytes())
        if memo.get("version") != MEMO_VERSION or memo.get("key") != key:
            return None
        lines = {_key_path(path): line for path, line in memo["lines"]}
        if not all(isinstance(line, int) for line in lines.values()):
            return None
        return YamlDocument(memo["data"], lines)
    return None


def note_document(key: str, doc: YamlDocument) -> None:
    """Keep ``doc`` (just parsed from the bytes ``key`` names) to be remembered if the
    project loads; a document with problems, or data JSON cannot hold, is not kept."""
    if doc.problems or not json_exact(doc.data):
        return
    lines = [[list(path), line] for path, line in doc.lines.items()]
    memo = {"version": MEMO_VERSION, "key": key, "data": doc.data, "lines": lines}
    _PARSED[key] = json.dumps(memo, ensure_ascii=False, separators=(",", ":"))


def remember_document(state_dir: Path, key: str) -> None:
    """Write the memo of the document parsed for ``key`` in this process (best effort)."""
    text = _PARSED.get(key)
    if text is not None:
        with contextlib.suppress(OSError):
            write_text_if_changed(state_dir / MEMO_NAME, text)


def json_exact(value: Any) -> bool:
    """Whether JSON gives ``value`` back as it is: text keys, finite numbers, no tuples,
    dates or bytes (a valid manifest has only these; anything else is parsed each time)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, str | bool | int):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif type(item) is list:
            stack.extend(item)
        elif type(item) is dict:
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend(item.values())
        else:
            return False
    return True


def _key_path(path: Any) -> KeyPath:
    if not isinstance(path, list) or not all(isinstance(p, str | int) for p in path):
        raise TypeError("a key path is a list of names and indexes")
    return tuple(path)
