"""A manifest that passed the schema is remembered by its bytes: loading it again skips the
schema (no jsonschema import), and any change to it is validated afresh."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cinestitch.errors import ProjectError
from cinestitch.manifest import load_project
from cinestitch.manifest.load import VALIDITY_MEMO, remember_valid

MANIFEST = """\
schema_version: 1
title: Memo
output: {size: 64x36, fps: 8}
segments:
  - {id: a, prompt: "A."}
"""
PROBE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cinestitch.manifest import load_project
    load_project(Path(sys.argv[1]))
    print("jsonschema" in sys.modules)
    """
)


def loads_jsonschema(root: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(root)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "True"


def test_unchanged_manifest_skips_the_schema(tmp_path: Path) -> None:
    """After a successful load is remembered, the same bytes load without jsonschema."""
    (tmp_path / "cinestitch.yaml").write_text(MANIFEST)
    assert loads_jsonschema(tmp_path)
    remember_valid(load_project(tmp_path))
    assert (tmp_path / VALIDITY_MEMO).is_file()
    assert not loads_jsonschema(tmp_path)


def test_changed_manifest_is_validated_again(tmp_path: Path) -> None:
    """An edit after the memo was written is checked by the schema as always."""
    manifest = tmp_path / "cinestitch.yaml"
    manifest.write_text(MANIFEST)
    remember_valid(load_project(tmp_path))
    manifest.write_text(MANIFEST.replace("fps: 8", 'fps: "eight"'))
    with pytest.raises(ProjectError, match=r"output\.fps"):
        load_project(tmp_path)
