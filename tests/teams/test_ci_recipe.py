"""The CI recipe cannot rot: `cinestitch new --ci github` writes a workflow whose shell
steps are run here with bash, as GitHub Actions would, against the S3 server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from cinestitch.frozen import EXIT_FROZEN
from tests.conftest import clean_env, provider_calls
from tests.teams.teams_support import ACCESS_KEY, S3, SECRET_KEY, cli, output

WORKFLOW = Path(".github") / "workflows" / "cinestitch.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Run:
    """One simulated workflow run: each step's exit status, and the job summary."""

    statuses: dict[str, int] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


def evaluate(expr: str, context: dict[str, dict[str, str]]) -> str | bool:
    """The few GitHub expressions the workflow uses: names, `a || 'b'`, `==` and `!=`."""
    for op in ("==", "!="):
        if op in expr:
            left, right = (evaluate(side.strip(), context) for side in expr.split(op, 1))
            return (left == right) if op == "==" else (left != right)
    if "||" in expr:
        left, right = (evaluate(side.strip(), context) for side in expr.split("||", 1))
        return left or right
    if expr.startswith("'") and expr.endswith("'"):
        return expr[1:-1]
    if expr in ("success()", "always()"):
        return True
    scope, _, name = expr.partition(".")
    assert scope in context, f"the workflow uses {expr!r}, which this test does not know"
    return context[scope].get(name, "")


def substitute(text: str, context: dict[str, dict[str, str]]) -> str:
    return EXPRESSION.sub(lambda m: str(evaluate(m.group(1), context)), text)


def run_workflow(project: Path, event: str, s3: S3, bucket: str, tmp: Path) -> Run:
    """Run the job's `run:` steps with bash -eo pipefail, stopping at the first failure."""
    workflow = yaml.safe_load((project / WORKFLOW).read_text())
    (job,) = workflow["jobs"].values()
    context = {
        "secrets": {
            "CINESTITCH_CACHE": f"s3://{bucket}/ci",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        },
        "vars": {"AWS_ENDPOINT_URL": s3.endpoint},
        "github": {"event_name": event, "ref": "refs/heads/main"},
    }
    summary, github_env = tmp / f"summary-{event}.md", tmp / f"env-{event}"
    summary.write_text("")
    github_env.write_text("")
    env = {k: v for k, v in clean_env().items() if not k.startswith("AWS_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_ENV=str(github_env),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_CONFIG_FILE="/nonexistent/config",
    )
    env.update({k: substitute(str(v), context) for k, v in job["env"].items()})
    run = Run()
    for step in job["steps"]:
        name = step.get("name") or step.get("uses", "")
        if "if" in step and not evaluate(str(step["if"]), context):
            continue
        if "uses" in step:
            if step["uses"].startswith("actions/upload-artifact"):
                for pattern in step["with"]["path"].split():
                    assert list(project.glob(pattern)), f"{name}: nothing matches {pattern}"
            continue
        script = substitute(step["run"], context)
        if name.startswith("Install"):
            assert 'pip install "cinestitch[s3]"' in script  # this checkout is installed
            continue
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=project, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        run.statuses[name] = result.returncode
        run.logs[name] = result.stdout + result.stderr
        for line in github_env.read_text().splitlines():
            key, _, value = line.partition("=")
            env[key] = value
        if result.returncode != 0:
            break
    run.summary = summary.read_text()
    return run


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "CI", "GIT_AUTHOR_EMAIL": "ci@example.com",
        "GIT_COMMITTER_NAME": "CI", "GIT_COMMITTER_EMAIL": "ci@example.com",
        "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
    }  # fmt: skip
    result = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def tiny(manifest: Path) -> None:
    """The scaffold at 64x36, 12 fps and 2 s shots, so the recipe runs in seconds."""
    text = manifest.read_text()
    for old, new in (("1280x720", "64x36"), ("fps: 24", "fps: 12"), ("seconds: 5", "seconds: 2")):
        assert old in text
        text = text.replace(old, new)
    manifest.write_text(text)


@pytest.mark.slow
def test_the_github_workflow_builds_frozen_on_pull_requests_and_budgeted_on_main(
    tmp_path: Path, s3: S3
) -> None:
    """On main the workflow generates, uploads to the bucket and posts the plan; a pull
    request from a fresh clone then builds frozen with zero calls, and one that changes a
    prompt fails the frozen build (exit 4) with the plan in the job summary."""
    project = tmp_path / "film"
    made = cli("new", str(project), "--ci", "github", cwd=tmp_path, env=clean_env())
    assert made.returncode == 0, output(made)
    assert (project / WORKFLOW).is_file()
    tiny(project / "cinestitch.yaml")
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "a new film")
    bucket = s3.new_bucket()

    main = run_workflow(project, "push", s3, bucket, tmp_path)
    assert set(main.statuses.values()) == {0}, main.logs
    assert "Budgeted build (main)" in main.statuses
    assert "Frozen build (pull requests never pay)" not in main.statuses
    assert provider_calls(project) == 3
    assert "**3 to generate**" in main.summary
    assert len(s3.keys(bucket, "ci/objects/")) == 3
    git(project, "add", "cinestitch.lock")
    git(project, "commit", "-q", "-m", "the lock of the first build")

    pull = tmp_path / "pull"
    git(tmp_path, "clone", "-q", str(project), str(pull))
    review = run_workflow(pull, "pull_request", s3, bucket, tmp_path)
    assert set(review.statuses.values()) == {0}, review.logs
    assert "Frozen build (pull requests never pay)" in review.statuses
    assert provider_calls(pull) == 0
    assert "Nothing to generate: a frozen build makes this video from the cache." in (
        review.summary
    )
    assert (pull / "build" / "video.mp4").is_file()

    manifest = pull / "cinestitch.yaml"
    manifest.write_text(manifest.read_text().replace("35mm film grain", "16mm film grain"))
    stale = run_workflow(pull, "pull_request", s3, bucket, tmp_path)
    assert stale.statuses["Frozen build (pull requests never pay)"] == EXIT_FROZEN, stale.logs
    assert (
        "frozen build: 3 segments would be generated"
        in stale.logs["Frozen build (pull requests never pay)"]
    )
    assert "**3 to generate**" in stale.summary
    assert provider_calls(pull) == 0
    everything = "".join(main.logs.values()) + "".join(review.logs.values())
    assert SECRET_KEY not in everything + "".join(stale.logs.values())


def test_new_without_ci_writes_no_workflow(tmp_path: Path) -> None:
    """The workflow is written only when asked for, and carries a paid provider's key."""
    plain = tmp_path / "plain"
    assert cli("new", str(plain), cwd=tmp_path, env=clean_env()).returncode == 0
    assert not (plain / ".github").exists()
    paid = tmp_path / "paid"
    made = cli("new", str(paid), "--provider", "veo", "--ci", "github", cwd=tmp_path,
               env=clean_env())  # fmt: skip
    assert made.returncode == 0, output(made)
    workflow: dict[str, Any] = yaml.safe_load((paid / WORKFLOW).read_text())
    (job,) = workflow["jobs"].values()
    keys = [k for k in job["env"] if k.endswith("_KEY") and not k.startswith("AWS")]
    assert len(keys) == 1 and job["env"][keys[0]] == f"${{{{ secrets.{keys[0]} }}}}"
