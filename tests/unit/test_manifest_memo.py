"""A manifest that loaded cleanly is remembered parsed: loading the same bytes again needs
no PyYAML and gives the same project, a problem found outside the manifest still names its
line, and anything else (an edit, a damaged memo) is parsed afresh."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from cinestitch.errors import ProjectError
from cinestitch.manifest import load_project
from cinestitch.manifest.doc_memo import MEMO_NAME, json_exact
from cinestitch.manifest.load import VALIDITY_MEMO, remember_valid

MANIFEST = """\
schema_version: 1
title: Memo
bible: {hero: "Ada, in a red coat", dates: 2024-05-01}
output: {size: 64x36, fps: 8}
segments:
  - id: a
    prompt: "A {{ bible.hero }}."
    reference: none
  - id: b
    prompt: "Then b."
    reference: assets/start.png
"""
MEMO = Path(".cinestitch") / MEMO_NAME
PROBE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cinestitch.manifest import load_project
    project = load_project(Path(sys.argv[1]))
    print("yaml" in sys.modules, [s.id for s in project.segments])
    """
)


def loads_yaml(root: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1)[1].strip() == "['a', 'b']"
    return done.stdout.startswith("True")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "cinestitch.yaml").write_text(MANIFEST)
    (tmp_path / "assets").mkdir()
    Image.new("RGB", (64, 36), (200, 40, 40)).save(tmp_path / "assets" / "start.png")
    return tmp_path


def test_remembered_manifest_loads_without_yaml_and_equal(project: Path) -> None:
    """The second load reads the memo, not the YAML, and makes the same project."""
    assert loads_yaml(project)
    parsed = load_project(project)
    remember_valid(parsed)
    assert (project / MEMO).is_file() and (project / VALIDITY_MEMO).is_file()
    assert not loads_yaml(project)
    recalled = load_project(project)
    assert recalled == parsed
    assert recalled.bible == {"hero": "Ada, in a red coat", "dates": "2024-05-01"}
    assert recalled.prompts["a"].text == parsed.prompts["a"].text == "A Ada, in a red coat."


def test_problem_outside_the_manifest_still_names_its_line(project: Path) -> None:
    """The manifest is unchanged but its picture is gone: the problem has the line a parse
    gives (the memo keeps every key's line)."""
    remember_valid(load_project(project))
    (project / "assets" / "start.png").unlink()
    with pytest.raises(ProjectError) as remembered:
        load_project(project)
    (project / MEMO).unlink()
    with pytest.raises(ProjectError) as parsed:
        load_project(project)
    assert str(remembered.value) == str(parsed.value)
    assert "cinestitch.yaml:11 segments[1].reference" in str(remembered.value)


def test_edited_manifest_is_parsed_again(project: Path) -> None:
    """An edit after the memo was written is parsed (and its problem found) as always."""
    remember_valid(load_project(project))
    manifest = project / "cinestitch.yaml"
    manifest.write_text(MANIFEST.replace("fps: 8", "fps: 8, fps: 9"))
    with pytest.raises(ProjectError, match=r"cinestitch.yaml:4 .*fps"):
        load_project(project)
    manifest.write_text(MANIFEST.replace('"Then b."', '"Then b, edited."'))
    assert loads_yaml(project)
    assert load_project(project).prompts["b"].text == "Then b, edited."


@pytest.mark.parametrize(
    "damage",
    [
        "{",
        '{"version": 1, "key": "0", "data": {}, "lines": []}',
        "[]",
        '{"version": 99}',
    ],
)
def test_damaged_or_foreign_memo_is_a_miss(project: Path, damage: str) -> None:
    remember_valid(load_project(project))
    memo = json.loads((project / MEMO).read_text())
    (project / MEMO).write_text(damage)
    assert loads_yaml(project)
    assert len(load_project(project).segments) == 2
    if damage == "[]":  # a memo with the right key but broken or missing fields is a miss
        for broken in ({**memo, "lines": [[["segments", 0], "one"]]},
                       {k: v for k, v in memo.items() if k != "lines"},
                       {k: v for k, v in memo.items() if k != "data"}):  # fmt: skip
            (project / MEMO).write_text(json.dumps(broken))
            assert loads_yaml(project)
            assert len(load_project(project).segments) == 2


@pytest.mark.parametrize(
    ("value", "exact"),
    [
        ({"a": [1, 2.5, "x", True, None, {"b": []}]}, True),
        ({"a": float("nan")}, False),
        ({"a": float("inf")}, False),
        ({1: "int key"}, False),
        ({"a": (1, 2)}, False),
        ({"a": b"bytes"}, False),
        ({"a": {1, 2}}, False),
    ],
)
def test_json_exact(value: object, exact: bool) -> None:
    """Only data JSON gives back unchanged is remembered."""
    assert json_exact(value) is exact
