"""Loading and validating cinestitch.yaml: defaults, references, and one-line problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from cinestitch.errors import ProjectError
from cinestitch.manifest import load_project
from tests.conftest import ProjectFactory

SHOT = "{{ action }}\n"

GOOD = """
    schema_version: 1
    title: Test
    output: {size: 128x72, fps: 12}
    bible: {hero: a fox}
    defaults: {seconds: 2, template: shot.j2}
    segments:
      - id: one
        vars: {action: the fox runs}
      - id: two
        vars: {action: the fox jumps}
        transition: {type: crossfade, seconds: 0.5}
      - id: three
        reference: none
        vars: {action: the fox sleeps}
      - id: four
        reference: one
        vars: {action: the fox wakes}
"""


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ProjectError) as info:
        load_project(root)
    return [str(p) for p in info.value.problems]


def test_valid_manifest_resolves_defaults_and_references(make_project: ProjectFactory) -> None:
    """Defaults fill segments; previous/none/id references resolve to what they mean."""
    project = load_project(make_project(GOOD, {"shot.j2": SHOT}))
    one, two, three, four = project.segments
    assert [s.seconds for s in project.segments] == [2, 2, 2, 2]
    assert one.reference.kind == "none"  # the first segment has no previous one
    assert (two.reference.kind, two.reference.value) == ("segment", "one")
    assert three.reference.kind == "none"
    assert (four.reference.kind, four.reference.value) == ("segment", "one")
    assert two.transition.kind == "crossfade" and two.transition.seconds == 0.5
    assert project.output.path == "build/proj.mp4"
    assert project.provider.name == "animatic"
    assert project.prompts["two"].text == "the fox jumps"


def test_unknown_key_names_line_and_suggests(make_project: ProjectFactory) -> None:
    """A misspelt key is reported at its own line with the closest allowed key."""
    root = make_project(
        GOOD.replace("output: {size: 128x72, fps: 12}", "output: {size: 128x72, fsp: 12}"),
        {"shot.j2": SHOT},
    )
    assert problems_of(root) == ["cinestitch.yaml:3 output.fsp: unknown key — did you mean 'fps'?"]


def test_bad_type_is_one_line(make_project: ProjectFactory) -> None:
    """A value of the wrong type says what was expected."""
    root = make_project(
        GOOD.replace("defaults: {seconds: 2,", "defaults: {seconds: two,"), {"shot.j2": SHOT}
    )
    assert problems_of(root) == ['cinestitch.yaml:5 defaults.seconds: expected a number, got "two"']


def test_seconds_above_provider_maximum(make_project: ProjectFactory) -> None:
    """A duration the provider cannot make is caught before anything runs."""
    root = make_project(
        GOOD.replace("      - id: two\n", "      - id: two\n        seconds: 40\n"),
        {"shot.j2": SHOT},
    )
    (problem,) = problems_of(root)
    assert problem.startswith(
        "cinestitch.yaml:10 segments[1].seconds: 40 is above animatic's maximum of 20"
    )


def test_every_mistake_reported_at_once(make_project: ProjectFactory, tmp_path: Path) -> None:
    """Unknown key, bad type, duplicate id, missing reference, escaping path and an undefined
    template variable are all reported together, each with file, line and key."""
    (tmp_path / "outside.png").write_bytes(b"x")
    manifest = """
        schema_version: 1
        title: Broken
        output: {size: 128x72, fps: twelve}
        defaults: {seconds: 2, template: shot.j2}
        segments:
          - id: one
            colour: red
            vars: {action: runs}
          - id: one
            vars: {action: jumps}
          - id: three
            reference: intro
            vars: {action: sleeps}
          - id: four
            reference: ../outside.png
            vars: {action: wakes}
          - id: five
            template: typo.j2
    """
    root = make_project(
        manifest, {"shot.j2": SHOT, "typo.j2": "{{ bible.hero }} and {{ acton }}\n"}
    )
    assert problems_of(root) == [
        'cinestitch.yaml:3 output.fps: expected a whole number, got "twelve"',
        'cinestitch.yaml:7 segments[0].colour: expected a mapping, got "red"',
        "cinestitch.yaml:9 segments[1].id: duplicate id 'one' (first at line 6) — ids must be "
        "unique",
        "cinestitch.yaml:12 segments[2].reference: 'intro' is not an earlier segment — use "
        "previous, none, an earlier id, or an image file in the project",
        "cinestitch.yaml:15 segments[3].reference: '../outside.png' is outside the project — "
        "keep reference images inside it",
        "prompts/typo.j2:1 segments[4] (five): 'dict object' has no attribute 'hero' — check the "
        "variable names in bible and vars",
    ]


def test_undefined_variable_names_template_line(make_project: ProjectFactory) -> None:
    """A missing variable is an error at the template's line, with a suggestion."""
    root = make_project(GOOD, {"shot.j2": "A shot.\n\n{{ acton }}\n"})
    problems = problems_of(root)
    assert (
        problems[0]
        == "prompts/shot.j2:3 segments[0] (one): 'acton' is undefined — did you mean 'action'?"
    )
    assert len(problems) == 4  # every segment uses the template


def test_missing_template(make_project: ProjectFactory) -> None:
    """A template that exists nowhere names where it was looked for."""
    root = make_project(GOOD.replace("template: shot.j2", "template: missing.j2"), {})
    problem = problems_of(root)[0]
    assert problem.startswith("cinestitch.yaml:7 segments[0].template: template 'missing.j2' not")


def test_yaml_syntax_error(make_project: ProjectFactory) -> None:
    """Broken YAML is one line with the line number (of the bracket left open)."""
    root = make_project("schema_version: 1\ntitle: [unclosed\n", {})
    (problem,) = problems_of(root)
    assert problem.startswith("cinestitch.yaml:2: invalid YAML")


def test_duplicate_yaml_key(make_project: ProjectFactory) -> None:
    """YAML silently keeps the last of two equal keys; we report it instead."""
    root = make_project(
        GOOD.replace("title: Test", "title: Test\n    title: Again"), {"shot.j2": SHOT}
    )
    assert problems_of(root) == ["cinestitch.yaml:3 title: duplicate key — keep one"]


def test_transition_longer_than_segment(make_project: ProjectFactory) -> None:
    """A crossfade must be shorter than both segments it joins."""
    root = make_project(GOOD.replace("seconds: 0.5}", "seconds: 3}"), {"shot.j2": SHOT})
    (problem,) = problems_of(root)
    assert problem.startswith("cinestitch.yaml:11 segments[1].transition.seconds: a 3 s crossfade")


def test_last_segment_cannot_crossfade(make_project: ProjectFactory) -> None:
    """There is nothing after the last segment to crossfade into."""
    text = GOOD + "        transition: {type: crossfade, seconds: 0.5}\n"
    root = make_project(text, {"shot.j2": SHOT})
    (problem,) = problems_of(root)
    assert "segments[3].transition: the last segment has nothing to crossfade into" in problem


def test_reference_to_later_segment(make_project: ProjectFactory) -> None:
    """A segment can only start from an earlier one (no cycles)."""
    root = make_project(GOOD.replace("reference: one", "reference: four"), {"shot.j2": SHOT})
    (problem,) = problems_of(root)
    assert "segments[3].reference: 'four' is not an earlier segment" in problem


def test_missing_image_and_output_outside(make_project: ProjectFactory) -> None:
    """Image references must exist; the output must stay inside the project."""
    text = GOOD.replace("reference: none", "reference: assets/nope.png").replace(
        "output: {size: 128x72, fps: 12}", "output: {size: 128x72, fps: 12, path: ../x.mp4}"
    )
    root = make_project(text, {"shot.j2": SHOT})
    assert problems_of(root) == [
        "cinestitch.yaml:3 output.path: '../x.mp4' is outside the project — write it under build/",
        "cinestitch.yaml:13 segments[2].reference: 'assets/nope.png' does not exist in the project",
    ]


def test_unknown_provider_option(make_project: ProjectFactory) -> None:
    """Provider options are checked by the provider itself."""
    root = make_project(
        GOOD.replace(
            "title: Test", "title: Test\n    provider: {name: animatic, options: {speed: 2}}"
        ),
        {"shot.j2": SHOT},
    )
    (problem,) = problems_of(root)
    assert problem.startswith("cinestitch.yaml:3 provider.options: speed")


def test_missing_manifest(tmp_path: Path) -> None:
    """A directory with no manifest says how to start one."""
    (problem,) = problems_of(tmp_path)
    assert "no manifest here" in problem
