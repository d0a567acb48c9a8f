"""CI recipes: ``cinestitch new --ci github`` adds a GitHub Actions workflow to the scaffold.

The workflow (``data/ci/github.yml``, explained in ``docs/ci.md``) installs cinestitch, points
the cache at a bucket from the repository's secrets, runs a frozen build on pull requests
(the plan in the job summary) and a budgeted build on the main branch, and uploads the video.
"""

from __future__ import annotations

from pathlib import Path

from cinestitch.resources import DATA_DIR

CI_SYSTEMS = ("github",)
WORKFLOW_PATH = Path(".github") / "workflows" / "cinestitch.yml"
TEMPLATE = DATA_DIR / "ci" / "github.yml"
KEY_MARK = "__PROVIDER_KEY__"


def render_github_workflow(template: str, key_env: str | None) -> str:
    """The workflow with the provider's key variable passed from a secret (pure)."""
    lines = []
    for line in template.splitlines(keepends=True):
        if KEY_MARK in line:
            if key_env:
                indent = line[: len(line) - len(line.lstrip())]
                lines.append(f"{indent}{key_env}: ${{{{ secrets.{key_env} }}}}\n")
            continue
        lines.append(line)
    return "".join(lines)


def write_ci(project: Path, system: str, key_env: str | None) -> Path:
    """Write the ``system`` workflow into ``project``; returns its path."""
    if system not in CI_SYSTEMS:
        raise ValueError(f"unknown CI system {system!r}")
    target = project / WORKFLOW_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_github_workflow(TEMPLATE.read_text("utf-8"), key_env), "utf-8")
    return target
