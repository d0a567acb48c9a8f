"""The /v1/videos shape: bodies per dialect (multipart file or JSON data URI), statuses and
timestamps, poll hints, idempotency, lookups by listing, and the retired endpoint."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from adapter_support import Case, keys_and_no_waits, open_case, run_job
from fake_http import KEY, Fault, parse_multipart
from PIL import Image

from cinestitch.errors import GenerationFailedError, ProviderError, ProviderUnavailableError
from cinestitch.providers.base import JobHandle, JobState, LookupResult, Transport
from cinestitch.providers.openai import (
    Listed,
    api_root,
    build_create,
    gone_text,
    matches,
    parse_state,
    parse_video,
    poll_hint,
    to_seconds,
)
from cinestitch.providers.openai_models import DIALECTS, dialect_of


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with keys_and_no_waits(monkeypatch, "OPENAI_API_KEY"):
        yield


@pytest.fixture
def openai_case(tmp_path: Path) -> Iterator[Case]:
    with open_case("openai:openai", tmp_path) as opened:
        yield opened


def test_status_words_of_every_dialect_are_understood() -> None:
    """queued/submitted, in_progress/processing/unknown, completed, failed, cancelled."""
    assert parse_state("queued") is parse_state("submitted") is JobState.QUEUED
    running = [parse_state(w) for w in ("in_progress", "processing", "unknown", "generating")]
    assert set(running) == {JobState.RUNNING}
    assert parse_state("completed") is JobState.SUCCEEDED
    assert parse_state("failed") is JobState.FAILED
    assert parse_state("cancelled") is JobState.CANCELLED
    assert parse_state("brand-new-word") is JobState.RUNNING


def test_timestamps_in_seconds_or_milliseconds() -> None:
    """new-api's millisecond timestamps read as the same instant as OpenAI's seconds."""
    assert to_seconds(1764347090922, dialect_of("new-api")) == pytest.approx(1764347090.922)
    assert to_seconds(1764347090, dialect_of("openai")) == 1764347090
    assert to_seconds(1764347090922, dialect_of("openai")) == pytest.approx(1764347090.922)
    assert to_seconds(None, dialect_of("openai")) is None


def test_a_video_object_is_parsed() -> None:
    """id (or task_id), progress as a fraction, the error's code and message, usage cost."""
    video = parse_video(
        {
            "task_id": "t1",
            "status": "failed",
            "progress": 40,
            "error": {"code": "moderation_blocked", "message": "blocked"},
            "usage": {"cost": "0.4"},
        },
        dialect_of("new-api"),
    )
    assert video.id == "t1" and video.state is JobState.FAILED and video.progress == 0.4
    assert video.error == "moderation_blocked: blocked"
    assert video.cost is not None and video.cost.amount == 0.4 and video.cost.unit == "USD"
    with pytest.raises(ValueError, match="no job id"):
        parse_video({"status": "queued"}, dialect_of("openai"))


def test_the_poll_hint_header_is_read() -> None:
    """openai-poll-after-ms becomes seconds to wait."""
    assert poll_hint({"openai-poll-after-ms": "1500"}) == 1.5
    assert poll_hint({}) is None and poll_hint({"openai-poll-after-ms": "soon"}) is None


def test_multipart_and_json_bodies(tmp_path: Path) -> None:
    """Multipart sends every field as a form part and the image as a file; JSON a data URI."""
    from cinestitch.providers._images import PreparedImage

    image = PreparedImage(b"\x89PNG...", "image/png", 1280, 720)
    from cinestitch.providers.base import GenerationRequest

    request = GenerationRequest("openai", "sora-2", "p", 8.0, 1280, 720, 24, 0)
    parts = dict(build_create(dialect_of("openai"), request, image)["files"])
    assert parts["seconds"] == (None, "8") and parts["size"] == (None, "1280x720")
    assert parts["input_reference"] == ("reference.png", b"\x89PNG...", "image/png")
    body = build_create(dialect_of("json"), request, image)["json"]
    assert body["seconds"] == "8" and body["model"] == "sora-2"
    assert body["input_reference"] == {"image_url": "data:image/png;base64,iVBORy4uLg=="}


def test_the_reference_is_letterboxed_to_the_requested_size(openai_case: Case) -> None:
    """A 320x180 reference reaches the server as a 1280x720 file part (sizes must match)."""
    openai_case.provider().submit(openai_case.request, "k")
    (job,) = openai_case.server.jobs.values()
    assert job.reference == (1280, 720)
    (create,) = [s for s in openai_case.server.seen if s.method == "POST"]
    fields, files = parse_multipart(create.headers["Content-Type"], create.body)
    assert fields == {
        "model": "sora-2",
        "prompt": "a red kite over dunes",
        "seconds": "4",
        "size": "1280x720",
    }
    picture = Image.open(io.BytesIO(files["input_reference"][2]))
    assert picture.size == (1280, 720)


def test_a_square_reference_is_letterboxed_not_stretched(openai_case: Case, tmp_path: Path) -> None:
    """An image of another aspect keeps its shape inside black bars."""
    square = tmp_path / "square.png"
    Image.new("RGB", (100, 100), (255, 255, 255)).save(square)
    openai_case.provider().submit(replace(openai_case.request, reference_image=square), "k")
    (create,) = [s for s in openai_case.server.seen if s.method == "POST"]
    _, files = parse_multipart(create.headers["Content-Type"], create.body)
    picture = Image.open(io.BytesIO(files["input_reference"][2])).convert("RGB")
    assert picture.getpixel((640, 360)) == (255, 255, 255)
    assert picture.getpixel((100, 360)) == (0, 0, 0)


@pytest.mark.parametrize("dialect", ["json", "classic"])
def test_json_dialects_send_a_data_uri(tmp_path: Path, dialect: str) -> None:
    """JSON dialects send input_reference as {image_url: data URI}, accepted by the server."""
    with open_case(f"openai:{dialect}", tmp_path) as case:
        case.provider().submit(case.request, "k")
        assert case.server.bodies == ["json"]
        (job,) = case.server.jobs.values()
        assert job.reference == (1280, 720)


def test_bare_key_dialects_send_no_bearer(tmp_path: Path) -> None:
    """bare-key and classic send the key itself in Authorization."""
    with open_case("openai:bare-key", tmp_path) as case:
        case.provider().submit(case.request, "k")
        assert {s.headers["Authorization"] for s in case.server.seen} == {KEY}


def test_the_poll_asks_to_wait_what_the_server_says(openai_case: Case) -> None:
    """A poll's poll_after is the server's openai-poll-after-ms hint."""
    openai_case.server.poll_after_ms = 30
    openai_case.server.polls_to_finish = 5
    provider = openai_case.provider()
    status = provider.poll(provider.submit(openai_case.request, "k"))
    assert status.state is JobState.RUNNING and status.poll_after == 0.03
    assert status.progress == 0.4


def test_no_idempotency_key_is_sent(openai_case: Case) -> None:
    """No /v1/videos server documents Idempotency-Key, so none is sent (a replayed failure
    would stick to the request); lost submissions are found by listing instead."""
    openai_case.provider().submit(openai_case.request, "the-request-key")
    (create,) = [s for s in openai_case.server.seen if s.method == "POST"]
    assert "Idempotency-Key" not in create.headers


def test_a_lost_submission_is_found_by_listing(openai_case: Case, tmp_path: Path) -> None:
    """After an ambiguous create, lookup finds the job in the list: no second submission."""
    openai_case.server.inject("create", Fault("drop", after_effect=True))
    provider = openai_case.provider()
    with pytest.raises(ProviderUnavailableError):
        provider.submit(openai_case.request, "k-lost")
    found = openai_case.provider().lookup("k-lost")
    assert isinstance(found, JobHandle)
    assert found.job_id in openai_case.server.jobs
    record = json.loads((openai_case.work_dir / "submissions" / "k-lost.json").read_text())
    assert record["id"] == found.job_id  # now this submission's: no other lookup takes it
    status, _ = run_job(provider, found)
    assert status.state is JobState.SUCCEEDED
    provider.download(status.handle or found, tmp_path / "out.mp4")
    assert openai_case.server.submissions == 1


def test_a_submission_that_made_no_job_is_absent(openai_case: Case) -> None:
    """A dropped create that made no job is ABSENT from the full list: safe to submit again."""
    openai_case.server.inject("create", Fault("drop"))
    provider = openai_case.provider()
    with pytest.raises(ProviderUnavailableError):
        provider.submit(openai_case.request, "k-gone")
    assert provider.lookup("k-gone") is LookupResult.ABSENT


def test_dialects_that_cannot_list_answer_unknown(tmp_path: Path) -> None:
    """Where the gateway has no list, a lost submission is UNKNOWN (maybe billed)."""
    with open_case("openai:new-api", tmp_path) as case:
        case.server.inject("create", Fault("drop", after_effect=True))
        provider = case.provider()
        with pytest.raises(ProviderUnavailableError):
            provider.submit(case.request, "k-lost")
        assert provider.lookup("k-lost") is LookupResult.UNKNOWN


def test_matching_needs_the_same_fields_and_a_recent_job() -> None:
    """A listed job matches on model, prompt, size, seconds, created since the submission."""
    record = {
        "model": "sora-2",
        "prompt": "p",
        "seconds": "4",
        "size": "1280x720",
        "sent_at": 1000.0,
    }
    item = {
        "id": "v",
        "model": "sora-2",
        "prompt": "p",
        "seconds": "4",
        "size": "1280x720",
        "created_at": 1001,
    }
    openai = dialect_of("openai")
    assert matches(record, item, openai) is Listed.SAME
    assert matches(record, {**item, "prompt": "q"}, openai) is Listed.OTHER
    assert matches(record, {**item, "created_at": 10}, openai) is Listed.OTHER
    assert matches(record, {**item, "size": "720x1280"}, openai) is Listed.OTHER
    assert matches(record, {**item, "seconds": "8"}, openai) is Listed.OTHER
    # a job that shows no prompt may be this one or another: never taken, never "absent"
    assert matches(record, {**item, "prompt": None}, openai) is Listed.MAYBE
    without = {k: v for k, v in item.items() if k != "prompt"}
    assert matches(record, without, openai) is Listed.MAYBE
    assert matches(record, {**without, "created_at": 10}, openai) is Listed.OTHER


def test_a_lost_submission_among_jobs_without_prompts_is_unknown(openai_case: Case) -> None:
    """A gateway whose jobs show no prompt: a lost answer cannot be told from other jobs
    of the same model and size, so lookup says UNKNOWN (the build stops as maybe billed)
    instead of ABSENT (which would pay for a second job)."""
    openai_case.server.shows_prompt = False
    openai_case.server.inject("create", Fault("drop", after_effect=True))
    with pytest.raises(ProviderUnavailableError):
        openai_case.provider().submit(openai_case.request, "k-lost")
    assert openai_case.provider().lookup("k-lost") is LookupResult.UNKNOWN
    assert openai_case.server.submissions == 1


def test_a_lost_take_is_never_given_another_takes_job(openai_case: Case) -> None:
    """Two takes of one request look alike in the list. Take 1's job is known as take 1's,
    so take 2's lost submission that made no job is ABSENT (submitted afresh), and one that
    made a job gets that job, not take 1's."""
    provider = openai_case.provider()
    first = provider.submit(openai_case.request, "k-take-1")
    openai_case.server.inject("create", Fault("drop"))
    with pytest.raises(ProviderUnavailableError):
        provider.submit(openai_case.request, "k-take-2")
    assert provider.lookup("k-take-2") is LookupResult.ABSENT
    openai_case.server.inject("create", Fault("drop", after_effect=True))
    with pytest.raises(ProviderUnavailableError):
        provider.submit(openai_case.request, "k-take-3")
    found = provider.lookup("k-take-3")
    assert isinstance(found, JobHandle) and found.job_id != first.job_id
    assert found.job_id in openai_case.server.jobs


def test_openai_hosts_404_names_the_shutdown() -> None:
    """A 404 at api.openai.com says the Videos API was shut down on 2026-09-24."""
    text = gone_text(api_root(None), "/v1/videos", "sora-2", "HTTP 404: gone", create=True)
    assert "retired" in text and "2026-09-24" in text and "provider.base_url" in text
    other = gone_text("http://gw.example", "/v1/videos", "sora-2", "HTTP 404: x", create=True)
    assert "gw.example has no /v1/videos or no model 'sora-2'" in other


def test_a_retired_gateway_is_never_retried(openai_case: Case) -> None:
    """A 404 on create is one request and a ProviderError proving no job."""
    openai_case.retire()
    with pytest.raises(ProviderError, match="the API or model is retired there") as caught:
        openai_case.provider().submit(openai_case.request, "k")
    assert caught.value.no_job and openai_case.server.requests_to("retired") == 1


def test_an_end_frame_or_extension_is_refused_before_sending(
    openai_case: Case, tmp_path: Path
) -> None:
    """The shape has no end frame and no continuation: refused with no request made."""
    with pytest.raises(GenerationFailedError, match="no end frame") as caught:
        openai_case.provider().submit(
            replace(openai_case.request, end_image=tmp_path / "x.png"), "k"
        )
    assert caught.value.no_job and openai_case.server.seen == []


def test_an_unknown_dialect_is_refused(tmp_path: Path) -> None:
    """A dialect the adapter does not know is an error naming the known ones."""
    from cinestitch.providers import get_provider

    with pytest.raises(ProviderError, match="unknown dialect 'x' — openai has: openai, litellm"):
        get_provider("openai", tmp_path, Transport(dialect="x"))
    assert set(DIALECTS) == {"openai", "litellm", "new-api", "json", "bare-key", "classic"}


def test_output_urls_and_wrapped_jobs_are_found() -> None:
    """A job wrapped in {code, data} is read; its video URL is found in the usual places."""
    wrapped = {
        "code": "success",
        "data": {"task_id": "t", "status": "completed", "output": [{"url": "https://cdn/x.mp4"}]},
    }
    video = parse_video(wrapped, dialect_of("classic"))
    assert video.id == "t" and video.state is JobState.SUCCEEDED
    assert video.output_url == "https://cdn/x.mp4"
    plain = parse_video(
        {"id": "v", "status": "completed", "video_url": "http://h/v.mp4"}, dialect_of("classic")
    )
    assert plain.output_url == "http://h/v.mp4"
    assert parse_video({"id": "v", "url": "not a url"}, dialect_of("openai")).output_url is None
