"""Keyframe builds end to end with the embedded animatic: stills drawn first, segments
between them that start and end on them, an edit that regenerates only what touches it,
just the stills for approval, and the stills kept in the lock and the cache."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cinestitch.lock import load_lock
from cinestitch.media import psnr, read_frames_rgb
from tests.conftest import PROJECT_DODO, provider_calls, run_cli, run_doit, submitted_prompts

MANIFEST = """
    schema_version: 1
    title: Keys
    output: {size: 128x72, fps: 12}
    provider: {name: animatic}
    defaults: {seconds: 1}
    keyframes:
      - {id: field, prompt: "Still: a sunny field."}
      - {id: forest, prompt: "Still: a misty forest."}
      - {id: city, prompt: "Still: a night city."}
      - {id: sea, image: assets/sea.png}
    segments:
      - {id: walk, between: [field, forest], prompt: "Shot: walking into the forest."}
      - {id: run, between: [forest, city], prompt: "Shot: running to the city."}
      - {id: swim, reference: keyframes, between: [city, sea], prompt: "Shot: out to sea."}
"""


def ran(stdout: str, step: str) -> list[str]:
    """The names of the ``step`` tasks doit ran ('.  generate:<id>')."""
    prefix = f".  {step}:"
    return [line[len(prefix) :].strip() for line in stdout.splitlines() if line.startswith(prefix)]


def write_project(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    y, x = np.mgrid[0:72, 0:128].astype(np.float32)
    sea = np.stack([20 + 0 * x, 60 + 60 * y / 72, 120 + 100 * x / 128], axis=2)
    Image.fromarray(sea.astype(np.uint8)).save(root / "assets" / "sea.png")
    (root / "cinestitch.yaml").write_text(textwrap.dedent(MANIFEST).lstrip())
    (root / "dodo.py").write_text(PROJECT_DODO)
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean keyframe build, shared (read-only) by the checks below."""
    root = write_project(tmp_path_factory.mktemp("keys") / "keys")
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def copy_of(built: Path, tmp_path: Path) -> Path:
    root = tmp_path / "keys"
    shutil.copytree(built, root)
    return root


def rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_each_segment_starts_and_ends_on_its_keyframes(built: Path) -> None:
    """Every segment's first frame is its start keyframe and its last frame its end one
    (a drawn still or the project's picture), so the seams between them meet."""
    build = built / "build"
    stills = {k: build / "keyframes" / f"{k}.png" for k in ("field", "forest", "city")}
    stills["sea"] = built / "assets" / "sea.png"
    for sid, (start, end) in {
        "walk": ("field", "forest"), "run": ("forest", "city"), "swim": ("city", "sea")
    }.items():  # fmt: skip
        first, last = read_frames_rgb(build / "segments" / f"{sid}.mp4", [0, -1])
        assert psnr(first, rgb(stills[start])) > 33, sid
        assert psnr(last, rgb(stills[end])) > 33, sid
    seams = json.loads((build / "seam-scores.json").read_text())["seams"]
    assert all(s["ssim"] > 0.8 for s in seams)


def test_keyframes_are_drawn_once_before_any_clip(built: Path) -> None:
    """The stills are generated first, once each (the picture never), then the clips."""
    prompts = submitted_prompts(built)
    stills = ["Still: a sunny field.", "Still: a misty forest.", "Still: a night city."]
    assert prompts[:3] == stills
    assert len(prompts) == 6
    again = run_doit(built)
    assert again.returncode == 0 and ran(again.stdout, "keyframe") == []
    assert provider_calls(built) == 6


def test_the_lock_keeps_the_stills(built: Path) -> None:
    """The lock records each drawn keyframe (key, still, pixels) in its own section; the
    cache commands list them beside the clips."""
    lock = load_lock(built / "cinestitch.lock")
    assert sorted(lock.keyframes) == ["city", "field", "forest"]
    assert all(e.pixels and e.settings["kind"] == "image" for e in lock.keyframes.values())
    status = run_cli("cache", "status", "--dir", str(built))
    assert status.returncode == 0, status.stderr
    assert "keyframe:forest" in status.stdout and "6 clips in the lock: 6 local" in status.stdout


def test_editing_a_keyframe_regenerates_exactly_what_touches_it(
    built: Path, tmp_path: Path
) -> None:
    """A new prompt for the middle keyframe redraws it and regenerates the two segments
    that start or end on it, nothing else; the plan says why first."""
    root = copy_of(built, tmp_path)
    manifest = root / "cinestitch.yaml"
    manifest.write_text(manifest.read_text().replace("a misty forest", "a burning forest"))
    plan = run_doit(root, "plan")
    rows = {line.split()[0]: line for line in plan.stdout.splitlines() if line.strip()}
    assert all("keyframe changed (forest)" in rows[sid] for sid in ("walk", "run"))
    assert "up to date" in rows["swim"] and "up to date" in rows["keyframe:city"]
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(result.stdout, "keyframe") == ["forest"]
    assert sorted(ran(result.stdout, "generate")) == ["run", "walk"]
    assert provider_calls(root) == 6 + 3


def test_segments_between_keyframes_do_not_depend_on_each_other(built: Path) -> None:
    """No segment between keyframes waits on another segment: each depends on its own two
    stills only (so ``doit -n`` makes them all at once)."""
    from cinestitch.tasks import project_tasks

    tasks = {f"{t['basename']}:{t.get('name')}": t for t in project_tasks(built)}
    for sid, stills in {"walk": ("field", "forest"), "run": ("forest", "city")}.items():
        deps = tasks[f"generate:{sid}"]["file_dep"]
        assert deps == [f"build/keyframes/{k}.png" for k in stills]
    assert tasks["generate:swim"]["file_dep"] == ["build/keyframes/city.png", "assets/sea.png"]
    deps = [d for t in tasks.values() for d in t.get("file_dep", [])]
    assert not any(d.startswith("build/frames") for d in deps)


def test_doit_keyframes_builds_just_the_stills(tmp_path: Path) -> None:
    """``doit keyframes`` draws the stills and their contact sheet and generates no clip;
    ``cinestitch keyframes`` says where they are."""
    root = write_project(tmp_path / "fresh")
    result = run_doit(root, "keyframes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(ran(result.stdout, "keyframe")) == ["city", "field", "forest"]
    assert ran(result.stdout, "generate") == [] and provider_calls(root) == 3
    with Image.open(root / "build" / "keyframes" / "contact.png") as sheet:
        assert sheet.width > 4 * 128 and sheet.height > 72
    shown = run_cli("keyframes", str(root))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "build/keyframes/contact.png" in shown.stdout and provider_calls(root) == 3


def test_doit_keyframes_budgets_just_the_stills(tmp_path: Path) -> None:
    """``doit keyframes`` prices and approves the stills only: clips it will not make do not
    count against the build budget, nor show in its plan; the whole build is still refused."""
    root = write_project(tmp_path / "budgeted")
    manifest = root / "cinestitch.yaml"
    paid = "provider: {name: animatic, price_per_second: 0.5}\nbudget: {build: 1.0}"
    manifest.write_text(manifest.read_text().replace("provider: {name: animatic}", paid))
    result = run_doit(root, "-n", "2", "keyframes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(ran(result.stdout, "keyframe")) == ["city", "field", "forest"]
    plan = result.stdout.split(".  keyframe:", 1)[0]
    assert "keyframe:field" in plan and "3 to generate (3 stills)" in plan
    assert not any(line.startswith(("walk", "run ", "swim")) for line in plan.splitlines())
    whole = run_doit(root)
    assert whole.returncode != 0
    assert "$0.50 over the build budget of $1.00" in whole.stdout + whole.stderr
    assert ran(whole.stdout, "generate") == [] and provider_calls(root) == 3


def test_doit_keyframes_in_a_project_without_keyframes_says_why(tmp_path: Path) -> None:
    """`doit keyframes` where there are none: one line saying so and what to declare (as
    `cinestitch keyframes` says), not doit's "Invalid parameter"; nothing is built."""
    root = tmp_path / "chain"
    root.mkdir()
    (root / "cinestitch.yaml").write_text(
        textwrap.dedent(
            """\
            schema_version: 1
            title: Chain
            output: {size: 64x36, fps: 8}
            segments:
              - {id: a, reference: none, prompt: "A.", seconds: 1}
            """
        )
    )
    (root / "dodo.py").write_text(PROJECT_DODO)
    for task in ("keyframes", "keyframe:a"):
        done = run_doit(root, task)
        said = done.stdout + done.stderr
        assert done.returncode == 2, said
        assert "cinestitch.yaml: no keyframes — declare keyframes:" in done.stderr
        assert "Invalid parameter" not in said and "Traceback" not in said
    assert not (root / "build" / "segments").exists()
