"""fal.ai's queue: each model's input as its schema types it, URLs followed from the submit
answer (never built), the Key auth header only on fal's origin, and results read as
documented (video.url; a content-policy 422 said in words)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from adapter_support import (
    Case,
    check_refused_in_words,
    keys_and_no_waits,
    open_case,
    reference_png,
    run_job,
)
from fake_http import KEY

from cinestitch.errors import GenerationFailedError
from cinestitch.providers import fal_models as models
from cinestitch.providers._images import prepare_image
from cinestitch.providers.base import GenerationRequest, JobHandle, JobState
from cinestitch.providers.fal import (
    build_input,
    failure_text,
    parse_queue_status,
    parse_submit,
    parse_video_url,
    route_of,
)
from cinestitch.providers.spec import Shot

WAN, KLING, LTX = (models.MODELS[m] for m in (
    "fal-ai/wan/v2.7/image-to-video",
    "fal-ai/kling-video/v4/image-to-video",
    "fal-ai/ltx-2.3/image-to-video",
))  # fmt: skip
VEO = models.MODELS["fal-ai/veo3.1/fast/image-to-video"]


def request(m: models.FalModel, **changes: object) -> GenerationRequest:
    base = GenerationRequest("fal", m.endpoint, "a kite", 6.0, 1280, 720, 24, 3)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def wan_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Case]:
    with keys_and_no_waits(monkeypatch, "FAL_KEY"), open_case("fal:wan", tmp_path) as c:
        yield c


def test_each_model_types_its_duration_as_its_schema_does(tmp_path: Path) -> None:
    """Wan and LTX take an integer, Kling a string enum, Veo "6s"; images are data URIs."""
    image = prepare_image(reference_png(tmp_path / "a.png"))
    ref = tmp_path / "a.png"
    wan = build_input(WAN, route_of(WAN, request(WAN, reference_image=ref)), request(WAN), image)
    assert wan["duration"] == 6 and wan["image_url"].startswith("data:image/png;base64,")
    assert wan["resolution"] == "720p" and wan["seed"] == 3 and "aspect_ratio" not in wan
    kling_request = request(KLING, reference_image=ref)
    kling = build_input(KLING, route_of(KLING, kling_request), kling_request, image)
    assert kling["duration"] == "6" and "start_image_url" in kling and "seed" not in kling
    ltx_request = request(LTX, reference_image=ref, width=720, height=1280)
    ltx = build_input(LTX, route_of(LTX, ltx_request), ltx_request, image)
    assert ltx["duration"] == 6 and ltx["resolution"] == "1080p" and ltx["aspect_ratio"] == "9:16"
    assert build_input(VEO, route_of(VEO, request(VEO)), request(VEO))["duration"] == "6s"


def test_frames_and_text_go_to_the_right_endpoint(tmp_path: Path) -> None:
    """No first frame: the text endpoint; first+last: the model's end field (or endpoint)."""
    ref = tmp_path / "a.png"
    assert route_of(LTX, request(LTX)).endpoint == "fal-ai/ltx-2.3/text-to-video"
    both = route_of(WAN, request(WAN, reference_image=ref, end_image=ref))
    assert (both.endpoint, both.first_field, both.end_field) == (
        WAN.endpoint, "image_url", "end_image_url"
    )  # fmt: skip
    veo = route_of(VEO, request(VEO, reference_image=ref, end_image=ref))
    assert veo.endpoint == "fal-ai/veo3.1/fast/first-last-frame-to-video"
    assert (veo.first_field, veo.end_field) == ("first_frame_url", "last_frame_url")
    extension = route_of(WAN, request(WAN, extend_from="https://v3.fal.media/files/x.mp4"))
    assert extension.extend_field == "video_url" and extension.first_field is None
    with pytest.raises(ValueError, match="cannot continue"):
        route_of(KLING, request(KLING, extend_from="https://x/y.mp4"))


def test_options_map_to_the_models_own_fields() -> None:
    """audio, negative prompt, prompt expansion and cfg_scale use each model's wire names."""
    wan = build_input(WAN, route_of(WAN, request(WAN)), request(WAN, options={
        "negative_prompt": "blur", "prompt_expansion": False, "aspect_ratio": "1:1",
    }))  # fmt: skip
    assert wan["negative_prompt"] == "blur" and wan["enable_prompt_expansion"] is False
    assert wan["aspect_ratio"] == "1:1"
    kling = build_input(KLING, route_of(KLING, request(KLING)), request(KLING, options={
        "audio": False, "cfg_scale": 0.3,
    }))  # fmt: skip
    assert kling["generate_audio"] is False and kling["cfg_scale"] == 0.3


def test_resolution_is_the_smallest_tier_covering_the_output() -> None:
    """720p output: Wan 720p, LTX 1080p (its smallest); 1080p: Wan 1080p; 4k: the largest."""
    assert models.pick_resolution(WAN, 1280, 720, {}) == "720p"
    assert models.pick_resolution(LTX, 1280, 720, {}) == "1080p"
    assert models.pick_resolution(WAN, 1920, 1080, {}) == "1080p"
    assert models.pick_resolution(WAN, 3840, 2160, {}) == "1080p"
    assert models.pick_resolution(WAN, 1280, 720, {"resolution": "1080p"}) == "1080p"
    assert models.pick_aspect(LTX, 1000, 1000, {}) in ("16:9", "9:16")
    assert models.pick_aspect(WAN, 960, 720, {}) == "4:3"


def test_capabilities_and_checks_come_from_the_table() -> None:
    """Durations, end frames, extension and options are checked before anything is paid."""
    caps = models.capabilities(LTX.endpoint)
    assert caps.allowed_seconds == (6.0, 8.0, 10.0) and caps.accepts_end_image and caps.fps == 25
    assert models.capabilities(WAN.endpoint).extends and models.capabilities(WAN.endpoint).seed
    assert not models.capabilities(KLING.endpoint).seed
    assert models.check_options(WAN.endpoint, {"cfg_scale": 0.5}) == [
        "cfg_scale: unknown option — fal-ai/wan/v2.7/image-to-video accepts: resolution, "
        "aspect_ratio, negative_prompt, prompt_expansion"
    ]
    assert models.check_options(KLING.endpoint, {"cfg_scale": 2}) == [
        "cfg_scale: must be a number from 0 to 1"
    ]
    assert models.check_options(LTX.endpoint, {"resolution": "720p"}) == [
        "resolution: must be one of 1080p, 1440p, 2160p"
    ]
    shot = Shot(6, 1280, 720, has_reference=False, has_end_frame=True)
    assert models.check_shot(WAN.endpoint, {}, shot) == [
        "end_frame: wan goes from a first frame to the end frame — give the segment a reference too"
    ]


def test_answers_are_parsed_as_documented() -> None:
    """Submit URLs are taken as given; statuses map to queued/running/succeeded/failed."""
    sent = parse_submit({"request_id": "r1", "status_url": "https://q/a/b/requests/r1/status",
                         "response_url": "https://q/a/b/requests/r1"})  # fmt: skip
    assert sent.status_url.endswith("/status") and sent.cancel_url is None
    with pytest.raises(ValueError, match="status_url"):
        parse_submit({"request_id": "r1"})
    assert parse_queue_status({"status": "IN_QUEUE", "queue_position": 3}).position == 3
    assert parse_queue_status({"status": "IN_PROGRESS"}).state is JobState.RUNNING
    assert parse_queue_status({"status": "COMPLETED"}).state is JobState.SUCCEEDED
    assert parse_queue_status({"status": "COMPLETED", "error": "boom"}).state is JobState.FAILED
    assert parse_video_url({"video": {"url": "https://v3.fal.media/f.mp4"}}) is not None
    assert parse_video_url({"video": {"url": "file:///etc/passwd"}}) is None
    assert "content policy" in failure_text("content_policy_violation: flagged", 422)


def test_the_status_and_result_urls_are_followed_not_built(wan_case: Case) -> None:
    """Polls go to the URLs the submit answer named (owner/app only), with the Key header."""
    provider = wan_case.provider()
    handle = provider.submit(wan_case.request, "key-1")
    assert handle.state["status_url"].endswith(f"/fal-ai/wan/requests/{handle.job_id}/status")
    status, _ = run_job(provider, handle)
    assert status.state is JobState.SUCCEEDED and status.handle is not None
    paths = [s.path for s in wan_case.server.seen]
    assert paths[0] == "/fal-ai/wan/v2.7/image-to-video"
    assert all(not p.startswith("/fal-ai/wan/v2.7/requests") for p in paths)
    assert {s.headers["Authorization"] for s in wan_case.server.seen} == {f"Key {KEY}"}
    body = json.loads(wan_case.server.seen[0].body)
    assert body["duration"] == 4 and body["image_url"].startswith("data:image/png;base64,")


def test_the_video_is_fetched_from_the_cdn_without_the_key(wan_case: Case, tmp_path: Path) -> None:
    """video.url is on another origin: downloaded there, and the key never goes with it."""
    provider = wan_case.provider()
    status, _ = run_job(provider, provider.submit(wan_case.request, "key-1"))
    assert status.handle is not None
    provider.download(status.handle, tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").stat().st_size > 0
    assert all("Authorization" not in s.headers for s in wan_case.download_server.seen)


def test_a_content_policy_rejection_fails_the_download_too(wan_case: Case) -> None:
    """A 422 content_policy_violation result is said in words, and nothing is downloaded."""
    wan_case.server.outcome = "moderated"
    starts = "fal rejected the request (content policy:"
    check_refused_in_words(wan_case, starts, Path("never.mp4"))


def test_cancel_puts_to_the_cancel_url(wan_case: Case) -> None:
    """cancel is PUT on the cancel_url the submit answer gave; a refusal is ignored."""
    provider = wan_case.provider()
    handle = provider.submit(wan_case.request, "key-1")
    provider.cancel(handle)
    assert wan_case.server.requests_to("cancel") == 1
    provider.cancel(JobHandle("fal", "gone"))


def test_a_reference_over_the_models_limit_is_sent_smaller(tmp_path: Path) -> None:
    """A first frame too big for a data URI is re-encoded until it fits the model's limit."""
    import numpy as np
    from PIL import Image

    noisy = np.random.default_rng(1).integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(tmp_path / "noise.png")
    from cinestitch.providers._images import within_bytes

    image = prepare_image(tmp_path / "noise.png")
    small = within_bytes(image, len(image.data) // 4)
    assert small.mime_type == "image/jpeg" and len(small.data) <= len(image.data) // 4


def test_a_prompt_over_the_models_limit_is_refused_before_sending(wan_case: Case) -> None:
    """Wan takes 5000 characters: a longer prompt fails at once, proving no job."""
    long = replace(wan_case.request, prompt="a kite " * 800)
    with pytest.raises(GenerationFailedError, match="wan takes 5000") as caught:
        wan_case.provider().submit(long, "key-1")
    assert caught.value.no_job and wan_case.server.seen == []
