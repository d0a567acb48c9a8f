"""The storyboard page: written by every build, opened from file:// in a real headless
Chromium (Debian's ``chromium``, driven by Playwright): one card per segment with what the
issue asks, a chapter list that seeks the video, readable on a phone; and the statuses of
the last build, failures included."""

from __future__ import annotations

import os
import re
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT_DODO, run_doit
from tests.review.conftest import open_page
from tests.review.review_support import IDS


def screenshot(request: pytest.FixtureRequest, page: Any, name: str) -> Path:
    """Saved for review under .pytest_cache/d/storyboard/ (or $CINESTITCH_SCREENSHOTS)."""
    where = os.environ.get("CINESTITCH_SCREENSHOTS")
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    if where:
        folder = Path(where)
    elif cache is not None:
        folder = cache.mkdir("storyboard")
    else:
        folder = Path(tempfile.gettempdir()) / "cinestitch-storyboard"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_cards_show_each_segment(
    browser: Any, built_review: tuple[Path, str], request: pytest.FixtureRequest
) -> None:
    """One card per segment in order, with its id, title, prompt, reference, the first,
    middle and last frame of every take (the selected one marked), provider, model, cost,
    status and the seam into the next one; the planted jump is flagged."""
    root, _ = built_review
    page = open_page(browser, root, 1280, 900)
    cards = page.query_selector_all("article.card")
    assert [c.get_attribute("data-segment") for c in cards] == IDS
    assert [c.get_attribute("data-status") for c in cards] == ["generated"] * 5
    first = cards[0]
    assert (
        "The <intro>" in first.inner_text()
        and "A red fox runs across a field at night." in first.inner_text()
    )
    assert first.query_selector(".provider").inner_text() == "animatic"
    assert first.query_selector(".model").inner_text() == "sketch"
    assert first.query_selector(".cost").inner_text().startswith("$0.00")
    leap = cards[1]
    takes = leap.query_selector_all(".take")
    assert [t.get_attribute("data-take") for t in takes] == ["1", "2"]
    assert [t.get_attribute("aria-current") for t in takes] == [None, "true"]
    assert "selected" in takes[1].inner_text() and "selected" not in takes[0].inner_text()
    for take in takes:
        images = take.query_selector_all("img")
        assert [i.evaluate("i => i.naturalWidth") > 0 for i in images] == [True] * 3
        assert [f.inner_text() for f in take.query_selector_all("figcaption")] == [
            "first", "middle", "last",
        ]  # fmt: skip
    assert "last frame of 'intro'" in leap.inner_text()
    assert leap.query_selector(".reference img").evaluate("i => i.naturalWidth") > 0
    seams = {
        c.get_attribute("data-segment"): c.query_selector(".seam[data-flagged]") for c in cards
    }
    assert seams["fly"] is None
    flagged = {k: v.get_attribute("data-flagged") for k, v in seams.items() if v is not None}
    assert flagged == {"intro": "false", "leap": "false", "land": "true", "jump": "false"}
    assert "jump" in seams["land"].inner_text()
    assert "land → jump" in page.inner_text("#flags")
    assert page.errors == []
    shot = screenshot(request, page, "storyboard-desktop")
    assert shot.stat().st_size > 10_000


def test_chapter_click_seeks_the_video(browser: Any, built_review: tuple[Path, str]) -> None:
    """The chapter list holds one entry per segment; clicking one moves the video's current
    time to that segment's start and marks the entry as the current chapter."""
    root, _ = built_review
    page = open_page(browser, root, 1280, 900)
    assert page.evaluate("document.getElementById('video').getAttribute('src')") == "review.mp4"
    entries = page.query_selector_all("#chapters button")
    assert [e.get_attribute("data-segment") for e in entries] == IDS
    assert "Flight" in entries[4].inner_text()
    entries[3].click()
    page.wait_for_function("Math.abs(document.getElementById('video').currentTime - 2.75) < 0.01")
    page.wait_for_function(
        "document.querySelectorAll('#chapters li')[3].getAttribute('aria-current') === 'true'"
    )
    page.click("#segment-leap .seek")
    page.wait_for_function("Math.abs(document.getElementById('video').currentTime - 1) < 0.01")


def test_page_reads_on_a_phone(
    browser: Any, built_review: tuple[Path, str], request: pytest.FixtureRequest
) -> None:
    """At a phone's width the cards stack in one column, nothing is wider than the screen,
    and the video fits it."""
    root, _ = built_review
    page = open_page(browser, root, 390, 844)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    lefts = page.evaluate(
        "[...document.querySelectorAll('article.card')].map(c => c.getBoundingClientRect().left)"
    )
    assert len(set(lefts)) == 1
    assert page.evaluate("document.getElementById('video').getBoundingClientRect().width") <= 390
    screenshot(request, page, "storyboard-phone")


def test_nothing_changed_leaves_the_page(built_review: tuple[Path, str], copy_built: Path) -> None:
    """A build after a build writes the page once with every segment cached; the next one
    finds it up to date and does not touch it."""
    first = run_doit(copy_built)
    assert first.returncode == 0, first.stdout + first.stderr
    html = (copy_built / "build" / "storyboard.html").read_text()
    assert re.findall(r'data-status="(\w+)"', html) == ["cached"] * 5
    stamp = (copy_built / "build" / "storyboard.html").stat().st_mtime_ns
    again = run_doit(copy_built)
    assert "-- storyboard" in again.stdout
    assert (copy_built / "build" / "storyboard.html").stat().st_mtime_ns == stamp


def test_failed_build_shows_failed_and_skipped(tmp_path: Path) -> None:
    """When a segment fails, the page still follows the build: the refused segment is
    failed with the provider's words, the one chained to it skipped, the others generated."""
    root = tmp_path / "faults"
    root.mkdir()
    (root / "dodo.py").write_text(PROJECT_DODO)
    (root / "cinestitch.yaml").write_text(
        textwrap.dedent(
            """\
            schema_version: 1
            title: Faults
            output: {size: 64x36, fps: 24}
            defaults: {seconds: 1, transition: {type: cut}}
            segments:
              - {id: ok, reference: none, prompt: "Fine."}
              - id: bad
                reference: none
                prompt: "Refused."
                provider: {options: {fail: content policy}}
              - {id: after, prompt: "After the refused one."}
            """
        )
    )
    result = run_doit(root)
    assert result.returncode != 0
    html = (root / "build" / "storyboard.html").read_text()
    statuses = dict(re.findall(r'data-segment="([\w-]+)" data-status="(\w+)"', html))
    assert statuses == {"ok": "generated", "bad": "failed", "after": "skipped"}
    assert "content policy" in html and "starts from &#39;bad&#39;, which failed" in html
    assert "The final video is not built yet" in html
