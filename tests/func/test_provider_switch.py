"""The example project switched to fal (Wan, Kling, LTX), Runway and ComfyUI by editing its
manifest: the plan prices it, the build pays each shot once, a rebuild calls nothing, and no
key reaches a file."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, clean_env, run_doit

sys.path.insert(0, str(REPO / "tests" / "providers"))
from adapter_cases import NEW_CASES, comfyui_options, comfyui_text_options, install_workflow
from adapter_support import Case, open_case
from fake_http import KEY

EXAMPLE = REPO / "projects" / "goal-compilation"
SECONDS = {"fal:ltx": 8, "runway": 8}
"""Lengths the example's 12 s do not fit (LTX makes 6/8/10 s, gen4.5 2-10 s)."""


@pytest.fixture(params=[pytest.param(c, marks=pytest.mark.slow) for c in NEW_CASES])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    with open_case(request.param, tmp_path / "server") as opened:
        yield opened


def flow(mapping: dict[str, object]) -> str:
    """A YAML flow mapping of plain values and nested mappings."""
    items = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            shown = flow(value)
        else:
            shown = str(value) if isinstance(value, int | float) else f'"{value}"'
        items.append(f"{key}: {shown}")
    return "{" + ", ".join(items) + "}"


def switched(case: Case, root: Path) -> str:
    """The example's manifest with its provider block pointed at ``case``'s fake."""
    text = (root / "cinestitch.yaml").read_text()
    block = [f"name: {case.provider_name}", f"model: {case.request.model}",
             f"base_url: {case.transport.base_url}", "poll_interval: 0.05"]  # fmt: skip
    if case.provider_name == "comfyui":
        install_workflow(root)
        block.append(f"options: {flow(comfyui_options())}")
        text = text.replace(
            "    reference: none",
            f"    reference: none\n    provider: {{options: {flow(comfyui_text_options())}}}",
        )
    provider = "provider:\n" + "".join(f"  {line}\n" for line in block)
    text = re.sub(r"provider:\n  name: animatic[^\n]*\n", provider, text, count=1)
    seconds = SECONDS.get(case.name, 12)
    return re.sub(r"\n  seconds: [0-9.]+\n", f"\n  seconds: {seconds}\n", text, count=1)


def test_the_example_switches_by_a_manifest_edit(case: Case, tmp_path: Path) -> None:
    """Priced from the table, each of the five shots paid once, rebuilt with no call."""
    root = tmp_path / "example"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("build", ".cinestitch", ".doit*"))
    (root / "cinestitch.yaml").write_text(switched(case, root))
    env = clean_env(FAL_KEY=KEY, RUNWAYML_API_SECRET=KEY)
    plan = run_doit(root, "plan", env=clean_env())
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert f"{case.provider_name} list price" in plan.stdout
    built = run_doit(root, env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    assert case.submissions == 5
    again = run_doit(root, env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert case.submissions == 5 and case.server.requests_to("create") == 5
    assert (root / "build" / "goal-of-the-season.mp4").is_file()
    for path in root.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
