"""The contract every network adapter keeps, run against each one over real HTTP: veo, the
/v1/videos shape in every dialect, fal (Wan, Kling, LTX), Runway and ComfyUI. Faults are
injected into fake servers on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from adapter_support import (
    CONTRACT_CASES,
    Case,
    ambiguous_submit,
    check_5xx_on_create,
    check_429_on_create_is_retried,
    check_job_timeout,
    check_key_hidden,
    check_missing_key_is_one_line,
    check_refused_connection_proves_no_job,
    check_slow_poll_is_retried,
    generate,
    keys_and_no_waits,
    open_case,
    refused_key_message,
    resume_elsewhere,
    run_job,
)
from fake_http import KEY, Fault

from cinestitch.errors import (
    GenerationFailedError,
    JobNotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from cinestitch.media.check import check_video
from cinestitch.providers.base import JobHandle, JobState, LookupResult


@pytest.fixture(autouse=True)
def _keys_and_no_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    keys = ("GEMINI_API_KEY", "OPENAI_API_KEY", "FAL_KEY", "RUNWAYML_API_SECRET")
    with keys_and_no_waits(monkeypatch, *keys):
        yield


@pytest.fixture(params=CONTRACT_CASES)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    with open_case(request.param, tmp_path) as opened:
        yield opened


def test_a_job_runs_to_a_checked_clip(case: Case, tmp_path: Path) -> None:
    """submit -> poll -> download gives a decodable clip of the asked length, paid once."""
    clip = generate(case, tmp_path / "out.mp4")
    seconds = case.request.seconds
    assert check_video(clip, seconds) == pytest.approx(seconds, abs=0.2)
    assert case.submissions == 1
    assert case.server.requests_to("create") == 1


def test_the_handle_resumes_in_another_process(case: Case, tmp_path: Path) -> None:
    """A handle written as JSON is polled and downloaded by a new provider, without resubmitting."""
    clip = resume_elsewhere(case, tmp_path / "out.mp4")
    assert clip.stat().st_size > 0 and case.submissions == 1


def test_429_on_create_is_retried_after_retry_after(case: Case, tmp_path: Path) -> None:
    """A 429 refusal (with Retry-After) proves no job: it is retried and one job is made."""
    check_429_on_create_is_retried(case, tmp_path / "out.mp4")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_on_poll_is_retried(case: Case, tmp_path: Path, status: int) -> None:
    """500/502/503 answers to a poll are retried with backoff until the job's status comes."""
    case.server.inject(
        "poll", Fault("status", status, {"error": {"message": "backend error"}}, times=2)
    )
    generate(case, tmp_path / "out.mp4")
    assert case.submissions == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_create(case: Case, status: int, tmp_path: Path) -> None:
    """A 5xx the provider documents as making no job is retried (one job is made); any
    other, after the request was sent, may have made (and billed) one: raised at once."""
    check_5xx_on_create(case, status, tmp_path / "out.mp4")


def test_dropped_connection_on_create_is_ambiguous(case: Case) -> None:
    """A connection dropped after the request was sent is not retried and may be billed."""
    case.server.inject("create", Fault("drop", after_effect=True))
    ambiguous_submit(case)
    assert case.server.requests_to("create") == 1 and case.submissions == 1


def test_dropped_connection_on_poll_is_retried(case: Case, tmp_path: Path) -> None:
    """A poll whose connection drops is simply asked again."""
    case.server.inject("poll", Fault("drop"))
    generate(case, tmp_path / "out.mp4")


def test_refused_connection_proves_no_job(case: Case) -> None:
    """Nothing listening: retried, then an error that proves no job was made."""
    check_refused_connection_proves_no_job(case)


def test_slow_create_is_ambiguous(case: Case) -> None:
    """A create answer slower than the timeout may still have made the job: not retried."""
    case.server.inject("create", Fault("slow", delay=0.6, after_effect=False))
    ambiguous_submit(case, r"no answer from 127\.0\.0\.1", timeout=0.2)
    assert case.server.requests_to("create") == 1


def test_slow_poll_is_retried(case: Case, tmp_path: Path) -> None:
    """A poll slower than the timeout is asked again."""
    check_slow_poll_is_retried(case)


def test_malformed_json_on_poll_is_retried(case: Case, tmp_path: Path) -> None:
    """A poll answered with broken JSON is asked again."""
    case.server.inject("poll", Fault("malformed"))
    generate(case, tmp_path / "out.mp4")


def test_malformed_json_on_create_is_ambiguous(case: Case) -> None:
    """A create answered with broken JSON may have made the job: may be billed, not retried."""
    case.server.inject("create", Fault("malformed", after_effect=True))
    ambiguous_submit(case, "not JSON")


@pytest.mark.parametrize("kind", ["truncated", "not_video"])
def test_a_bad_download_is_fetched_again(case: Case, tmp_path: Path, kind: str) -> None:
    """A truncated or non-video download is fetched again, and only a whole clip is kept."""
    case.download_server.inject(case.download_route, Fault(kind))
    clip = generate(case, tmp_path / "out.mp4")
    check_video(clip, case.request.seconds)
    assert case.download_server.requests_to(case.download_route) == 2


def test_a_download_that_stays_bad_is_never_returned(case: Case, tmp_path: Path) -> None:
    """A download that stays broken raises a retryable error and leaves no file behind."""
    case.download_server.inject(case.download_route, Fault("not_video", times=10))
    with pytest.raises(ProviderUnavailableError, match="not a whole video"):
        generate(case, tmp_path / "out.mp4")
    assert list(tmp_path.glob("*out*")) == []


def test_content_policy_rejection_is_said_in_words(case: Case) -> None:
    """A job refused by content policy fails with the provider's words; nothing to download."""
    if not case.has_policy:
        pytest.skip(f"{case.provider_name} has no content policy")
    case.outcome("policy")
    provider = case.provider()
    status, _ = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.state is JobState.FAILED and status.message
    assert ("content policy" in status.message) or ("moderation" in status.message)
    with pytest.raises(GenerationFailedError):
        provider.download(
            status.handle or JobHandle(case.provider_name, status.job_id), Path("x.mp4")
        )


def test_a_failed_job_carries_the_providers_message(case: Case) -> None:
    """A job the provider failed is FAILED with its message, and is not resubmitted."""
    case.outcome("failed")
    provider = case.provider()
    status, _ = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.state is JobState.FAILED
    assert status.message and "failed" in status.message.lower()
    assert case.submissions == 1


def test_a_job_that_never_finishes_hits_job_timeout(case: Case) -> None:
    """A job unfinished after provider.job_timeout fails with a message saying so."""
    check_job_timeout(case)


def test_polling_stays_within_latency_over_interval(case: Case) -> None:
    """A job of latency L costs at most about L / interval + 2 polls."""
    latency, interval = 0.4, 0.1
    case.server.latency = latency
    case.server.poll_after_ms = None
    provider = case.provider(poll_interval=interval)
    status, polls = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.state is JobState.SUCCEEDED
    assert polls <= latency / interval + 2


def test_auth_refusal_names_the_variable_and_hides_the_key(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused key is a one-line error naming the key's variable, proving no job, and
    says the key was refused (401 for most APIs, 400 ``API key not valid`` for Gemini's)."""
    message = refused_key_message(case, _key_variable(case), monkeypatch)
    assert "the key was refused (HTTP 40" in message, message


def test_a_missing_key_is_one_line_naming_the_variable(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no key in the environment or .env, building the provider fails naming the variable."""
    check_missing_key_is_one_line(case, _key_variable(case), monkeypatch)


def test_the_key_can_come_from_the_projects_dotenv(
    case: Case, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A key in the project's .env is used when the environment has none."""
    variable = _key_variable(case)
    monkeypatch.delenv(variable)
    (case.work_dir.parent / ".env").parent.mkdir(parents=True, exist_ok=True)
    (case.work_dir.parent / ".env").write_text(f'# keys\nexport {variable}="{KEY}"\n')
    generate(case, tmp_path / "out.mp4")


def test_a_custom_key_env_is_read(
    case: Case, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """provider.key_env names another variable to read the key from."""
    monkeypatch.delenv(_key_variable(case))
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("MY_GATEWAY_KEY", KEY)
    provider = case.provider(key_env="MY_GATEWAY_KEY")
    handle = provider.submit(case.request, "key-1")
    assert handle.job_id


def test_the_key_appears_in_no_output(
    case: Case, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Errors, reprs, handles, logs and files written by the adapter never hold the key."""
    caplog.set_level(logging.DEBUG)
    provider = case.provider()
    seen: list[object] = [provider, case.transport]
    case.server.inject(
        "poll", Fault("status", 503, {"error": {"message": f"echo {KEY}"}}, times=20)
    )
    handle = provider.submit(case.request, "key-1")
    seen.append(json.dumps(handle.to_json()))
    with pytest.raises(ProviderError) as caught:
        provider.poll(handle)
    check_key_hidden(case, seen, caught.value, caplog.text)


def test_a_retired_endpoint_is_said_and_never_retried(case: Case) -> None:
    """A 404 on the endpoint says the API or model is retired, once, proving no job."""
    if case.provider_name == "veo":
        case.request = type(case.request)(**{**case.request.__dict__, "model": "veo-2.0-retired"})
    else:
        case.retire()
    with pytest.raises(ProviderError) as caught:
        case.provider().submit(case.request, "key-1")
    message = str(caught.value)
    assert "HTTP 404" in message and caught.value.no_job
    assert ("retired" in message) or ("no model" in message)
    assert len([s for s in case.server.seen if s.method == "POST"]) == 1


def test_cancel_is_best_effort(case: Case) -> None:
    """cancel asks the provider to stop and never raises on a refusal."""
    provider = case.provider()
    handle = provider.submit(case.request, "key-1")
    provider.cancel(handle)
    provider.cancel(JobHandle(case.provider_name, "unknown-job"))


def test_lookup_never_claims_absence_it_cannot_know(case: Case) -> None:
    """lookup of a key never submitted here is UNKNOWN (the provider might still have it)."""
    assert case.provider().lookup("never-sent") is LookupResult.UNKNOWN


def test_the_request_is_refused_at_once_when_invalid(case: Case) -> None:
    """A request the server refuses (4xx validation) proves no job and is not retried."""
    bad = case.invalid_request()
    with pytest.raises(GenerationFailedError, match=f"HTTP {case.invalid_status}") as caught:
        case.provider().submit(bad, "key-1")
    assert caught.value.no_job and case.server.requests_to("create") == 1


def test_a_job_the_provider_does_not_know_cannot_be_resumed(case: Case) -> None:
    """Polling a job the server has never heard of is JobNotFoundError, maybe billed."""
    name = "models/veo-3.1-fast-generate-preview/operations/nope" if case.name == "veo" else "nope"
    handle = case.unknown_handle or JobHandle(case.provider_name, name)
    with pytest.raises(JobNotFoundError) as caught:
        case.provider().poll(handle)
    assert caught.value.may_be_billed and case.not_found_words in str(caught.value)


def _key_variable(case: Case) -> str:
    """The case's key variable; a provider that needs no key skips the key tests."""
    if case.key_variable is None:
        pytest.skip(f"{case.provider_name} needs no key")
    return case.key_variable
