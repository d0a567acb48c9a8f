"""Seam scores: a planted jump is flagged and chained seams are not; the build lists it at
its end, ``doit seams`` prints the table, and the manifest's threshold decides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cinestitch.manifest import load_project
from cinestitch.media.seam_scores import mean_lab, ssim
from cinestitch.plan import plan_build
from cinestitch.seam_report import build_seam_report, delta_e, read_measures
from tests.conftest import run_doit
from tests.review.review_support import make_review_project


def test_planted_jump_is_flagged_and_chained_seams_are_not(
    built_review: tuple[Path, str],
) -> None:
    """Only the seam into the fresh shot in the middle of the chain is under the threshold;
    every chained seam (cut, crossfade or fade) scores near 1."""
    root, _ = built_review
    plan = plan_build(load_project(root))
    measures = read_measures(plan.paths.seam_scores)
    assert measures is not None
    report = build_seam_report(plan, measures)
    by_seam = {(s.before, s.after): s for s in report.seams}
    assert list(by_seam) == [("intro", "leap"), ("leap", "land"), ("land", "jump"), ("jump", "fly")]
    assert [(s.before, s.after) for s in report.flagged_seams] == [("land", "jump")]
    assert by_seam[("land", "jump")].fresh and by_seam[("land", "jump")].ssim < 0.3
    for key in [("intro", "leap"), ("leap", "land"), ("jump", "fly")]:
        assert by_seam[key].ssim > 0.9 and not by_seam[key].fresh, key
    assert by_seam[("leap", "land")].transition == "crossfade 0.25 s"


def test_drift_is_measured_against_the_chain_start(built_review: tuple[Path, str]) -> None:
    """Each segment's colour drift is taken from the first segment of its own chain: zero
    for chain starts, small along a chain, and nothing flagged at the default threshold."""
    root, _ = built_review
    plan = plan_build(load_project(root))
    measures = read_measures(plan.paths.seam_scores)
    assert measures is not None
    drift = {d.segment: d for d in build_seam_report(plan, measures).drift}
    assert {d.segment: d.chain_start for d in drift.values()} == {
        "intro": "intro",
        "leap": "intro",
        "land": "intro",
        "jump": "jump",
        "fly": "jump",
    }
    assert drift["intro"].delta_e == 0 and drift["jump"].delta_e == 0
    assert 0 < drift["land"].delta_e < 6 and not any(d.flagged for d in drift.values())


def test_build_lists_flagged_seams_at_its_end(built_review: tuple[Path, str]) -> None:
    """The build ends, after its ledger, with the flagged seam and what to do about it."""
    _, out = built_review
    tail = out[out.index("spent:") :]
    assert "1 seam jumps (continuity below 0.5):" in tail
    assert "land → jump" in tail and "jump starts fresh" in tail
    assert "intro → leap" not in tail


def test_doit_seams_prints_the_table(built_review: tuple[Path, str]) -> None:
    """``doit seams`` prints every seam with its transition, SSIM, PSNR and drift, marks the
    jump, and measures nothing when the scores are current."""
    root, _ = built_review
    before = (root / "build" / "seam-scores.json").stat().st_mtime_ns
    result = run_doit(root, "seams")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["seam", "transition", "continuity", "PSNR", "drift", "after"]
    rows = {line.split()[0] + line.split()[2]: line for line in lines[1:5]}
    assert set(rows) == {"introleap", "leapland", "landjump", "jumpfly"}
    assert "JUMP" in rows["landjump"] and "jump starts fresh" in rows["landjump"]
    assert "JUMP" not in rows["introleap"] and "crossfade 0.25 s" in rows["leapland"]
    assert "flagged below 0.5 (review.seam_threshold)" in result.stdout
    assert (root / "build" / "seam-scores.json").stat().st_mtime_ns == before


def test_manifest_threshold_decides_without_measuring_again(copy_built: Path) -> None:
    """``review.seam_threshold`` lower than the jump's score unflags it: the table and the
    build's end follow the manifest, and the stored measures are reused."""
    manifest = copy_built / "cinestitch.yaml"
    manifest.write_text(manifest.read_text() + "review: {seam_threshold: 0.01}\n")
    scores = copy_built / "build" / "seam-scores.json"
    measured = json.loads(scores.read_text())
    table = run_doit(copy_built, "seams")
    assert "JUMP" not in table.stdout and "flagged below 0.01" in table.stdout
    build = run_doit(copy_built)
    assert build.returncode == 0, build.stdout + build.stderr
    assert "seam jumps" not in build.stdout
    assert json.loads(scores.read_text()) == measured


def test_seams_before_a_build_says_what_to_do(tmp_path: Path) -> None:
    """``doit seams`` in a project not built yet says to build it, and exits 0."""
    root = make_review_project(tmp_path / "fresh")
    result = run_doit(root, "seams")
    assert result.returncode == 0, result.stderr
    assert "no seam scores yet — run `doit`" in result.stdout


def test_ssim_of_same_and_unrelated_pictures() -> None:
    """SSIM is 1 for the same picture and near 0 for unrelated noise; it refuses shapes
    that differ."""
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (36, 64, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (36, 64, 3), dtype=np.uint8)
    assert ssim(a, a) == pytest.approx(1.0)
    assert abs(ssim(a, b)) < 0.1
    with pytest.raises(ValueError, match="shapes"):
        ssim(a, b[:10])


def test_mean_lab_and_delta_e_of_known_colours() -> None:
    """White is L* 100 and black L* 0 (a and b near 0), so their Delta E is 100."""
    white = np.full((4, 4, 3), 255, dtype=np.uint8)
    black = np.zeros((4, 4, 3), dtype=np.uint8)
    lw, lb = mean_lab([white]), mean_lab([black])
    assert lw[0] == pytest.approx(100, abs=0.01) and abs(lw[1]) < 0.05 and abs(lw[2]) < 0.05
    assert delta_e(lw, lb) == pytest.approx(100, abs=0.05)
