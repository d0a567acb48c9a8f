"""Whole builds against each network provider's fake server, switched to by editing only the
manifest's provider block: paid once, rebuilt with zero calls, resumed after a kill, and
never a key in any output or file."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cinestitch.media.frames import read_frames_rgb
from cinestitch.media.probe import probe_clip
from tests.conftest import REPO, clean_env, run_doit

sys.path.insert(0, str(REPO / "tests" / "providers"))
from adapter_support import CASES, Case, open_case
from fake_http import CLIP_FPS, KEY, Fault

EXAMPLE = REPO / "projects" / "goal-compilation"
ANIMATIC_BLOCK = (
    "provider:\n"
    "  name: animatic          # embedded, offline, free; swap for a real provider later\n"
)
TINY = """
    schema_version: 1
    title: Tiny
    output: {size: 1280x720, fps: 24}
    provider: {name: animatic}
    defaults: {seconds: 4}
    segments:
      - id: one
        reference: none
        prompt: "A red kite rises over the dunes."
      - id: two
        prompt: "The kite dives toward the sea."
"""


def provider_block(case: Case, **extra: object) -> str:
    """The provider block that points the project at ``case``'s fake server."""
    lines = [f"name: {case.provider_name}", f"base_url: {case.transport.base_url}"]
    if case.transport.dialect:
        lines.append(f"dialect: {case.transport.dialect}")
    lines += ["poll_interval: 0.05", *(f"{k}: {v}" for k, v in extra.items())]
    return "provider:\n" + "".join(f"  {line}\n" for line in lines)


def env_with_key() -> dict[str, str]:
    return clean_env(GEMINI_API_KEY=KEY, OPENAI_API_KEY=KEY)


def assert_no_key(project: Path, *outputs: str) -> None:
    for text in outputs:
        assert KEY not in text
    for path in project.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


FAST = ("veo", "openai:openai")
"""Built in every run; the other dialects (same build, another wire) with ``-m slow``."""


@pytest.fixture(params=[c if c in FAST else pytest.param(c, marks=pytest.mark.slow) for c in CASES])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    with open_case(request.param, tmp_path / "server") as opened:
        yield opened


def tiny_project(tmp_path: Path, block: str) -> Path:
    root = tmp_path / "tiny"
    root.mkdir()
    text = textwrap.dedent(TINY).lstrip().replace("provider: {name: animatic}\n", block)
    (root / "cinestitch.yaml").write_text(text)
    shutil.copy(EXAMPLE / "dodo.py", root / "dodo.py")
    return root


def test_a_project_builds_once_and_rebuilds_with_zero_calls(case: Case, tmp_path: Path) -> None:
    """Built against the fake: each shot paid once; a rebuild and a gateway move make no call."""
    root = tiny_project(tmp_path, provider_block(case))
    first = run_doit(root, env=env_with_key())
    assert first.returncode == 0, first.stdout + first.stderr
    assert case.submissions == 2
    again = run_doit(root, env=env_with_key())
    assert again.returncode == 0, again.stdout + again.stderr
    manifest = root / "cinestitch.yaml"
    manifest.write_text(manifest.read_text().replace("poll_interval: 0.05", "timeout: 30"))
    moved = run_doit(root, env=env_with_key())
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert case.submissions == 2 and case.server.requests_to("create") == 2
    assert (root / "build" / "tiny.mp4").is_file()
    assert_no_key(root, first.stdout, first.stderr, again.stdout, moved.stdout)


def test_a_missing_key_fails_before_any_call(case: Case, tmp_path: Path) -> None:
    """With no key the build stops with one line naming the variable; nothing is sent."""
    root = tiny_project(tmp_path, provider_block(case))
    done = run_doit(root, env=clean_env())
    assert done.returncode != 0
    variable = "GEMINI_API_KEY" if case.provider_name == "veo" else "OPENAI_API_KEY"
    assert variable in done.stdout + done.stderr
    assert case.server.seen == []


def test_a_killed_build_resumes_its_job(tmp_path: Path) -> None:
    """A build killed while a job runs resumes polling that job: it is never submitted twice."""
    with open_case("veo", tmp_path / "server") as case:
        case.server.outcome = "never"
        root = tiny_project(tmp_path, provider_block(case))
        build = subprocess.Popen(
            [sys.executable, "-m", "doit"],
            cwd=root,
            env=env_with_key(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while case.server.requests_to("poll") < 2:
                assert time.monotonic() < deadline and build.poll() is None
                time.sleep(0.05)
        finally:
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
        assert case.submissions == 1
        case.server.outcome = "ok"
        resumed = run_doit(root, env=env_with_key())
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert case.submissions == 2  # the first shot once, then the second shot
        assert case.server.requests_to("create") == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_the_example_project_switches_by_its_provider_block(tmp_path: Path, name: str) -> None:
    """The example, its provider block pointed at a fake, plans at that price and builds once."""
    with open_case(name, tmp_path / "server") as case:
        root = tmp_path / "example"
        shutil.copytree(
            EXAMPLE, root, ignore=shutil.ignore_patterns("build", ".cinestitch", ".doit.db*")
        )
        manifest = root / "cinestitch.yaml"
        text = manifest.read_text()
        assert ANIMATIC_BLOCK in text
        # the provider block is the only edit: the example's 8 s shots suit every provider
        text = text.replace(ANIMATIC_BLOCK, provider_block(case))
        manifest.write_text(text)
        plan = run_doit(root, "plan", env=clean_env())
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert f"{case.provider_name} list price" in plan.stdout
        built = run_doit(root, env=env_with_key())
        assert built.returncode == 0, built.stdout + built.stderr
        assert case.submissions == 5
        again = run_doit(root, env=env_with_key())
        assert again.returncode == 0 and case.submissions == 5
        assert_no_key(root, built.stdout, built.stderr, again.stdout)


def test_a_failing_build_with_tracebacks_shows_no_key(tmp_path: Path) -> None:
    """Even with CINESTITCH_DEBUG=1, a provider echoing the key leaves it in no output or file."""
    with open_case("veo", tmp_path / "server") as case:
        echo = {"error": {"code": 400, "message": f"bad key {KEY}", "status": "INVALID_ARGUMENT"}}
        case.server.inject("create", Fault("status", 400, echo, times=10))
        root = tiny_project(tmp_path, provider_block(case))
        done = run_doit(root, env={**env_with_key(), "CINESTITCH_DEBUG": "1"})
        assert done.returncode != 0
        assert "HTTP 400" in done.stdout + done.stderr
        assert_no_key(root, done.stdout, done.stderr)


def test_a_native_continuation_hands_veo_its_own_clip(tmp_path: Path) -> None:
    """`extend: true` sends the upstream clip's Veo file URI (kept in the cache's run record)
    instead of its last frame, and the key knows it: a rebuild makes no call. Veo answers
    with one video, the clip it was given and then 7 s more: the stitch plays the 7 s, not
    the upstream clip twice."""
    with open_case("veo", tmp_path / "server") as case:
        block = provider_block(case)
        root = tiny_project(tmp_path, block)
        manifest = root / "cinestitch.yaml"
        text = manifest.read_text().replace("defaults: {seconds: 4}", "defaults: {seconds: 8}")
        manifest.write_text(text + "    extend: true\n")
        first = run_doit(root, env=env_with_key())
        assert first.returncode == 0, first.stdout + first.stderr
        ops = list(case.server.operations.values())
        assert len(ops) == 2
        sent = ops[1].body["instances"][0]
        assert "image" not in sent
        assert sent["video"]["uri"].endswith(f"/v1beta/files/{ops[0].file_id}:download?alt=media")
        assert probe_clip(root / "build" / "segments" / "two.mp4").duration == 15.0
        two = root / "build" / "conformed" / "two.mp4"
        assert probe_clip(two).duration == 7.0
        # the fake's frame i is grey level 7i mod 255: the kept clip opens 8 s in
        (opening,) = read_frames_rgb(two, [0])
        assert abs(float(opening.mean()) - (8 * CLIP_FPS * 7) % 255) < 4
        assert "extends" in first.stdout
        assert probe_clip(root / "build" / "tiny.mp4").duration <= 15.0
        again = run_doit(root, env=env_with_key())
        assert again.returncode == 0 and case.submissions == 2


@pytest.mark.parametrize("name", ["openai:openai", "veo"])
def test_a_lost_submit_answer_is_looked_up_not_paid_again(tmp_path: Path, name: str) -> None:
    """The connection drops after the provider created the job: a provider that lists its
    jobs is asked and the job is finished (one submission); one that cannot be asked stops
    that segment as 'may have been billed' and is not submitted again without being told."""
    with open_case(name, tmp_path / "server") as case:
        case.server.inject("create", Fault("drop", after_effect=True))
        root = tiny_project(tmp_path, provider_block(case))
        first = run_doit(root, env=env_with_key())
        said = first.stdout + first.stderr
        assert "Traceback" not in said
        if name == "veo":
            assert first.returncode != 0 and "may have been billed" in said
            assert case.submissions == 1
            again = run_doit(root, env=env_with_key())
            assert again.returncode != 0 and case.submissions == 1
        else:
            assert first.returncode == 0, said
            assert "found its job" in said
            assert case.submissions == 2  # one per shot, none twice


def test_a_job_past_its_timeout_is_kept_and_paid_once(tmp_path: Path) -> None:
    """A job unfinished after provider.job_timeout stops its segment with the job kept; once
    the provider has finished it, the next build downloads it: one submission per shot, as
    the provider's bill would count them, never a second for the overdue one."""
    with open_case("veo", tmp_path / "server") as case:
        case.outcome("never")
        root = tiny_project(tmp_path, provider_block(case, job_timeout=1))
        first = run_doit(root, env=env_with_key())
        said = first.stdout + first.stderr
        assert first.returncode != 0 and "Traceback" not in said
        assert "unfinished after" in said and "stays journaled" in said
        assert case.submissions == 1  # the chained second shot waits for the first
        case.outcome("ok")
        again = run_doit(root, env=env_with_key())
        assert again.returncode == 0, again.stdout + again.stderr
        assert "resuming job" in again.stdout
        assert case.submissions == 2  # the overdue job downloaded, the second shot made once
        assert (root / "build" / "tiny.mp4").is_file()
