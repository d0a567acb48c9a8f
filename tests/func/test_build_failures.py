"""What a build says and does when things go wrong or are bounded: the failure digest, a
missing key, jobs in flight listed and cancelled, and max_in_flight across processes."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

from tests.conftest import PROJECT_DODO, clean_env, provider_calls, run_cli, run_doit
from tests.func.test_paid_once import kill_build_once_journaled

HEAD = """\
schema_version: 1
title: Faults
output: {size: 64x36, fps: 8}
defaults: {seconds: 1, transition: {type: cut}}
"""


def project(root: Path, provider: str, segments: str, size: str = "64x36") -> Path:
    root.mkdir(parents=True)
    head = HEAD.replace("64x36", size)
    text = head + f"provider: {provider}\nsegments:\n" + textwrap.dedent(segments)
    (root / "cinestitch.yaml").write_text(text)
    (root / "dodo.py").write_text(PROJECT_DODO)
    return root


def test_failed_segment_is_listed_at_the_end_and_others_finish(tmp_path: Path) -> None:
    """A provider refusal fails its segment and skips the one chained to it; the independent
    segment is built; the build ends with the failure, the provider's words and 'not billed'."""
    root = project(
        tmp_path / "p",
        "{name: animatic}",
        """\
        - {id: ok, reference: none, prompt: "Fine."}
        - id: bad
          reference: none
          prompt: "Refused."
          provider: {options: {fail: content policy}}
        - {id: after, prompt: "After the refused one."}
        """,
    )
    result = run_doit(root)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in out
    assert (root / "build" / "segments" / "ok.mp4").is_file()
    assert not (root / "build" / "segments" / "after.mp4").exists()
    tail = out[out.index("segment failed:") :]
    assert "bad" in tail and "content policy" in tail and "[not billed]" in tail
    # the failed step is one line named by its task, what it held back one line more
    # (doit's own TaskFailed and UnmetDependency blocks, a few lines per task, are not shown)
    failed = [line for line in out.splitlines() if " FAILED  " in line]
    assert len(failed) == 1 and failed[0].startswith("generate:bad FAILED  segment 'bad'")
    assert "UnmetDependency" not in out and "TaskFailed" not in out
    (held,) = [line for line in out.splitlines() if line.startswith("not run: ")]
    assert "steps that need what failed (" in held and "generate:after" in held
    assert out.index("not run: ") < out.index("segment failed:")


def test_missing_key_stops_before_any_work(tmp_path: Path) -> None:
    """A provider whose key variable is unset stops the build at the plan, naming the
    variable and the segments, with no traceback and nothing generated."""
    root = project(
        tmp_path / "p",
        "{name: veo, model: veo-3.1-fast-generate-preview, base_url: 'http://127.0.0.1:9'}",
        """\
        - {id: one, reference: none, prompt: "One.", seconds: 4}
        """,
        size="1280x720",
    )
    result = run_doit(root, env=clean_env(GEMINI_API_KEY=""))
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in out
    assert "no API key: set GEMINI_API_KEY (for one)" in out
    assert not (root / "build" / "segments").exists()


def test_jobs_lists_and_cancels_a_job_in_flight(tmp_path: Path) -> None:
    """After a build is killed mid-job, `cinestitch jobs` lists the job; cancelling it stops
    the worker and forgets it, so the next build submits the request again."""
    root = project(
        tmp_path / "p",
        "{name: animatic, options: {delay: 30}}",
        """\
        - {id: slow, reference: none, prompt: "Slow."}
        """,
    )
    jobs = kill_build_once_journaled(root)
    listed = run_cli("jobs", "--dir", str(root))
    assert listed.returncode == 0, listed.stderr
    (entry,) = [json.loads(p.read_text()) for p in jobs.glob("*.json")]
    assert entry["job_id"] in listed.stdout and "slow" in listed.stdout
    cancelled = run_cli("jobs", "cancel", entry["job_id"], "--dir", str(root))
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled animatic job" in cancelled.stdout
    assert not list(jobs.glob("*.json"))
    status = root / ".cinestitch" / "animatic" / "jobs" / entry["job_id"] / "status.json"
    assert json.loads(status.read_text())["state"] == "cancelled"
    assert run_cli("jobs", "--dir", str(root)).stdout.strip() == "no jobs in flight"
    assert provider_calls(root) == 1


def test_max_in_flight_holds_across_processes(tmp_path: Path) -> None:
    """With max_in_flight: 1 and four processes, no job is submitted before the previous one
    finished."""
    root = project(
        tmp_path / "p",
        "{name: animatic, max_in_flight: 1, options: {delay: 0.3}}",
        "".join(f'- {{id: s{n}, reference: none, prompt: "Shot {n}."}}\n' for n in range(4)),
    )
    result = run_doit(root, "-n", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    work = root / ".cinestitch" / "animatic" / "jobs"
    spans = sorted(
        ((d / "request.json").stat().st_mtime_ns, (d / "output.mp4").stat().st_mtime_ns)
        for d in work.iterdir()
    )
    assert len(spans) == 4
    for (_, finished), (started, _) in itertools.pairwise(spans):
        assert started >= finished
