"""Parse YAML while remembering the line of every key, so errors can point at it.

A manifest may come from someone else, so the text is judged on its node graph before any
Python value is made: aliases may repeat only a few thousand values and never contain
themselves, nesting is shallow, every key is text, every number is finite and of a sane
size, and only plain YAML types (text, numbers, true/false, null, lists, mappings) appear.
Memory and time stay proportional to the file, whatever it says.

Most manifests are plain (no anchors, aliases or tabs, shallow), and those are parsed by
libyaml (a tenth of the time of PyYAML's Python parser); anything else, or anything libyaml
finds wrong, goes through the Python parser and its checks, so every problem is reported
the one way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from cinestitch.errors import Problem
from cinestitch.manifest.document import (
    KeyPath,
    YamlDocument,
    format_key_path,
    read_manifest_bytes,
)

MAX_ALIAS_REPEATS = 10_000
"""Values that aliases may repeat in one document (a billion-laughs bomb needs millions)."""
MAX_DEPTH = 32
"""Nesting levels of lists and mappings."""
MAX_INT_DIGITS = 30
"""Digits of a whole number: a seed fits in 20; Python refuses to read 4,300."""

_TAG = "tag:yaml.org,2002:"
PLAIN_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge")}
TIMESTAMP_TAG = _TAG + "timestamp"
"""An unquoted date (``title: 2024-05-01``) is read as the text it is."""


class YamlRefused(yaml.YAMLError):
    """The node graph is refused while it is being composed (an alias bomb, deep nesting)."""

    def __init__(self, mark: Any, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.line: int | None = mark.line + 1 if mark is not None else None
        self.path, self.message = path, message


class ManifestLoader(yaml.SafeLoader):
    """``SafeLoader`` that measures what it composes and refuses bombs before they go off."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._sizes: dict[int, int] = {}
        """Node id -> values it stands for with aliases expanded (set once it is complete)."""
        self._repeated = 0
        self._depth = 0
        self._path: list[str | int] = []

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        part = _path_part(index)
        if part is not None:
            self._path.append(part)
        self._depth += 1
        try:
            return self._compose_measured(parent, index)
        finally:
            self._depth -= 1
            if part is not None:
                self._path.pop()

    def _compose_measured(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            self._count_alias(self.peek_event())  # type: ignore[no-untyped-call]
            return _composed(super().compose_node(parent, index))
        if self._depth > MAX_DEPTH:
            message = f"nested more than {MAX_DEPTH} levels deep — flatten it"
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise YamlRefused(event.start_mark, tuple(self._path[:3]), message)
        node = _composed(super().compose_node(parent, index))
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(c), 1) for c in _children(node))
        return node

    def _count_alias(self, event: yaml.Event) -> None:
        anchor = str(getattr(event, "anchor", ""))
        node = self.anchors.get(anchor)
        if node is None:
            return  # PyYAML reports the undefined alias itself
        where = tuple(self._path)
        if id(node) not in self._sizes:
            message = f"the alias *{anchor} is inside the value it names — it would never end"
            raise YamlRefused(event.start_mark, where, message)
        self._repeated += self._sizes[id(node)]
        if self._repeated > MAX_ALIAS_REPEATS:
            message = (
                f"aliases repeat more than {MAX_ALIAS_REPEATS:,} values — write the values "
                "out, or use fewer aliases"
            )
            raise YamlRefused(event.start_mark, where, message)


def _composed(node: yaml.Node | None) -> yaml.Node:
    assert node is not None  # PyYAML composes a node for every event it is asked for
    return node


def _as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


ManifestLoader.add_constructor(TIMESTAMP_TAG, _as_text)

_CLoader: Any = getattr(yaml, "CSafeLoader", None)
"""libyaml's parser with PyYAML's safe constructor (None where PyYAML was built without it)."""


class PlainLoader(_CLoader or yaml.SafeLoader):  # type: ignore[misc]
    """libyaml's parser for manifests that need none of ``ManifestLoader``'s measuring."""


PlainLoader.add_constructor(TIMESTAMP_TAG, _as_text)
Loader = ManifestLoader | PlainLoader


def _path_part(index: Any) -> str | int | None:
    if isinstance(index, int):
        return index
    if isinstance(index, yaml.ScalarNode):
        return str(index.value)
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load_yaml_document(path: Path, display_name: str) -> YamlDocument:
    """Read ``path``; bad text, bombs, odd values and duplicate keys become problems (one
    line each, never an exception), and then ``data`` is ``None``."""
    data = read_manifest_bytes(path, display_name)
    if isinstance(data, Problem):
        return YamlDocument(None, problems=[data])
    return parse_yaml_document(data, display_name)


def parse_yaml_document(data: bytes, display_name: str) -> YamlDocument:
    """``load_yaml_document`` of text already read (the caller keys a memo by the same
    bytes)."""
    text = _decoded(data, display_name)
    if isinstance(text, Problem):
        return YamlDocument(None, problems=[text])
    plain = _plain_document(text, display_name)
    if plain is not None:
        return plain
    loader: ManifestLoader | None = None
    try:
        loader = ManifestLoader(text)
        node = loader.get_single_node()
        doc = YamlDocument(None)
        if node is not None:
            _walk(node, doc, display_name, loader)
        if node is None or doc.problems:
            return doc
        doc.data = loader.construct_document(node)
        return doc
    except YamlRefused as exc:
        problem = Problem(display_name, exc.line, format_key_path(exc.path), exc.message)
        return YamlDocument(None, problems=[problem])
    except yaml.YAMLError as exc:
        return YamlDocument(None, problems=[_syntax_problem(exc, text, display_name)])
    finally:
        if loader is not None:
            loader.dispose()


def _plain_document(text: str, name: str) -> YamlDocument | None:
    """The document parsed by libyaml when it is plain and has no problem; None to leave it
    to ``ManifestLoader`` (which then says what is wrong, or parses it all the same)."""
    if _CLoader is None or "\t" in text or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    try:
        if not _shallow_without_aliases(yaml.parse(text, Loader=_CLoader)):
            return None
        loader = PlainLoader(text)
        try:
            node = loader.get_single_node()
            doc = YamlDocument(None)
            if node is None:
                return None
            _walk(node, doc, name, loader)
            if doc.problems:
                return None
            doc.data = loader.construct_document(node)
            return doc
        finally:
            loader.dispose()
    except (yaml.YAMLError, ValueError, TypeError, KeyError, RecursionError):
        return None


def _shallow_without_aliases(events: Iterable[yaml.Event]) -> bool:
    """Whether the event stream has no anchor, no alias and nothing nested deeper than
    ``MAX_DEPTH`` (read event by event: no recursion, whatever the nesting)."""
    depth = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            return False
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth >= MAX_DEPTH:
                return False
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return True


def _decoded(data: bytes, name: str) -> str | Problem:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        message = f"byte 0x{byte:02x} at column {column} is not UTF-8 text — save the file as UTF-8"
        return Problem(name, line, "", message)


_UNCLOSED = {
    "while parsing a flow mapping": "'{' is not closed — add '}'",
    "while parsing a flow sequence": "'[' is not closed — add ']'",
    "while scanning a quoted scalar": "the quote is not closed — add the closing quote",
}


def _syntax_problem(exc: yaml.YAMLError, text: str, name: str) -> Problem:
    """One line at the place the mistake is: where an unclosed bracket or quote opens, else
    where the parser gave up."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        character: Any = exc.character
        char = character if isinstance(character, int) else ord(character)
        message = f"the character U+{char:04X} is not allowed in YAML — remove it"
        return Problem(name, line, "", message)
    problem = str(getattr(exc, "problem", None) or exc)
    problem_mark = getattr(exc, "problem_mark", None)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context in _UNCLOSED and context_mark is not None:
        found = problem.rpartition("but got ")[2]
        if "end of stream" in problem or "<stream end>" in found:
            then = "the file ends first"
        else:
            at = f" on line {problem_mark.line + 1}" if problem_mark is not None else ""
            then = f"found {found or problem}{at}"
        message = f"invalid YAML: {_UNCLOSED[context]} ({then})"
        return Problem(name, context_mark.line + 1, "", message)
    if str(context).startswith("expected a single document"):
        problem = "a second document starts here — a manifest is one document; remove the ---"
    if "'\\t'" in problem:
        problem = "a tab character — YAML indents with spaces"
    elif problem == "mapping values are not allowed here":
        problem = (
            "a 'key: value' where a plain value was expected — check this line's indentation "
            "against the line before, or quote a value that holds ': '"
        )
    elif problem.startswith(
        ("did not find expected key", "did not find expected '-' indicator", "expected <block end>")
    ):
        problem = (
            "this line is not lined up with the keys around it — indent it as its siblings "
            f"are ({problem})"
        )
    at_line = problem_mark.line + 1 if problem_mark is not None else None
    return Problem(name, at_line, "", f"invalid YAML: {problem}")


def _walk(root: yaml.Node, doc: YamlDocument, name: str, loader: Loader) -> None:
    """Record the line of every key path, and what is wrong with keys and values (each node
    judged once, however many aliases repeat it). Aliases were bounded while composing, so
    walking the expanded tree is bounded too."""
    judged: set[int] = set()
    stack: list[tuple[yaml.Node, KeyPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        doc.lines.setdefault(path, node.start_mark.line + 1)
        first_time = id(node) not in judged
        judged.add(id(node))
        if first_time:
            doc.problems += _judge_node(node, path, name, loader)
        children: list[tuple[yaml.Node, KeyPath]] = []
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                key_path = (*path, key)
                if first_time:
                    doc.problems += _judge_key(key_node, key, key in seen, key_path, name)
                seen.add(key)
                doc.lines[key_path] = key_node.start_mark.line + 1
                children.append((value_node, key_path))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, (*path, i)) for i, item in enumerate(node.value)]
        stack.extend(reversed(children))


def _judge_key(
    key_node: yaml.Node, key: str, duplicate: bool, path: KeyPath, name: str
) -> list[Problem]:
    line = key_node.start_mark.line + 1
    where = format_key_path(path)
    if not isinstance(key_node, yaml.ScalarNode):
        return [
            Problem(
                name,
                line,
                format_key_path(path[:-1]),
                "a key must be a name, not a list or mapping",
            )
        ]
    if key_node.tag not in (_TAG + "str", _TAG + "merge"):
        kind = key_node.tag.rpartition(":")[2]
        message = f"the key {key} reads as {_KIND_WORDS.get(kind, kind)} — quote it: '{key}'"
        return [Problem(name, line, where, message)]
    if duplicate:
        return [Problem(name, line, where, "duplicate key — keep one")]
    return []


_KIND_WORDS = {"int": "a number", "float": "a number", "bool": "true or false", "null": "null"}


def _judge_node(node: yaml.Node, path: KeyPath, name: str, loader: Loader) -> list[Problem]:
    line, where = node.start_mark.line + 1, format_key_path(path)
    tag = str(node.tag)
    if tag not in PLAIN_TAGS and tag != TIMESTAMP_TAG:
        shown = tag.replace(_TAG, "!!")
        message = f"the YAML tag {shown} is not supported — use text, numbers, lists and mappings"
        return [Problem(name, line, where, message)]
    if not isinstance(node, yaml.ScalarNode) or tag in (_TAG + "str", TIMESTAMP_TAG):
        return []
    text = str(node.value)
    if tag == _TAG + "int":
        digits = sum(c.isdigit() for c in text)
        if digits > MAX_INT_DIGITS:
            message = (
                f"a whole number of {digits:,} digits is too large — "
                f"use at most {MAX_INT_DIGITS} digits"
            )
            return [Problem(name, line, where, message)]
    try:
        value = loader.construct_object(node)
    except (yaml.YAMLError, ValueError, KeyError, IndexError, OverflowError) as exc:
        del exc
        kind = _KIND_WORDS.get(tag.rpartition(":")[2], tag)
        return [Problem(name, line, where, f"'{text[:40]}' is not {kind}")]
    if isinstance(value, float) and not math.isfinite(value):
        message = f"{text} is not a finite number — write a number such as 1 or 0.5"
        return [Problem(name, line, where, message)]
    return []
