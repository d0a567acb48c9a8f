"""Pinned shots and characters end to end: a pinned segment survives an edit upstream and
its seam is reported; characters' pictures reach the provider's request (the animatic's
job, and a Gemini image fake's body) and are part of the key."""

from __future__ import annotations

import base64
import io
import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from cinestitch.lock import load_lock
from tests.conftest import PROJECT_DODO, REPO, clean_env, provider_calls, run_doit

sys.path.insert(0, str(REPO / "tests" / "providers"))
from fake_gemini_image import FakeGeminiImage
from fake_http import KEY

CHAIN = """
    schema_version: 1
    title: Pinned
    output: {size: 128x72, fps: 12}
    provider: {name: animatic}
    defaults: {seconds: 1}
    segments:
      - {id: s1, reference: none, prompt: "Shot 1: a sunny day at the beach."}
      - {id: s2, pin: true, prompt: "Shot 2: the kite rises."}
      - {id: s3, prompt: "Shot 3: the kite falls."}
"""


def ran(stdout: str) -> list[str]:
    prefix = ".  generate:"
    return [line[len(prefix) :] for line in stdout.splitlines() if line.startswith(prefix)]


def project(root: Path, manifest: str) -> Path:
    root.mkdir(parents=True)
    (root / "cinestitch.yaml").write_text(textwrap.dedent(manifest).lstrip())
    (root / "dodo.py").write_text(PROJECT_DODO)
    return root


def picture(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 60), colour).save(path)


@pytest.fixture(scope="module")
def pinned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = project(tmp_path_factory.mktemp("pin") / "pin", CHAIN)
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_a_pinned_segment_survives_an_upstream_edit(pinned: Path, tmp_path: Path) -> None:
    """After the shot before it changes, a pinned segment keeps its clip (nothing is paid
    for it), the plan says why, what follows it stays, and the seam's jump is reported."""
    root = tmp_path / "pin"
    shutil.copytree(pinned, root)
    clip = (root / "build" / "segments" / "s2.mp4").read_bytes()
    manifest = root / "cinestitch.yaml"
    manifest.write_text(manifest.read_text().replace("a sunny day at the beach", "a night storm"))
    plan = run_doit(root, "plan")
    rows = {line.split()[0]: line for line in plan.stdout.splitlines() if line.strip()}
    assert "up to date" in rows["s2"] and "pinned — upstream changed (seam may jump)" in rows["s2"]
    assert "up to date" in rows["s3"] and "generate" in rows["s1"]
    calls = provider_calls(root)
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert provider_calls(root) == calls + 1  # s1 only
    assert (root / "build" / "segments" / "s2.mp4").read_bytes() == clip
    assert "s1 → s2" in result.stdout and "s2 is pinned: it kept its clip" in result.stdout
    seams = run_doit(root, "seams")
    line = next(x for x in seams.stdout.splitlines() if x.startswith("s1 → s2"))
    assert "JUMP" in line and "s2 is pinned" in line
    scores = json.loads((root / "build" / "seam-scores.json").read_text())
    assert next(s["ssim"] for s in scores["seams"] if s["after"] == "s2") < 0.5


def test_unpinning_regenerates_from_the_new_start(pinned: Path, tmp_path: Path) -> None:
    """Removing pin after an upstream edit regenerates the segment and what chains after it."""
    root = tmp_path / "pin"
    shutil.copytree(pinned, root)
    manifest = root / "cinestitch.yaml"
    text = manifest.read_text().replace("a sunny day at the beach", "a night storm")
    manifest.write_text(text)
    assert run_doit(root).returncode == 0
    manifest.write_text(text.replace("pin: true, ", ""))
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(result.stdout) == ["s2", "s3"]


CAST = """
    schema_version: 1
    title: Cast
    output: {size: 128x72, fps: 12}
    provider: {name: animatic}
    defaults: {seconds: 1}
    characters:
      - {name: hero, description: a fox in a red scarf, images: [assets/hero.png]}
      - {name: owl, description: a grey owl}
    segments:
      - id: meet
        reference: none
        characters: [hero, owl]
        prompt: "{{ characters | map(attribute='description') | join(' meets ') }}."
      - {id: alone, reference: none, prompt: "An empty field."}
"""


def test_character_pictures_reach_the_animatic_and_the_key(tmp_path: Path) -> None:
    """A segment's characters' pictures are copied into its job (the provider's request);
    a new picture regenerates exactly the segments that show the character."""
    root = project(tmp_path / "cast", CAST)
    picture(root / "assets" / "hero.png", (200, 30, 30))
    assert run_doit(root).returncode == 0
    jobs = root / ".cinestitch" / "animatic" / "jobs"
    sent = [json.loads((j / "request.json").read_text()) for j in jobs.iterdir()]
    meet = next(r for r in sent if r["prompt"].startswith("a fox"))
    assert meet["prompt"] == "a fox in a red scarf meets a grey owl."
    assert meet["reference_images"] == ["cast-1.png"]
    assert next(r for r in sent if r["prompt"] == "An empty field.").get("reference_images") is None
    before = load_lock(root / "cinestitch.lock")
    picture(root / "assets" / "hero.png", (30, 30, 200))
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(result.stdout) == ["meet"]
    after = load_lock(root / "cinestitch.lock")
    assert after.segments["meet"].key != before.segments["meet"].key
    assert after.segments["alone"] == before.segments["alone"]


GEMINI = """
    schema_version: 1
    title: Drawn
    output: {size: 128x72, fps: 12}
    provider: {name: animatic}
    keyframe_provider: {name: gemini-image, base_url: "BASE", poll_interval: 0.05}
    defaults: {seconds: 1}
    characters:
      - {name: hero, description: a fox in a red scarf, images: [assets/hero.png]}
    keyframes:
      - {id: dawn, prompt: "The fox at dawn.", characters: [hero]}
      - {id: dusk, prompt: "The fox at dusk."}
    segments:
      - {id: day, between: [dawn, dusk], prompt: "The fox walks all day."}
"""


def test_keyframes_drawn_by_an_image_provider_carry_the_characters(tmp_path: Path) -> None:
    """Keyframes go to the image provider (its fake), the character's picture inside the
    request body; a new picture draws that keyframe again, and no other."""
    with FakeGeminiImage(tmp_path / "scratch") as server:
        manifest = GEMINI.replace("BASE", server.url + "/v1beta")
        root = project(tmp_path / "drawn", manifest)
        picture(root / "assets" / "hero.png", (200, 30, 30))
        env = clean_env(GEMINI_API_KEY=KEY)
        first = run_doit(root, env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        assert server.submissions == 2
        bodies = [json.loads(s.body) for s in server.seen if s.method == "POST"]
        parts = {b["contents"][0]["parts"][0]["text"]: b["contents"][0]["parts"] for b in bodies}
        (sent,) = [p["inlineData"] for p in parts["The fox at dawn."] if "inlineData" in p]
        with Image.open(io.BytesIO(base64.b64decode(sent["data"]))) as image:
            assert image.convert("RGB").getpixel((5, 5)) == (200, 30, 30)
        assert not any("inlineData" in p for p in parts["The fox at dusk."])
        before = load_lock(root / "cinestitch.lock")
        picture(root / "assets" / "hero.png", (30, 30, 200))
        again = run_doit(root, env=env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert server.submissions == 3
        after = load_lock(root / "cinestitch.lock")
        assert after.keyframes["dawn"].key != before.keyframes["dawn"].key
        assert after.keyframes["dusk"] == before.keyframes["dusk"]
        assert KEY not in first.stdout + again.stdout
