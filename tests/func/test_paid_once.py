"""Never pay twice, end to end: the cache, the lock, the job journal, the plan and budgets,
and takes, with the embedded provider counting its calls."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cinestitch.cache import GenerationStore
from cinestitch.lock import load_lock
from cinestitch.media import probe_clip
from tests.conftest import (
    PROJECT_DODO,
    clean_env,
    provider_calls,
    run_doit,
    submitted_prompts,
)
from tests.func.test_build import MANIFEST as CHAIN_MANIFEST
from tests.func.test_build import TEMPLATES

MANIFEST = CHAIN_MANIFEST.replace(
    "output: {size: 128x72, fps: 12}\n",
    "output: {size: 128x72, fps: 12}\n    provider: {name: animatic, price_per_second: 0.5}\n",
)
FINAL = Path("build") / "chain.mp4"


def write_project(root: Path, manifest: str = MANIFEST) -> Path:
    (root / "prompts").mkdir(parents=True)
    (root / "cinestitch.yaml").write_text(textwrap.dedent(manifest).lstrip())
    for name, text in TEMPLATES.items():
        (root / "prompts" / name).write_text(text)
    (root / "dodo.py").write_text(PROJECT_DODO)
    return root


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean build of a five-segment chain with a price of $0.50 a second."""
    root = write_project(tmp_path_factory.mktemp("paid") / "chain")
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert provider_calls(root) == 5
    return root


def copy_of(built: Path, tmp_path: Path, name: str = "chain") -> Path:
    root = tmp_path / name
    shutil.copytree(built, root)
    return root


def test_first_build_prints_plan_and_ledger(built: Path) -> None:
    """The lock records every segment; a rebuild announces nothing to generate and ends
    with a ledger line."""
    lock = load_lock(built / "cinestitch.lock")
    assert sorted(lock.segments) == ["s1", "s2", "s3", "s4", "s5"]
    assert lock.segments["s2"].reference_source == lock.segments["s1"].output
    again = run_doit(built)
    assert "plan: nothing to generate" in again.stdout
    assert "spent: $0.00 (0 generated, 0 from cache)" in again.stdout
    assert provider_calls(built) == 5


def test_deleted_doit_state_and_build_cost_nothing(built: Path, tmp_path: Path) -> None:
    """Without .doit.db and build/, a rebuild restores every clip from the cache: zero
    provider calls and the same final bytes."""
    root = copy_of(built, tmp_path)
    shutil.rmtree(root / "build")
    for db in root.glob(".doit.db*"):
        db.unlink()
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert provider_calls(root) == 5
    assert "0 generated, 5 from cache" in result.stdout
    assert digest(root / FINAL) == digest(built / FINAL)


def test_fresh_clone_with_lock_and_shared_cache_costs_nothing(built: Path, tmp_path: Path) -> None:
    """A clone holding only the sources and the lock, pointed at a shared cache, builds the
    same video with no provider call; the lock does not change."""
    shared = tmp_path / "shared-cache"
    shutil.copytree(built / ".cinestitch" / "cache", shared)
    clone = tmp_path / "elsewhere" / "chain"
    shutil.copytree(
        built, clone, ignore=shutil.ignore_patterns("build", ".cinestitch", ".doit.db*")
    )
    assert (clone / "cinestitch.lock").is_file()
    lock_before = (clone / "cinestitch.lock").read_text()
    result = run_doit(clone, env=clean_env(CINESTITCH_CACHE=str(shared)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert provider_calls(clone) == 0
    assert digest(clone / FINAL) == digest(built / FINAL)
    assert (clone / "cinestitch.lock").read_text() == lock_before


def test_damaged_cache_entry_is_never_served(built: Path, tmp_path: Path) -> None:
    """A cached clip whose bytes no longer match its digest is a miss: the segment is
    generated again, and the damaged bytes never reach build/."""
    root = copy_of(built, tmp_path)
    shutil.rmtree(root / "build")
    for db in root.glob(".doit.db*"):
        db.unlink()
    s1 = load_lock(root / "cinestitch.lock").segments["s1"].output
    obj = root / ".cinestitch" / "cache" / "objects" / s1[:2] / f"{s1}.mp4"
    obj.write_bytes(obj.read_bytes()[:-100] + b"x" * 100)
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert provider_calls(root) == 6
    assert digest(root / "build" / "segments" / "s1.mp4") == s1
    assert digest(root / FINAL) == digest(built / FINAL)


def test_plan_lists_three_to_five_with_reasons_and_cost(built: Path, tmp_path: Path) -> None:
    """After editing segment 3, `doit plan` lists 3 (prompt changed), 4 and 5 (reference
    frame changed) at $0.50 each, totals $1.50, and submits nothing."""
    root = copy_of(built, tmp_path)
    (root / "prompts" / "s3.j2").write_text("Shot 3, reworded: {{ hero }} leaps.\n")
    result = run_doit(root, "plan")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    for sid in ("s1", "s2"):
        assert "up to date" in rows[sid]
    assert "generate" in rows["s3"] and "prompt changed (prompts/s3.j2)" in rows["s3"]
    for sid in ("s4", "s5"):
        assert "generate" in rows[sid] and "reference frame changed" in rows[sid]
        assert "$0.50" in rows[sid]
    assert "3 to generate" in rows["total"] and "$1.50" in rows["total"]
    why = run_doit(root, "why", "s4")
    assert "reference frame changed (after 's3')" in why.stdout
    assert provider_calls(root) == 5


def test_budget_below_plan_stops_before_any_call(built: Path, tmp_path: Path) -> None:
    """A build whose plan exceeds the build budget stops before submitting, says by how much,
    and leaves the project as it was."""
    root = copy_of(built, tmp_path)
    manifest = root / "cinestitch.yaml"
    text = manifest.read_text().replace("price_per_second: 0.5}", "price_per_second: 0.5}\n")
    manifest.write_text(text + "budget: {build: 1.0}\n")
    (root / "prompts" / "s3.j2").write_text("Shot 3, reworded: {{ hero }} leaps.\n")
    before = digest(root / FINAL)
    plan = run_doit(root, "plan")  # the plan says so before anything is run
    assert plan.returncode == 0
    assert "over budget: `doit` stops before any call — this build would cost $1.50" in (
        plan.stdout
    )
    result = run_doit(root)
    assert result.returncode != 0
    assert "$1.50, $0.50 over the build budget of $1.00" in result.stdout + result.stderr
    assert provider_calls(root) == 5
    assert digest(root / FINAL) == before


def journaled(jobs: Path) -> list[Path]:
    """Journal entries that hold a job id (not the temporary files an entry is written
    through, nor an entry written before the provider answered)."""
    found = []
    for path in jobs.glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            if not path.name.startswith(".") and json.loads(path.read_text())["job_id"]:
                found.append(path)
    return found


def kill_build_once_journaled(root: Path) -> Path:
    """Start doit in ``root``, SIGKILL it (and its children) as soon as a job is in the
    journal, and return the journal directory."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "doit"],
        cwd=root,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    jobs = root / ".cinestitch" / "cache" / "jobs"
    deadline = time.monotonic() + 60
    while not journaled(jobs) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert journaled(jobs), "the job was never journaled"
    return jobs


def test_killed_build_resumes_its_job(tmp_path: Path) -> None:
    """SIGKILL while a job is in flight: the next build polls and downloads that job instead
    of submitting again, and no clip in build/ or the cache is truncated."""
    manifest = MANIFEST.replace(
        "price_per_second: 0.5}", "price_per_second: 0.5, options: {delay: 3}}"
    ).split("      - id: s2")[0]
    root = write_project(tmp_path / "slow", manifest)
    jobs = kill_build_once_journaled(root)
    assert provider_calls(root) == 1
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "resuming job" in result.stdout
    assert provider_calls(root) == 1
    assert not list(jobs.glob("*.json"))
    for clip in [*root.glob("build/**/*.mp4"), *root.glob(".cinestitch/cache/**/*.mp4")]:
        if not clip.name.startswith("."):
            assert probe_clip(clip).frame_count == 12, clip


def test_switching_takes_regenerates_only_downstream(tmp_path: Path) -> None:
    """Two takes of s2 are generated and compared on a contact sheet; selecting the other
    take generates nothing for s2 and regenerates only what starts from its last frame."""
    manifest = MANIFEST.replace("template: s2.j2\n", "template: s2.j2\n        takes: 2\n").split(
        "      - id: s4"
    )[0]
    root = write_project(tmp_path / "takes", manifest)
    first = run_doit(root)
    assert first.returncode == 0, first.stdout + first.stderr
    assert provider_calls(root) == 4
    sheet = root / "build" / "takes" / "s2.contact.png"
    assert sheet.is_file()
    take1, take2 = (root / "build" / "takes" / "s2" / f"take-{n}.mp4" for n in (1, 2))
    assert digest(take1) != digest(take2)
    assert digest(root / "build" / "segments" / "s2.mp4") == digest(take1)
    manifest_path = root / "cinestitch.yaml"
    manifest_path.write_text(
        manifest_path.read_text().replace("takes: 2\n", "takes: 2\n    take: 2\n")
    )
    plan = run_doit(root, "plan")
    assert "take switched (1 → 2)" in plan.stdout
    second = run_doit(root)
    assert second.returncode == 0, second.stdout + second.stderr
    assert submitted_prompts(root)[4:] == ["Shot 3: a red fox does thing 3."]
    assert digest(root / "build" / "segments" / "s2.mp4") == digest(take2)
    assert load_lock(root / "cinestitch.lock").segments["s2"].take == 2


def test_lost_job_is_resubmitted_only_when_asked(tmp_path: Path) -> None:
    """A journaled job the provider no longer knows may have been billed: the build stops
    and says so; with CINESTITCH_RESUBMIT=1 it submits a new job."""
    manifest = MANIFEST.replace(
        "price_per_second: 0.5}", "price_per_second: 0.5, options: {delay: 2}}"
    ).split("      - id: s2")[0]
    root = write_project(tmp_path / "lost", manifest)
    jobs = kill_build_once_journaled(root)
    provider_jobs = root / ".cinestitch" / "animatic" / "jobs"
    for pid_file in provider_jobs.glob("*/worker.pid"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(json.loads(pid_file.read_text())["pid"], signal.SIGKILL)
    time.sleep(0.2)
    shutil.rmtree(provider_jobs)
    refused = run_doit(root)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "segment 's1' (animatic)" in said and "may have been billed" in said
    assert "CINESTITCH_RESUBMIT=1" in said
    assert provider_calls(root) == 1
    again = run_doit(root, env=clean_env(CINESTITCH_RESUBMIT="1"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert provider_calls(root) == 2
    assert not list(jobs.glob("*.json"))


def test_concurrent_builds_share_one_cache(tmp_path: Path) -> None:
    """Two clones building at once into one shared cache both succeed, agree byte for byte,
    and leave every cache entry intact."""
    shared = tmp_path / "shared"
    manifest = MANIFEST.split("      - id: s4")[0]
    roots = [write_project(tmp_path / name / "chain", manifest) for name in ("a", "b")]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "doit"],
            cwd=root,
            env=clean_env(CINESTITCH_CACHE=str(shared)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for root in roots
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
    assert digest(roots[0] / FINAL) == digest(roots[1] / FINAL)
    store = GenerationStore(shared)
    for entry in load_lock(roots[0] / "cinestitch.lock").segments.values():
        found = store.lookup(entry.key)
        assert found is not None and found.output == entry.output
    assert not list(shared.rglob(".*.tmp*"))


def test_submission_cut_short_is_found_and_resumed(tmp_path: Path) -> None:
    """A build killed inside the submit call leaves a journal entry with no job id: the
    next build asks the provider, which knows the job by its request key, and resumes it
    instead of paying again."""
    manifest = MANIFEST.replace(
        "price_per_second: 0.5}", "price_per_second: 0.5, options: {delay: 2}}"
    ).split("      - id: s2")[0]
    root = write_project(tmp_path / "cut", manifest)
    jobs = kill_build_once_journaled(root)
    (entry,) = journaled(jobs)
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps({**data, "job_id": ""}))
    resumed = run_doit(root)
    said = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, said
    assert "of an interrupted submission — resuming it" in said
    assert provider_calls(root) == 1
