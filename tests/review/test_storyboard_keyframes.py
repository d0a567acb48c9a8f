"""The storyboard shows a keyframe project's stills, in a real headless Chromium: one card
per keyframe with its picture, who made it, what it cost and the segments that touch it."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from PIL import Image

from tests.conftest import PROJECT_DODO, run_doit
from tests.review.conftest import open_page

MANIFEST = """
    schema_version: 1
    title: Stills
    output: {size: 64x36, fps: 24}
    provider: {name: animatic}
    defaults: {seconds: 1}
    keyframes:
      - {id: dawn, image: assets/dawn.png}
      - {id: noon, prompt: "the fox at noon"}
      - {id: dusk, prompt: "the fox at dusk"}
    segments:
      - {id: morning, reference: keyframes, prompt: "The fox wakes."}
      - {id: evening, reference: keyframes, prompt: "The fox walks home."}
"""


def build(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "cinestitch.yaml").write_text(textwrap.dedent(MANIFEST).lstrip())
    (root / "dodo.py").write_text(PROJECT_DODO)
    (root / "assets").mkdir()
    Image.new("RGB", (64, 36), (230, 140, 40)).save(root / "assets" / "dawn.png")
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_keyframe_cards_show_each_still(browser: Any, tmp_path: Path) -> None:
    root = tmp_path / "stills"
    build(root)
    page = open_page(browser, root, 1280, 900)
    cards = page.locator("li.keyframe")
    assert cards.count() == 3
    assert [cards.nth(i).get_attribute("data-keyframe") for i in range(3)] == [
        "dawn",
        "noon",
        "dusk",
    ]
    loaded = page.eval_on_selector_all(
        "li.keyframe img", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"
    )
    assert loaded == [True, True, True]
    made = [cards.nth(i).locator(".made").inner_text() for i in range(3)]
    assert made[0] == "picture in the project · $0.00"
    assert made[1].startswith("drawn by animatic (sketch) · $")
    used = [cards.nth(i).locator(".used a").all_inner_texts() for i in range(3)]
    assert used == [["morning"], ["morning", "evening"], ["evening"]]
    page.locator("#keyframe-noon .used a", has_text="evening").click()
    assert page.evaluate("location.hash") == "#segment-evening"
    assert page.errors == []


def test_a_project_without_keyframes_shows_no_keyframe_section(
    built_review: tuple[Path, str],
) -> None:
    html = (built_review[0] / "build" / "storyboard.html").read_text()
    assert 'class="keyframes"' not in html and "segment-intro" in html
