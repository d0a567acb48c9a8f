"""Parse YAML while remembering the line of every key, so errors can point at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cinestitch.errors import Problem

KeyPath = tuple[str | int, ...]


def format_key_path(path: KeyPath) -> str:
    """``("segments", 2, "seconds")`` -> ``segments[2].seconds``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


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


def load_yaml_document(path: Path, display_name: str) -> YamlDocument:
    """Read ``path``; syntax errors and duplicate keys become problems, not exceptions."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return YamlDocument(
            None, problems=[Problem(display_name, None, "", f"cannot read — {exc}")]
        )
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        return YamlDocument(
            None, problems=[Problem(display_name, line, "", f"invalid YAML: {what}")]
        )
    doc = YamlDocument(data)
    if node is not None:
        _walk(node, (), doc, display_name)
    return doc


def _walk(node: yaml.Node, path: KeyPath, doc: YamlDocument, name: str) -> None:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                where = format_key_path((*path, key))
                line = key_node.start_mark.line + 1
                doc.problems.append(Problem(name, line, where, "duplicate key — keep one"))
            seen.add(key)
            doc.lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), doc, name)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), doc, name)
