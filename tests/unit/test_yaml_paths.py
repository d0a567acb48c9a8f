"""The two YAML paths agree: libyaml for plain manifests, the measuring Python parser for
everything else (aliases, tabs, deep nesting, mistakes), with the same data and lines."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cinestitch.manifest import yamldoc

ROOT = Path(__file__).resolve().parents[2]
PLAIN = [
    *sorted(ROOT.glob("projects/*/cinestitch.yaml")),
    *sorted(ROOT.glob("src/cinestitch/**/cinestitch.yaml")),
]


def slow(text: str) -> yamldoc.YamlDocument:
    """What the Python parser alone makes of ``text``."""
    loader = yamldoc.ManifestLoader(text)
    try:
        node = loader.get_single_node()
        doc = yamldoc.YamlDocument(None)
        assert node is not None
        yamldoc._walk(node, doc, "m.yaml", loader)
        if not doc.problems:
            doc.data = loader.construct_document(node)
        return doc
    finally:
        loader.dispose()


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: str(p.relative_to(ROOT)))
def test_plain_manifests_read_the_same_both_ways(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = yamldoc._plain_document(text, "m.yaml")
    assert fast is not None, "a plain manifest should take the libyaml path"
    want = slow(text)
    assert (fast.data, fast.lines, fast.problems) == (want.data, want.lines, [])


ODD = {
    "dates, accents, quoted keys, merge-free": (
        "title: 2024-05-01\nname: Café ✓\n'on': yes\nlist: [1, 2.5, -3, null, ~, true]\n"
        "text: |\n  two\n  lines\nnested: {a: {b: [x, {c: d}]}}\n"
    ),
    "numbers of every spelling": "a: 0x1F\nb: 1_000\nc: .5\nd: 1e3\ne: -.inf\nf: 0o17\n",
    "empty values": "a:\nb: []\nc: {}\nd: ''\n",
}


@pytest.mark.parametrize("text", ODD.values(), ids=list(ODD))
def test_unusual_plain_text_reads_the_same_both_ways(text: str) -> None:
    fast = yamldoc._plain_document(text, "m.yaml")
    want = slow(text)
    if fast is None:  # a problem (the infinite float): the Python parser reports it
        assert want.problems
        return
    assert (fast.data, fast.lines) == (want.data, want.lines)


def nested(levels: int) -> str:
    return "a: " + "[" * levels + "1" + "]" * levels + "\n"


LEFT_TO_PYTHON = {
    "an anchor and alias": "a: &x {b: 1}\nc: *x\n",
    "a tab": "a:\t1\n",
    "a control character": "a: b\x07\n",
    "nested to the bound": nested(yamldoc.MAX_DEPTH - 1),
    "nested past the bound": nested(yamldoc.MAX_DEPTH + 5),
    "a duplicate key": "a: 1\na: 2\n",
    "a number key": "1: a\n",
    "a tag": "a: !!python/object:os.system x\n",
    "a syntax error": "a: [1, 2\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "an empty file": "",
}


@pytest.mark.parametrize("text", LEFT_TO_PYTHON.values(), ids=list(LEFT_TO_PYTHON))
def test_anything_but_plain_goes_to_the_python_parser(text: str) -> None:
    assert yamldoc._plain_document(text, "m.yaml") is None


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("ok: 1\n" + nested(10_000))
    doc = yamldoc.load_yaml_document(path, "m.yaml")
    assert doc.data is None
    assert [(p.line, "nested more than" in p.message) for p in doc.problems] == [(2, True)]


def test_the_plain_path_is_libyaml() -> None:
    assert yamldoc._CLoader is yaml.CSafeLoader
