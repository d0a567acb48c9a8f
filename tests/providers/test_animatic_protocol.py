"""The animatic provider's job lifecycle: submit -> poll -> download with real worker processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from animatic_support import generate, tiny, wait_final
from PIL import Image

import cinestitch
from cinestitch.errors import GenerationFailedError, ProviderError
from cinestitch.providers.animatic import AnimaticProvider
from cinestitch.providers.base import JobHandle, JobState, LookupResult


def journal(provider: AnimaticProvider) -> list[dict[str, object]]:
    path = provider.work_dir / "submits.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_construction_creates_nothing(tmp_path: Path) -> None:
    """Making a provider touches no files; the work dir appears on the first submit."""
    AnimaticProvider(tmp_path / "state")
    assert not (tmp_path / "state").exists()


def test_job_goes_from_queued_to_succeeded(provider: AnimaticProvider, tmp_path: Path) -> None:
    """A job is pending right after submit, then succeeds at no cost and downloads."""
    job_id = provider.submit(tiny(), "k")
    assert job_id.job_id.startswith("anim-") and len(job_id.job_id) == 17
    assert provider.poll(job_id).state in (JobState.QUEUED, JobState.RUNNING)
    status = wait_final(provider, job_id)
    assert (status.state, status.progress, status.cost_usd) == (JobState.SUCCEEDED, 1.0, 0.0)
    provider.download(job_id, tmp_path / "out" / "clip.mp4")
    assert (tmp_path / "out" / "clip.mp4").stat().st_size > 1000


def test_delay_keeps_the_job_pending_and_leaves_the_output_alone(
    provider: AnimaticProvider, tmp_path: Path
) -> None:
    """With delay=1 the job stays queued for a second, then gives the undelayed bytes."""
    started = time.monotonic()
    job_id = provider.submit(tiny(options={"delay": 1}), "k")
    time.sleep(0.3)
    assert provider.poll(job_id).state is JobState.QUEUED
    assert wait_final(provider, job_id).state is JobState.SUCCEEDED
    assert time.monotonic() - started >= 1.0
    provider.download(job_id, tmp_path / "delayed.mp4")
    plain = generate(provider, tiny(), tmp_path / "plain.mp4")
    assert (tmp_path / "delayed.mp4").read_bytes() == plain.read_bytes()


def test_fail_option_fails_the_job_with_its_message(
    provider: AnimaticProvider, tmp_path: Path
) -> None:
    """fail='content policy' makes the job FAILED with that message; download refuses."""
    job_id = provider.submit(tiny(options={"fail": "content policy"}), "k")
    status = wait_final(provider, job_id)
    assert (status.state, status.message) == (JobState.FAILED, "content policy")
    with pytest.raises(ProviderError, match="failed: content policy"):
        provider.download(job_id, tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()


def test_worker_error_fails_the_job_in_one_line(provider: AnimaticProvider, tmp_path: Path) -> None:
    """A reference that is not an image fails the job with a one-line message."""
    bogus = tmp_path / "ref.png"
    bogus.write_text("not a picture")
    status = wait_final(provider, provider.submit(tiny(reference_image=bogus), "k"))
    assert status.state is JobState.FAILED
    assert status.message and "\n" not in status.message
    assert "UnidentifiedImageError" in status.message


def test_killed_worker_is_reported_failed(provider: AnimaticProvider) -> None:
    """SIGKILLing the worker turns the job FAILED with an explanation instead of hanging."""
    job_id = provider.submit(tiny(options={"delay": 30}), "k")
    pid = provider.worker_pid(job_id)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    status = wait_final(provider, job_id, deadline=10)
    assert status.state is JobState.FAILED
    assert status.message and "stopped without finishing" in status.message


def test_a_new_provider_instance_finishes_the_job(tmp_path: Path) -> None:
    """A job submitted by one instance is polled and downloaded by another (a restart)."""
    job_id = AnimaticProvider(tmp_path / "state").submit(tiny(), "k")
    later = AnimaticProvider(tmp_path / "state")
    assert wait_final(later, job_id).state is JobState.SUCCEEDED
    later.download(job_id, tmp_path / "clip.mp4")
    assert (tmp_path / "clip.mp4").stat().st_size > 1000


def test_job_survives_the_submitting_process_being_killed(tmp_path: Path) -> None:
    """SIGKILL the process that submitted: its worker still finishes for a later poll."""
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from cinestitch.providers.animatic import AnimaticProvider
        from cinestitch.providers.base import GenerationRequest
        request = GenerationRequest("animatic", "sketch", "orphan", 1.0, 96, 54, 12, 1,
                                    options={{"delay": 0.5}})
        handle = AnimaticProvider(Path({str(tmp_path / "state")!r})).submit(request, "k")
        print(handle.job_id, flush=True)
        time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(cinestitch.__file__).parents[1])}
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    ) as submitter:
        assert submitter.stdout is not None
        job_id = submitter.stdout.readline().strip()
        submitter.send_signal(signal.SIGKILL)
        submitter.wait()
    later = AnimaticProvider(tmp_path / "state")
    assert wait_final(later, JobHandle("animatic", job_id)).state is JobState.SUCCEEDED


def test_each_submit_appends_one_journal_line(provider: AnimaticProvider) -> None:
    """submits.jsonl gets one line per submit, with the prompt cut to 80 characters."""
    long_prompt = "a very long prompt " * 10
    first = provider.submit(tiny(prompt=long_prompt, options={"fail": "no"}), "k1")
    second = provider.submit(tiny(options={"fail": "no"}), "k2")
    lines = journal(provider)
    assert [line["job_id"] for line in lines] == [first.job_id, second.job_id]
    assert [line["key"] for line in lines] == ["k1", "k2"]
    assert lines[0]["prompt"] == long_prompt[:80]
    assert (lines[1]["seconds"], lines[1]["size"]) == (2.0, "160x90")
    assert all(isinstance(line["time"], str) for line in lines)
    for job_id in (first, second):
        wait_final(provider, job_id)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"seconds": 25.0}, "seconds: 25 is outside"),
        ({"width": 161}, "size: 161x90 must be even"),
        ({"width": 3840, "height": 2160}, "at most 1920x1080"),
        ({"model": "photoreal"}, "model: unknown model 'photoreal'"),
        ({"options": {"speed": 2}}, "speed: unknown option"),
    ],
)
def test_invalid_requests_are_refused_before_any_job(
    provider: AnimaticProvider, changes: dict[str, object], words: str
) -> None:
    """A request outside the capabilities is refused at submit: no job, no journal line."""
    with pytest.raises(GenerationFailedError, match=words):
        provider.submit(tiny(**changes), "k")
    assert journal(provider) == []
    assert not (provider.work_dir / "jobs").exists() or not any(
        (provider.work_dir / "jobs").iterdir()
    )


def test_missing_reference_is_refused(provider: AnimaticProvider, tmp_path: Path) -> None:
    """A reference image that does not exist is refused at submit, naming the path."""
    with pytest.raises(GenerationFailedError, match=r"missing\.png"):
        provider.submit(tiny(reference_image=tmp_path / "missing.png"), "k")
    assert journal(provider) == []


def test_reference_is_copied_into_the_job(provider: AnimaticProvider, tmp_path: Path) -> None:
    """The job keeps its own copy of the reference, so later edits cannot change it."""
    reference = tmp_path / "hero.png"
    Image.new("RGB", (32, 18), "white").save(reference)
    job_id = provider.submit(tiny(reference_image=reference, options={"fail": "stop"}), "k")
    copy = provider.work_dir / "jobs" / job_id.job_id / "reference.png"
    assert copy.read_bytes() == reference.read_bytes()
    wait_final(provider, job_id)


@pytest.mark.parametrize("job_id", ["anim-000000000000", "../../etc", ""])
def test_unknown_job_is_a_provider_error(provider: AnimaticProvider, job_id: str) -> None:
    """Polling or downloading a job this work dir never saw raises ProviderError naming it."""
    with pytest.raises(ProviderError, match="unknown"):
        provider.poll(JobHandle("animatic", job_id))
    with pytest.raises(ProviderError, match="unknown"):
        provider.download(JobHandle("animatic", job_id), Path("never.mp4"))


def test_lookup_finds_a_submitted_job_by_its_key(provider: AnimaticProvider) -> None:
    """A job whose submit answer was lost is found again by its request key; a key never
    submitted is known to be absent (the animatic knows all its jobs)."""
    assert provider.lookup("never") is LookupResult.ABSENT
    handle = provider.submit(tiny(options={"fail": "no"}), "lost-key")
    assert provider.lookup("lost-key") == handle
    assert provider.lookup("other") is LookupResult.ABSENT
    wait_final(provider, handle)


def test_failed_preparation_leaves_no_job_and_no_bill(
    provider: AnimaticProvider, tmp_path: Path
) -> None:
    """A submit that cannot write its job (here: a read-only work dir) says no job was
    created, and neither a job nor a submission line is left behind."""
    (provider.work_dir / "jobs").mkdir(parents=True)
    (provider.work_dir / "jobs").chmod(0o500)
    try:
        if os.access(provider.work_dir / "jobs", os.W_OK):
            pytest.skip("running as a user who can write a read-only directory")
        with pytest.raises(ProviderError) as caught:
            provider.submit(tiny(), "k")
        assert caught.value.no_job
    finally:
        (provider.work_dir / "jobs").chmod(0o700)
    assert journal(provider) == [] and list((provider.work_dir / "jobs").iterdir()) == []


def test_check_options_names_each_problem(provider: AnimaticProvider) -> None:
    """check_options lists one problem per bad key or model, each naming the key first."""
    assert provider.check_options("sketch", {}) == []
    assert provider.check_options("sketch", {"delay": 0.5, "fail": "x", "palette": "dusk"}) == []
    problems = provider.check_options(
        "veo", {"delay": -1, "fail": 3, "palette": "neon", "colour": "red"}
    )
    assert [p.split(":")[0] for p in problems] == ["model", "colour", "delay", "fail", "palette"]
    assert "delay: must be a number >= 0" in problems[2]
    for bad in (True, "2", float("nan"), float("inf")):
        assert provider.check_options("sketch", {"delay": bad})[0].startswith("delay:")


def test_capabilities(provider: AnimaticProvider) -> None:
    """1-20 s, up to 1920x1080, reference images accepted."""
    caps = provider.capabilities("sketch")
    assert (caps.min_seconds, caps.max_seconds, caps.allowed_seconds) == (1, 20, None)
    assert (caps.max_width, caps.max_height, caps.accepts_reference_image) == (1920, 1080, True)
