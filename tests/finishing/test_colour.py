"""Colour anchoring: a chained clip's colour is matched to its chain's first clip in conform,
the anchor's identity is in the conformed clip's cache key, and only chained segments that
opted in are anchored."""

from __future__ import annotations

from pathlib import Path

import pytest
from finishing_support import FPS, H, W, write_clip

from cinestitch.cache import file_digest
from cinestitch.finish_actions import run_finished_conform
from cinestitch.manifest import load_project
from cinestitch.media import StitchPlan
from cinestitch.media.colour import clip_stats
from cinestitch.plan import plan_build
from tests.conftest import ProjectFactory

ANCHOR = (90, 130, 170)
DRIFTED = (150, 120, 80)


def clip(root: Path, name: str, color: tuple[int, int, int]) -> Path:
    return write_clip(root / f"{name}.mp4", seconds=1, fps=FPS, width=W, height=H, color=color)


def stats(path: Path) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    found = clip_stats(path, W, H, FPS, "pad")
    return found.mean, found.std


def test_drifted_clip_takes_the_anchors_colour(tmp_path: Path) -> None:
    """After conforming against the anchor, the drifted clip's mean and spread per plane
    are the anchor's (within two levels), while they were far apart before."""
    anchor, drifted = clip(tmp_path, "anchor", ANCHOR), clip(tmp_path, "drifted", DRIFTED)
    dest = tmp_path / "conformed.mp4"
    plan = StitchPlan((), W, H, FPS)
    assert (
        run_finished_conform(drifted, dest, plan, tmp_path / "cache", "pad", None, anchor, "s2")
        is None
    )
    (mean, std), (target_mean, target_std) = stats(dest), stats(anchor)
    before, _ = stats(drifted)
    assert max(abs(a - b) for a, b in zip(before, target_mean, strict=True)) > 15
    assert mean == pytest.approx(target_mean, abs=2.0)
    assert std == pytest.approx(target_std, abs=2.0)


def test_anchor_identity_is_in_the_cache_key(tmp_path: Path) -> None:
    """Conforming one clip against two anchors gives two grades (the second is not served
    from the first's cache entry); the first anchor again is served from the cache, byte
    for byte."""
    drifted = clip(tmp_path, "drifted", DRIFTED)
    first, second = clip(tmp_path, "first", ANCHOR), clip(tmp_path, "second", (60, 200, 60))
    cache, plan = tmp_path / "cache", StitchPlan((), W, H, FPS)
    outs = [tmp_path / f"out{i}.mp4" for i in range(3)]
    for out, anchor in zip(outs, (first, second, first), strict=True):
        run_finished_conform(drifted, out, plan, cache, "pad", None, anchor, "s2")
    assert stats(outs[0])[0] == pytest.approx(stats(first)[0], abs=2.0)
    assert stats(outs[1])[0] == pytest.approx(stats(second)[0], abs=2.0)
    assert file_digest(outs[2]) == file_digest(outs[0])


MANIFEST = """
    schema_version: 1
    title: Chains
    output: {size: 64x36, fps: 12}
    defaults: {seconds: 1, template: shot.j2}
    colour: {anchor: chain}
    segments:
      - id: one
        reference: none
      - id: two
      - id: three
        colour: {anchor: none}
      - id: four
      - id: fresh
        reference: none
      - id: after
        reference: fresh
"""


def test_only_chained_segments_that_opt_in_are_anchored(make_project: ProjectFactory) -> None:
    """With the project anchoring chains, every chained segment is matched to its chain's
    first one, except one that opts out; a chain's first segment has no anchor."""
    root = make_project(MANIFEST, {"shot.j2": "A shot.\n"})
    plan = plan_build(load_project(root))
    anchors = {s.segment.id: s.anchor for s in plan.steps}
    assert anchors == {
        "one": None, "two": "one", "three": None, "four": "one", "fresh": None, "after": "fresh",
    }  # fmt: skip
