"""Runway's tasks API: camelCase bodies with the version header, ratios and durations per
model, promptImage positions, THROTTLED read as queued, SAFETY failures in words, and the
cost in credits from the model's published rate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from adapter_support import Case, keys_and_no_waits, open_case, reference_png, run_job
from fake_http import KEY

from cinestitch.providers import runway_models as models
from cinestitch.providers._images import prepare_image
from cinestitch.providers.base import GenerationRequest, JobHandle, JobState
from cinestitch.providers.runway import build_task, failure_text, parse_status, parse_task
from cinestitch.providers.spec import Shot

REQUEST = GenerationRequest("runway", "veo3.1", "a kite", 6.0, 1920, 1080, 24, 9)


@pytest.fixture
def case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Case]:
    with keys_and_no_waits(monkeypatch, "RUNWAYML_API_SECRET"), open_case("runway", tmp_path) as c:
        yield c


def test_the_body_is_camel_case_with_first_and_last_frames(tmp_path: Path) -> None:
    """veo3.1: promptImage first and last as data URIs, the ratio of the output, audio."""
    first = prepare_image(reference_png(tmp_path / "a.png"))
    last = prepare_image(reference_png(tmp_path / "b.png", (64, 64)))
    request = replace(REQUEST, options={"negative_prompt": "blur", "audio": False})
    path, body = build_task(models.MODELS["veo3.1"], request, first, last)
    assert path == "/v1/image_to_video"
    assert [i["position"] for i in body["promptImage"]] == ["first", "last"]
    assert body["promptImage"][0]["uri"].startswith("data:image/png;base64,")
    assert body["ratio"] == "1920:1080" and body["duration"] == 6
    assert body["audio"] is False and body["negativePrompt"] == "blur"
    assert "seed" not in body and body["promptText"] == "a kite"


def test_gen4_takes_a_seed_and_no_last_frame(tmp_path: Path) -> None:
    """gen4.5 at 1080p output picks its 16:9 ratio (1280:720) and sends the seed."""
    first = prepare_image(reference_png(tmp_path / "a.png"))
    request = replace(REQUEST, model="gen4.5", seconds=7.0)
    _, body = build_task(models.MODELS["gen4.5"], request, first)
    assert body["ratio"] == "1280:720" and body["seed"] == 9 and body["duration"] == 7
    assert "audio" not in body and len(body["promptImage"]) == 1
    with pytest.raises(ValueError, match="no last frame"):
        build_task(models.MODELS["gen4.5"], request, first, first)


def test_without_a_frame_it_is_text_to_video_where_the_model_has_it() -> None:
    """No first frame: /v1/text_to_video (gen4.5 only 1280:720 or 720:1280)."""
    path, body = build_task(models.MODELS["gen4.5"], replace(REQUEST, model="gen4.5"))
    assert path == "/v1/text_to_video" and "promptImage" not in body
    with pytest.raises(ValueError, match="only from a first frame"):
        build_task(models.MODELS["gen4_turbo"], replace(REQUEST, model="gen4_turbo"))


def test_ratios_follow_the_outputs_shape() -> None:
    """The output's shape picks the ratio; a shape the model lacks is a load-time problem."""
    assert models.pick_ratio(models.VEO_RATIOS, 1280, 720, {}) == "1280:720"
    assert models.pick_ratio(models.VEO_RATIOS, 2560, 1440, {}) == "1920:1080"
    assert models.pick_ratio(models.GEN4_RATIOS, 1000, 1000, {}) == "960:960"
    assert models.pick_ratio(models.VEO_RATIOS, 1000, 1000, {}) is None
    assert models.pick_ratio(models.VEO_RATIOS, 1000, 1000, {"ratio": "720:1280"}) == "720:1280"
    problems = models.check_shot("veo3.1", {}, Shot(6, 1000, 1000, has_reference=True))
    assert problems and problems[0].startswith("ratio: 1000x1000 has no veo3.1 ratio")
    assert models.check_shot("gen4_turbo", {}, Shot(6, 1280, 720))[0].startswith(
        "reference: runway gen4_turbo makes video only from a first frame"
    )


def test_capabilities_say_durations_frames_and_sound() -> None:
    """gen4.5 2-10 s, first frame only; veo3.1 4/6/8 s with a last frame and sound."""
    gen = models.capabilities("gen4.5")
    assert gen.allowed_seconds == tuple(float(s) for s in range(2, 11)) and gen.seed
    assert not gen.accepts_end_image and not gen.audio
    veo = models.capabilities("veo3.1")
    assert veo.allowed_seconds == (4.0, 6.0, 8.0) and veo.accepts_end_image and veo.audio
    assert models.check_options("gen4.5", {"audio": True}) == [
        "audio: unknown option — runway gen4.5 accepts: ratio, public_figure_threshold"
    ]


def test_statuses_and_failures_are_read_as_documented() -> None:
    """PENDING and THROTTLED are queued; SAFETY.* is content policy; cost is in credits."""
    handle = JobHandle("runway", "t1")
    assert parse_task({"id": "t1", "status": "THROTTLED"}).state is JobState.QUEUED
    running = parse_task({"id": "t1", "status": "RUNNING", "progress": 0.42})
    assert running.state is JobState.RUNNING and running.progress == 0.42
    safety = parse_task({"id": "t1", "status": "FAILED", "failure": "flagged",
                         "failureCode": "SAFETY.INPUT.IMAGE"})  # fmt: skip
    assert failure_text(safety).startswith("runway rejected the input (content policy SAFETY")
    # INTERNAL and INTERNAL.BAD_OUTPUT.* are Runway's own passing failures (retry)
    for code in ("INTERNAL", "INTERNAL.BAD_OUTPUT.CODE01"):
        internal = parse_task(
            {"id": "t1", "status": "FAILED", "failure": "oops", "failureCode": code}
        )
        said = failure_text(internal)
        assert f"({code}: oops)" in said and "run the build again" in said
        assert "not retried" not in said
    done = parse_task({"id": "t1", "status": "SUCCEEDED", "output": ["https://r/x.mp4"]})
    from cinestitch.providers.base import Cost

    status = parse_status(handle, done, 6.0, Cost(72.0, "credits"))
    assert status.cost_usd == pytest.approx(0.72) and status.cost == Cost(72.0, "credits")
    assert status.handle is not None and status.handle.state["output_url"] == "https://r/x.mp4"


def test_every_request_carries_the_version_header(case: Case) -> None:
    """Bearer auth and X-Runway-Version on every call; the output is fetched without them."""
    provider = case.provider()
    status, polls = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.state is JobState.SUCCEEDED and polls >= 3  # PENDING, THROTTLED, RUNNING
    for seen in case.server.seen:
        assert seen.headers["X-Runway-Version"] == "2024-11-06"
        assert seen.headers["Authorization"] == f"Bearer {KEY}"
    body = json.loads(case.server.seen[0].body)
    assert body["model"] == "gen4.5" and body["ratio"] == "1280:720" and body["duration"] == 4
    assert status.cost is not None and status.cost.amount == 48.0  # 12 credits/s x 4 s
    assert status.handle is not None
    provider.download(status.handle, case.work_dir / "out.mp4")
    assert all("Authorization" not in s.headers for s in case.download_server.seen)


def test_an_expired_output_url_is_asked_for_again(case: Case, tmp_path: Path) -> None:
    """A signed URL that no longer works is replaced by fetching the task again."""
    provider = case.provider()
    status, _ = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.handle is not None
    stale = status.handle.with_state(output_url=f"{case.download_server.url}/expired")
    provider.download(stale, tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_cancel_deletes_the_task(case: Case) -> None:
    """cancel is DELETE /v1/tasks/{id}."""
    provider = case.provider()
    handle = provider.submit(case.request, "key-1")
    provider.cancel(handle)
    assert case.server.tasks[handle.job_id].cancelled
    assert provider.poll(handle).state is JobState.CANCELLED
