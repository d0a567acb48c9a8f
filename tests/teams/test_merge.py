"""A lock that merges: two git branches regenerate different (and adjacent) segments, git
merges cinestitch.lock without a conflict, and the merge builds frozen with zero calls from
the shared cache both branches pushed to."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cinestitch.lock import Lock, load_lock, parse_lock
from tests.conftest import provider_calls
from tests.teams.teams_support import S3, doit, output, s3_env, write_project

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Editor",
    "GIT_AUTHOR_EMAIL": "editor@example.com",
    "GIT_COMMITTER_NAME": "Editor",
    "GIT_COMMITTER_EMAIL": "editor@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_two_branches_regenerating_different_segments_merge_and_build_free(
    tmp_path: Path, s3: S3
) -> None:
    """Branch one changes a's prompt (a and b regenerate), branch two c's (c and d): the
    locks merge cleanly, each side's entries survive, and a fresh clone of the merge builds
    frozen with no provider call and leaves the lock as merged."""
    bucket = s3.new_bucket()
    env = s3_env(s3.endpoint, f"s3://{bucket}/team")
    repo = write_project(tmp_path / "repo")
    ok(git(repo, "init", "-q"))
    built = doit(repo, env=env)
    assert built.returncode == 0, output(built)
    ok(git(repo, "add", "."))
    ok(git(repo, "commit", "-q", "-m", "first cut"))
    base = load_lock(repo / "cinestitch.lock")

    edits = {"one": ("a", "Shot a: the boat is red."), "two": ("c", "Shot c: rain begins.")}
    for branch, (sid, prompt) in edits.items():
        ok(git(repo, "checkout", "-q", "-b", branch, "main"))
        (repo / "prompts" / f"{sid}.j2").write_text(prompt + "\n")
        result = doit(repo, env=env)
        assert result.returncode == 0, output(result)
        ok(git(repo, "commit", "-q", "-am", f"new prompt for {sid}"))
    one = load_lock_at(repo, "one")
    two = load_lock_at(repo, "two")
    assert {s for s in "abcd" if one.segments[s] != base.segments[s]} == {"a", "b"}
    assert {s for s in "abcd" if two.segments[s] != base.segments[s]} == {"c", "d"}

    ok(git(repo, "checkout", "-q", "one"))
    merged = git(repo, "merge", "--no-edit", "two")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    text = (repo / "cinestitch.lock").read_text()
    assert "<<<<<<<" not in text and ">>>>>>>" not in text
    lock = load_lock(repo / "cinestitch.lock")
    assert {s: lock.segments[s] for s in "ab"} == {s: one.segments[s] for s in "ab"}
    assert {s: lock.segments[s] for s in "cd"} == {s: two.segments[s] for s in "cd"}
    assert lock.spent_usd == pytest.approx(base.spent_usd + 4 * 0.25)

    fresh = tmp_path / "fresh"
    ok(git(tmp_path, "clone", "-q", "--branch", "one", str(repo), str(fresh)))
    frozen = doit(fresh, env={**env, "CINESTITCH_FROZEN": "1"})
    assert frozen.returncode == 0, output(frozen)
    assert provider_calls(fresh) == 0
    assert git(fresh, "status", "--porcelain").stdout == ""


def load_lock_at(repo: Path, branch: str) -> Lock:
    return parse_lock(ok(git(repo, "show", f"{branch}:cinestitch.lock")))
