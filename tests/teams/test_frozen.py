"""Frozen builds: a build that may only use what is paid for stops (exit 4) with the plan
before any provider call, and builds when the lock is current; the plan for bots and CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cinestitch.frozen import EXIT_FROZEN
from tests.conftest import provider_calls
from tests.teams.teams_support import (
    FINAL,
    S3,
    cli,
    clone,
    digest,
    doit,
    lock_outputs,
    output,
    s3_env,
)


@pytest.fixture
def stale(tmp_path: Path, origin: Path) -> Path:
    """A clone of the built project whose segment c has a new prompt (c and d are stale)."""
    project = clone(origin, tmp_path / "stale", with_cache=True)
    (project / "prompts" / "c.j2").write_text("Shot c: the boat capsizes.\n")
    return project


def test_a_stale_lock_stops_a_frozen_build_before_any_call(stale: Path, s3: S3) -> None:
    """`CINESTITCH_FROZEN=1 doit` prints the plan, names each segment it would generate
    with why and what it costs, exits 4, and submits nothing; so does `-n 2`."""
    before = (stale / "cinestitch.lock").read_text()
    env = s3_env(s3.endpoint, None, CINESTITCH_FROZEN="1")
    for args in ((), ("-n", "2")):
        result = doit(stale, *args, env=env)
        assert result.returncode == EXIT_FROZEN, output(result)
        assert "c        generate" in result.stdout
        lines = result.stderr.splitlines()
        head = "frozen build: 2 segments would be generated, est. $0.50 — nothing was submitted"
        assert head in lines
        assert "   c  prompt changed (prompts/c.j2)  $0.25" in lines
        assert "   d  reference frame changed (after 'c')  $0.25" in lines
        assert "Traceback" not in output(result)
        assert provider_calls(stale) == 0
    assert (stale / "cinestitch.lock").read_text() == before
    assert not (stale / "build" / "segments").exists()


def test_cinestitch_build_frozen_exits_4(stale: Path, s3: S3) -> None:
    """`cinestitch build --frozen` is the same frozen build and returns its exit status."""
    result = cli("build", "--frozen", cwd=stale, env=s3_env(s3.endpoint, None))
    assert result.returncode == EXIT_FROZEN, output(result)
    assert "frozen build: 2 segments would be generated" in result.stderr
    assert provider_calls(stale) == 0


def test_an_up_to_date_lock_builds_frozen(tmp_path: Path, s3: S3, origin: Path) -> None:
    """A fresh clone whose lock is current builds frozen from the shared cache: exit 0, no
    call, the same bytes."""
    bucket = s3.new_bucket()
    s3.seed(bucket, "f", origin / ".cinestitch" / "cache")
    project = clone(origin, tmp_path / "clone")
    env = s3_env(s3.endpoint, f"s3://{bucket}/f", CINESTITCH_FROZEN="1")
    result = doit(project, env=env)
    assert result.returncode == 0, output(result)
    assert provider_calls(project) == 0
    assert digest(project / FINAL) == digest(origin / FINAL)
    assert lock_outputs(project) == lock_outputs(origin)


def test_a_frozen_build_stops_when_a_promised_clip_proves_damaged(
    tmp_path: Path, s3: S3, origin: Path
) -> None:
    """The plan takes every clip from the bucket; when one download proves damaged, the
    second guard stops the frozen build (exit 4) instead of submitting."""
    bucket = s3.new_bucket()
    s3.seed(bucket, "g", origin / ".cinestitch" / "cache")
    bad = lock_outputs(origin)["a"]
    name = f"g/objects/{bad[:2]}/{bad}.mp4"
    s3.write(bucket, name, s3.read(bucket, name)[:-10])
    project = clone(origin, tmp_path / "clone")
    env = s3_env(s3.endpoint, f"s3://{bucket}/g", CINESTITCH_FROZEN="1")
    result = doit(project, env=env)
    assert result.returncode == EXIT_FROZEN, output(result)
    assert "frozen build: take 1 (key " in result.stderr
    assert "is not in the cache and would be submitted — nothing was submitted" in result.stderr
    assert provider_calls(project) == 0


def test_the_plan_as_json_and_markdown(stale: Path, s3: S3) -> None:
    """`doit plan --format json` gives codes and costs to bots; `--format markdown` a table
    for a job summary; `cinestitch plan --format json` says the same."""
    env = s3_env(s3.endpoint, None)
    result = doit(stale, "plan", "--format", "json", env=env)
    assert result.returncode == 0, output(result)
    plan = json.loads(result.stdout)
    status = {s["id"]: s["status"] for s in plan["segments"]}
    assert status == {"a": "from_cache", "b": "from_cache", "c": "generate", "d": "generate"}
    c = next(s for s in plan["segments"] if s["id"] == "c")
    assert c["reasons"][0]["code"] == "prompt_changed"
    assert c["cost_usd"] == 0.25 and c["takes_to_generate"] == [1]
    assert plan["to_generate"] == ["c", "d"] and plan["cost_usd"] == 0.5
    assert plan["frozen_ok"] is False
    same = cli("plan", "--format", "json", cwd=stale, env=env)
    assert json.loads(same.stdout) == plan

    markdown = doit(stale, "plan", "--format", "markdown", env=env)
    assert markdown.returncode == 0, output(markdown)
    text = markdown.stdout
    assert text.startswith("### cinestitch plan: Team reel (`stale`)")
    assert "**2 to generate** (2 s of video, est. $0.50): a frozen build stops." in text
    assert "| segment | status | why | est. cost |" in text
    assert "| c | generate | prompt changed (prompts/c.j2) | $0.25 |" in text
    assert "| a | from cache | restored into build/ |   |" in text
    bad = doit(stale, "plan", "--format", "yaml", env=env)
    assert bad.returncode != 0 and "yaml" in bad.stderr
