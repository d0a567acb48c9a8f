"""The cinestitch command and doit on bad projects: one line per problem, exit 3, no output."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ProjectFactory, run_cli, run_doit

BROKEN = """
    schema_version: 1
    title: Broken
    output: {size: 128x72, fps: 12, colour: red}
    defaults: {seconds: 1, template: shot.j2}
    segments:
      - id: one
        vars: {action: runs}
      - id: two
        reference: ghost
"""


def test_validate_reports_every_problem_without_traceback(make_project: ProjectFactory) -> None:
    """`cinestitch validate` prints one line per problem and a summary, exit 3."""
    root = make_project(BROKEN, {"shot.j2": "{{ action }}\n"})
    result = run_cli("validate", str(root))
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "cinestitch.yaml:3 output.colour: unknown key — allowed: crf, fit, fps, path, preset, size",
        "cinestitch.yaml:9 segments[1].reference: 'ghost' is not an earlier segment — use "
        "previous, none, an earlier id, or an image file in the project",
        "prompts/shot.j2:1 segments[1] (two): 'action' is undefined — define it in bible or "
        "the segment's vars",
        "3 problems; nothing was generated.",
    ]
    assert "Traceback" not in result.stderr


def test_doit_on_bad_project_exits_3_and_writes_nothing(make_project: ProjectFactory) -> None:
    """doit on a broken project prints the same lines, exits 3 and creates no build files."""
    root = make_project(BROKEN, {"shot.j2": "{{ action }}\n"})
    result = run_doit(root)
    assert result.returncode == 3
    assert "3 problems; nothing was generated." in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (root / "build").exists() and not (root / ".cinestitch").exists()


def test_validate_ok(make_project: ProjectFactory) -> None:
    """A good project validates with a one-line summary."""
    root = make_project(
        BROKEN.replace(", colour: red", "").replace("reference: ghost", "vars: {action: b}"),
        {"shot.j2": "{{ action }}\n"},
    )
    result = run_cli("validate", str(root))
    assert result.returncode == 0, result.stderr
    assert "ok — 2 segments, 2 s generated with animatic" in result.stdout


def test_new_scaffolds_a_project_that_builds(tmp_path: Path) -> None:
    """`cinestitch new` makes a project that validates and builds with doit as it is."""
    target = tmp_path / "my-film"
    result = run_cli("new", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / ".gitignore").read_text().startswith("build/")
    assert run_cli("validate", str(target)).returncode == 0
    manifest = target / "cinestitch.yaml"
    # keep the build small for the test; the scaffold's own size is 1280x720
    manifest.write_text(
        manifest.read_text().replace("1280x720", "160x90").replace("seconds: 5", "seconds: 1.5")
    )
    build = run_doit(target)
    assert build.returncode == 0, build.stdout + build.stderr
    assert (target / "build" / "video.mp4").stat().st_size > 0


def test_new_refuses_non_empty_directory(tmp_path: Path) -> None:
    """`cinestitch new` never overwrites a user's files."""
    (tmp_path / "keep.txt").write_text("mine")
    result = run_cli("new", str(tmp_path))
    assert result.returncode == 2
    assert "not empty" in result.stderr


def test_plan_and_why_before_any_build(make_project: ProjectFactory) -> None:
    """`cinestitch plan` lists every segment as to generate with its cost, writes nothing;
    `why` explains one and names the others when asked for a missing one (exit 2)."""
    manifest = BROKEN.replace(", colour: red", "").replace("reference: ghost", "vars: {action: b}")
    manifest = manifest.replace(
        "title: Broken", "title: Plan\n    provider: {name: animatic, price_per_second: 0.25}"
    )
    root = make_project(manifest, {"shot.j2": "{{ action }}\n"})
    plan = run_cli("plan", str(root))
    assert plan.returncode == 0, plan.stderr
    rows = {line.split()[0]: line for line in plan.stdout.splitlines() if line.strip()}
    assert "generate" in rows["one"] and "not in cache" in rows["one"] and "$0.25" in rows["one"]
    # nothing was built before: a chained segment is new, not "reference frame changed"
    assert "new" in rows["two"] and "reference frame changed" not in rows["two"]
    assert "2 to generate, 2 s of video" in rows["total"] and "$0.50" in rows["total"]
    why = run_cli("why", "two", str(root))
    assert why.returncode == 0 and "chain:      one → two" in why.stdout
    missing = run_cli("why", "three", str(root))
    assert missing.returncode == 2 and "segments: one, two" in missing.stderr
    assert not (root / "build").exists() and not (root / "cinestitch.lock").exists()
