"""Rendered prompts are remembered between loads: an unchanged project renders nothing and
imports no Jinja, and any input of a render (a template it includes, a bible value, the
previous prompt, cinestitch's version) makes it render again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cinestitch import prompt_render
from cinestitch.errors import ProjectError
from cinestitch.manifest import load_project
from cinestitch.manifest.load import remember_valid
from cinestitch.prompt_memo import MEMO_NAME
from tests.conftest import ProjectFactory

MANIFEST = """
    schema_version: 1
    title: Memo
    output: {size: 128x72, fps: 12}
    bible: {hero: a red fox}
    defaults: {seconds: 1, template: shot.j2}
    segments:
      - {id: a, vars: {action: runs}}
      - {id: b, vars: {action: jumps}, reference: previous}
      - {id: c, prompt: "Inline: {{ hero }} sleeps"}
"""
TEMPLATES = {
    "shot.j2": (
        "{% include 'style.j2' %} {{ hero }} {{ action }}. "
        "Before: {{ prev.prompt if prev else 'none' }}"
    ),
    "style.j2": "Cinematic.",
}


def loaded(root: Path) -> dict[str, str]:
    """Load as a build does (remembering on success); each prompt's text by segment."""
    project = load_project(root)
    remember_valid(project)
    return {sid: p.text for sid, p in project.prompts.items()}


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The segments rendered with Jinja, in order."""
    seen: list[str] = []
    real = prompt_render.render_one

    def render_one(env, project, segment, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(segment.id)
        return real(env, project, segment, *args, **kwargs)

    monkeypatch.setattr(prompt_render, "render_one", render_one)
    return seen


def test_an_unchanged_project_renders_nothing(
    make_project: ProjectFactory, counted: list[str]
) -> None:
    root = make_project(MANIFEST, TEMPLATES)
    first = loaded(root)
    assert counted == ["a", "b", "c"]
    assert (
        first["b"] == "Cinematic. a red fox jumps. Before: Cinematic. a red fox runs. Before: none"
    )
    assert loaded(root) == first
    assert counted == ["a", "b", "c"]


def test_an_included_template_renders_again(
    make_project: ProjectFactory, counted: list[str]
) -> None:
    root = make_project(MANIFEST, TEMPLATES)
    loaded(root)
    (root / "prompts" / "style.j2").write_text("Noir.")
    again = loaded(root)
    assert again["a"].startswith("Noir.") and again["b"].startswith("Noir.")
    assert counted[3:] == ["a", "b", "c"]  # every render may read any template


def test_a_template_rewritten_with_its_old_size_and_time_renders_again(
    make_project: ProjectFactory,
) -> None:
    root = make_project(MANIFEST, TEMPLATES)
    loaded(root)
    style = root / "prompts" / "style.j2"
    before = style.stat()
    style.write_text("Glowing!!!")  # as long as "Cinematic."
    os.utime(style, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert style.stat().st_size == before.st_size
    assert loaded(root)["a"].startswith("Glowing!!!")


def test_a_changed_value_renders_what_sees_it(
    make_project: ProjectFactory, counted: list[str]
) -> None:
    root = make_project(MANIFEST, TEMPLATES)
    loaded(root)
    manifest = root / "cinestitch.yaml"
    manifest.write_text(manifest.read_text().replace("sleeps", "snores"))
    assert loaded(root)["c"] == "Inline: a red fox snores"
    assert counted[3:] == ["c"]  # nothing else sees c's prompt
    manifest.write_text(manifest.read_text().replace("action: runs", "action: hides"))
    again = loaded(root)
    assert counted[4:] == ["a", "b", "c"]  # each sees the one before's prompt
    assert "hides" in again["a"] and "runs" not in again["b"]


def test_a_refused_render_is_found_again_not_remembered(
    make_project: ProjectFactory, counted: list[str]
) -> None:
    root = make_project(MANIFEST, TEMPLATES)
    loaded(root)
    (root / "prompts" / "style.j2").write_text("{{ missing_name }}")
    for _ in range(2):
        with pytest.raises(ProjectError, match="missing_name"):
            loaded(root)


def test_a_template_swapped_for_a_link_outside_is_still_refused(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(MANIFEST, TEMPLATES)
    loaded(root)
    style = root / "prompts" / "style.j2"
    outside = tmp_path / "outside.j2"
    outside.write_text(style.read_text())
    stat = style.stat()
    os.utime(outside, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    style.unlink()
    style.symlink_to(outside)
    with pytest.raises(ProjectError, match="outside"):
        loaded(root)


@pytest.mark.parametrize("text", ["", "{", "[]", '{"version": 1, "renders": {"a": 3}}'])
def test_a_broken_memo_is_a_miss(make_project: ProjectFactory, text: str) -> None:
    root = make_project(MANIFEST, TEMPLATES)
    want = loaded(root)
    (root / ".cinestitch" / MEMO_NAME).write_text(text)
    assert loaded(root) == want


def test_the_memo_keeps_only_current_segments(make_project: ProjectFactory) -> None:
    root = make_project(MANIFEST, TEMPLATES)
    loaded(root)
    manifest = root / "cinestitch.yaml"
    text = manifest.read_text()
    manifest.write_text(text[: text.index("  - {id: c")])
    loaded(root)
    memo = json.loads((root / ".cinestitch" / MEMO_NAME).read_text())
    assert sorted(memo["renders"]) == ["a", "b"]


def test_a_second_process_imports_no_jinja(make_project: ProjectFactory) -> None:
    root = make_project(MANIFEST, TEMPLATES)
    loaded(root)
    code = (
        "import sys; from pathlib import Path; from cinestitch.manifest import load_project; "
        f"p = load_project(Path({str(root)!r})); "
        "print(len(p.prompts), 'jinja2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["3", "False"], out.stderr
