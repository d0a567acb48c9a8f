"""The contract every image adapter keeps (stills for keyframes), run against each one over
real HTTP: Gemini image generation (synchronous) and FLUX on fal's queue. Faults are injected
into fake servers on 127.0.0.1; every still is checked as a decoded PNG of the asked size."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from adapter_support import (
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
    refused_key_message,
    resume_elsewhere,
    run_job,
)
from fake_http import KEY, Fault
from fake_images import opened
from image_cases import IMAGE_CASES, SIZE, ImageCase, open_image_case

from cinestitch.errors import (
    GenerationFailedError,
    JobNotFoundError,
    ProviderError,
    ProviderUnavailableError,
)
from cinestitch.providers import provider_info
from cinestitch.providers.base import JobHandle, JobState, JobStatus, LookupResult


@pytest.fixture(autouse=True)
def _keys_and_no_waits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with keys_and_no_waits(monkeypatch, "GEMINI_API_KEY", "FAL_KEY"):
        yield


@pytest.fixture(params=list(IMAGE_CASES))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ImageCase]:
    with open_image_case(request.param, tmp_path) as opened_case:
        yield opened_case


def _queued(case: ImageCase) -> None:
    if case.synchronous:
        pytest.skip(f"{case.provider_name} answers with the picture: there is no queue to poll")


def _outcome_of(case: ImageCase) -> JobStatus | ProviderError:
    """How a generation ends: its final status, or the refusal its submission raised."""
    provider = case.provider()
    try:
        handle = provider.submit(case.request, "key-1")
    except GenerationFailedError as exc:
        return exc
    status, _ = run_job(provider, handle)
    return status


def test_a_job_runs_to_a_png_of_the_asked_size(case: ImageCase, tmp_path: Path) -> None:
    """submit -> poll -> download writes a PNG of exactly the keyframe's size, paid once."""
    still = opened(generate(case, tmp_path / "key.mp4"))
    assert still.format == "PNG" and still.size == SIZE
    assert case.submissions == 1


def test_the_registry_says_it_makes_stills(case: ImageCase) -> None:
    """The provider's static capabilities say image, take no seconds, and cover the size."""
    info = provider_info(case.provider_name)
    caps = info.capabilities(case.request.model)
    assert info.kind == "image" and caps.kind == "image"
    assert caps.allowed_seconds == (0.0,) and caps.max_seconds == 0.0
    assert caps.max_width >= SIZE[0] and caps.max_height >= SIZE[1]
    assert info.check_options(case.request.model, {}) == []


def test_the_handle_resumes_in_another_process(case: ImageCase, tmp_path: Path) -> None:
    """A handle written as JSON is polled and downloaded by a new provider, without resubmitting."""
    still = resume_elsewhere(case, tmp_path / "key.png")
    assert opened(still).size == SIZE and case.submissions == 1


def test_a_download_can_be_repeated(case: ImageCase, tmp_path: Path) -> None:
    """Downloading a finished job twice gives the same picture (a retried build step)."""
    provider = case.provider()
    status, _ = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.handle is not None
    provider.download(status.handle, tmp_path / "a.png")
    provider.download(status.handle, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_429_on_create_is_retried_after_retry_after(case: ImageCase, tmp_path: Path) -> None:
    """A 429 refusal (with Retry-After) proves no job: it is retried and one picture is made."""
    check_429_on_create_is_retried(case, tmp_path / "key.png")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_create(case: ImageCase, status: int, tmp_path: Path) -> None:
    """A 5xx the provider documents as making no job is retried (one job is made); any
    other, after the request was sent, may have made (and billed) one: raised at once."""
    check_5xx_on_create(case, status, tmp_path / "key.png")


def test_dropped_connection_on_create_is_ambiguous(case: ImageCase) -> None:
    """A connection dropped after the request was sent is not retried and may be billed."""
    case.server.inject("create", Fault("drop", after_effect=True))
    ambiguous_submit(case)
    assert case.server.requests_to("create") == 1


def test_a_truncated_answer_to_create_is_ambiguous(case: ImageCase) -> None:
    """An answer cut off halfway may have been billed: raised, never retried, nothing kept."""
    case.server.inject("create", Fault("truncated", after_effect=True))
    ambiguous_submit(case)
    assert case.server.requests_to("create") == 1
    assert not list(case.work_dir.rglob("*.img"))


def test_refused_connection_proves_no_job(case: ImageCase) -> None:
    """Nothing listening: retried, then an error that proves no job was made."""
    check_refused_connection_proves_no_job(case)


def test_slow_create_is_ambiguous(case: ImageCase) -> None:
    """An answer slower than the timeout may still have made the picture: not retried."""
    case.server.inject("create", Fault("slow", delay=0.6))
    ambiguous_submit(case, r"no answer from 127\.0\.0\.1", timeout=0.2)
    assert case.server.requests_to("create") == 1


def test_malformed_json_on_create_is_ambiguous(case: ImageCase) -> None:
    """A create answered with broken JSON may have made the picture: may be billed, not retried."""
    case.server.inject("create", Fault("malformed", after_effect=True))
    ambiguous_submit(case, "not JSON")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_on_poll_is_retried(case: ImageCase, tmp_path: Path, status: int) -> None:
    """500/502/503 answers to a poll are retried with backoff until the status comes."""
    _queued(case)
    case.server.inject("poll", Fault("status", status, {"error": {"message": "busy"}}, times=2))
    generate(case, tmp_path / "key.png")
    assert case.submissions == 1


@pytest.mark.parametrize("kind", ["drop", "malformed"])
def test_a_broken_poll_is_asked_again(case: ImageCase, tmp_path: Path, kind: str) -> None:
    """A poll whose connection drops, or whose answer is not JSON, is simply asked again."""
    _queued(case)
    case.server.inject("poll", Fault(kind))
    generate(case, tmp_path / "key.png")


def test_slow_poll_is_retried(case: ImageCase) -> None:
    """A poll slower than the timeout is asked again."""
    _queued(case)
    check_slow_poll_is_retried(case)


@pytest.mark.parametrize("kind", ["truncated", "not_video"])
def test_a_bad_download_is_fetched_again(case: ImageCase, tmp_path: Path, kind: str) -> None:
    """A truncated or non-image download is fetched again, and only a whole picture is kept."""
    _queued(case)
    assert case.download_server is not None
    case.download_server.inject("blob", Fault(kind))
    still = opened(generate(case, tmp_path / "key.png"))
    assert still.size == SIZE
    assert case.download_server.requests_to("blob") == 2


def test_a_download_that_stays_bad_is_never_returned(case: ImageCase, tmp_path: Path) -> None:
    """A download that stays broken raises a retryable error and leaves no file behind."""
    _queued(case)
    assert case.download_server is not None
    case.download_server.inject("blob", Fault("not_video", times=10))
    with pytest.raises(ProviderUnavailableError, match="not a whole image"):
        generate(case, tmp_path / "key.png")
    assert list(tmp_path.glob("*key*")) == []


def test_an_answer_that_is_no_picture_is_never_kept(case: ImageCase) -> None:
    """Inline bytes that do not decode as a picture may have been billed: raised, not kept."""
    if not case.synchronous:
        pytest.skip("a queued picture is downloaded (see the download tests)")
    case.outcome("not_image")
    with pytest.raises(ProviderUnavailableError, match="no usable picture") as caught:
        case.provider().submit(case.request, "key-1")
    assert caught.value.may_be_billed
    assert not list(case.work_dir.rglob("*.img"))


def test_content_policy_rejection_is_said_in_words(case: ImageCase) -> None:
    """A picture refused by content policy fails with the provider's words; nothing to download."""
    case.outcome("policy")
    ended = _outcome_of(case)
    message = str(ended) if isinstance(ended, ProviderError) else ended.message
    if isinstance(ended, JobStatus):
        assert ended.state is JobState.FAILED
    assert message and "content policy" in message
    assert case.submissions == 1


def test_a_failed_generation_carries_the_providers_words(case: ImageCase) -> None:
    """A generation the provider failed ends FAILED (or refused) with its words, once."""
    case.outcome("failed")
    ended = _outcome_of(case)
    if isinstance(ended, JobStatus):
        assert ended.state is JobState.FAILED and ended.message
        assert "failed" in ended.message.lower()
    else:
        assert "without a picture" in str(ended) and "OTHER" in str(ended)
    assert case.submissions == 1


def test_a_job_that_never_finishes_hits_job_timeout(case: ImageCase) -> None:
    """A queued picture unfinished after provider.job_timeout fails with a message saying so."""
    _queued(case)
    check_job_timeout(case)


def test_auth_refusal_names_the_variable_and_hides_the_key(
    case: ImageCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused key is a one-line error naming the key's variable, proving no job."""
    assert "key was refused" in refused_key_message(case, case.key_variable, monkeypatch)


def test_a_missing_key_is_one_line_naming_the_variable(
    case: ImageCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no key in the environment or .env, building the provider fails naming the variable."""
    check_missing_key_is_one_line(case, case.key_variable, monkeypatch)


def test_the_key_can_come_from_the_projects_dotenv(
    case: ImageCase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A key in the project's .env is used when the environment has none."""
    monkeypatch.delenv(case.key_variable)
    case.work_dir.parent.mkdir(parents=True, exist_ok=True)
    (case.work_dir.parent / ".env").write_text(f'export {case.key_variable}="{KEY}"\n')
    generate(case, tmp_path / "key.png")


def test_a_custom_key_env_is_read(case: ImageCase, monkeypatch: pytest.MonkeyPatch) -> None:
    """provider.key_env names another variable to read the key from."""
    monkeypatch.delenv(case.key_variable)
    monkeypatch.setenv("MY_IMAGE_KEY", KEY)
    assert case.provider(key_env="MY_IMAGE_KEY").submit(case.request, "key-1").job_id


def test_the_key_appears_in_no_output(
    case: ImageCase, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Errors, reprs, handles, logs and files written by the adapter never hold the key."""
    caplog.set_level(logging.DEBUG)
    provider = case.provider()
    seen: list[object] = [provider, case.transport]
    handle = provider.submit(case.request, "key-1")
    seen.append(json.dumps(handle.to_json()))
    case.server.inject(
        "create", Fault("status", 503, {"error": {"message": f"echo {KEY}"}}, times=20)
    )
    with pytest.raises(ProviderError) as caught:
        provider.submit(case.request, "key-2")
    check_key_hidden(case, seen, caught.value, caplog.text)


def test_a_retired_model_is_said_and_never_retried(case: ImageCase) -> None:
    """A 404 on the endpoint says the model is unknown or retired, once, proving no job."""
    case.server.retired = True
    with pytest.raises(ProviderError) as caught:
        case.provider().submit(case.request, "key-1")
    message = str(caught.value)
    assert "HTTP 404" in message and "no model" in message and caught.value.no_job
    assert len([s for s in case.server.seen if s.method == "POST"]) == 1


def test_the_request_is_refused_at_once_when_invalid(case: ImageCase) -> None:
    """A request the server refuses (4xx validation) proves no job and is not retried."""
    with pytest.raises(GenerationFailedError, match=r"HTTP 4\d\d") as caught:
        case.provider().submit(case.invalid_request(), "key-1")
    assert caught.value.no_job and case.server.requests_to("create") == 1
    assert case.submissions == 0


def test_cancel_is_best_effort_and_lookup_never_claims_absence(case: ImageCase) -> None:
    """cancel never raises on a refusal; lookup of a key never sent here is UNKNOWN."""
    provider = case.provider()
    handle = provider.submit(case.request, "key-1")
    provider.cancel(handle)
    provider.cancel(JobHandle(case.provider_name, "unknown-job"))
    assert provider.lookup("never-sent") is LookupResult.UNKNOWN


def test_a_job_the_provider_does_not_know_cannot_be_resumed(case: ImageCase) -> None:
    """Polling a job that is not known (here, or at the provider) is JobNotFoundError, maybe
    billed."""
    with pytest.raises(JobNotFoundError) as caught:
        case.provider().poll(case.unknown_handle())
    assert caught.value.may_be_billed
    assert ("not found" in str(caught.value)) or ("HTTP 404" in str(caught.value))


def test_a_reference_picture_reaches_the_request(case: ImageCase, tmp_path: Path) -> None:
    """Where the model takes one, the reference picture is sent inline and a PNG still results."""
    caps = provider_info(case.provider_name).capabilities(case.request.model)
    if not caps.accepts_reference_image:
        pytest.skip(f"{case.request.model} takes no reference picture")
    case.request = replace(case.request, reference_image=case.reference)
    still = opened(generate(case, tmp_path / "key.png"))
    assert still.size == SIZE
    sent = next(s.body.decode() for s in case.server.seen if s.method == "POST")
    assert '"data:image/png;base64,' in sent or '"inlineData"' in sent


def test_a_clip_request_is_refused_before_anything_is_sent(case: ImageCase) -> None:
    """An image provider asked for a video fails at once, proving no job."""
    with pytest.raises(GenerationFailedError, match="makes stills, not clips") as caught:
        case.provider().submit(replace(case.request, kind="video", seconds=8.0), "key-1")
    assert caught.value.no_job and case.server.seen == []
