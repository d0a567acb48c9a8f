"""Veo on the Gemini API: the request body as documented, operation parsing, and the wire
details (header auth, inline base64 images, the redirect that must not carry the key)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from adapter_support import Case, keys_and_no_waits, open_case, reference_png, run_job
from fake_http import KEY

from cinestitch.providers._images import prepare_image
from cinestitch.providers.base import GenerationRequest, JobHandle, JobState
from cinestitch.providers.veo import (
    api_root,
    build_create_url,
    build_download_url,
    build_poll_url,
    build_predict_body,
    failure_text,
    parse_operation,
    parse_status,
)

REQUEST = GenerationRequest("veo", "veo-3.1-fast-generate-preview", "a kite", 6.0, 1280, 720, 24, 0)


@pytest.fixture
def case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Case]:
    with keys_and_no_waits(monkeypatch, "GEMINI_API_KEY"), open_case("veo", tmp_path) as opened:
        yield opened


def test_the_body_places_every_field_as_documented(tmp_path: Path) -> None:
    """First and last frames are inline base64 with a MIME type; parameters are camelCase."""
    first = prepare_image(reference_png(tmp_path / "a.png"))
    last = prepare_image(reference_png(tmp_path / "b.png", (64, 64)))
    request = replace(REQUEST, options={"negative_prompt": "blur", "enhance_prompt": True})
    body = build_predict_body(request, first, last)
    instance = body["instances"][0]
    assert instance["prompt"] == "a kite"
    assert instance["image"]["mimeType"] == "image/png"
    assert base64.b64decode(instance["image"]["bytesBase64Encoded"]) == first.data
    assert set(instance["lastFrame"]) == {"bytesBase64Encoded", "mimeType"}
    assert body["parameters"] == {
        "aspectRatio": "16:9",
        "durationSeconds": 6,
        "resolution": "720p",
        "sampleCount": 1,
        "negativePrompt": "blur",
        "enhancePrompt": True,
    }


def test_1080p_and_extension_force_eight_seconds() -> None:
    """At 1080p or 4k, and for an extension, durationSeconds is 8; portrait is 9:16."""
    body = build_predict_body(replace(REQUEST, width=1080, height=1920, seconds=4.0))
    assert body["parameters"]["durationSeconds"] == 8
    assert body["parameters"]["aspectRatio"] == "9:16"
    assert body["parameters"]["resolution"] == "1080p"
    extension = build_predict_body(replace(REQUEST, extend_from="https://x/v1beta/files/f1"))
    assert extension["instances"][0]["video"] == {"uri": "https://x/v1beta/files/f1"}
    assert "image" not in extension["instances"][0]
    assert extension["parameters"]["durationSeconds"] == 8


def test_a_size_veo_does_not_make_is_refused() -> None:
    """The builder refuses sizes Veo has no resolution for."""
    with pytest.raises(ValueError, match="not a Veo size"):
        build_predict_body(replace(REQUEST, width=640, height=360))


def test_urls_are_built_from_the_root_with_or_without_v1beta() -> None:
    """base_url may end in /v1beta or not; operations are polled at /v1beta/{name}."""
    assert api_root("http://h/v1beta/") == api_root("http://h") == "http://h"
    assert build_create_url("http://h", "m") == "http://h/v1beta/models/m:predictLongRunning"
    assert build_poll_url("http://h", "models/m/operations/o") == (
        "http://h/v1beta/models/m/operations/o"
    )
    assert build_download_url("http://h/v1beta/files/f:download").endswith(":download?alt=media")
    assert build_download_url("http://h/v1beta/files/f:download?alt=media").count("alt=") == 1
    # a file named without its verb is its metadata: the bytes are at files/{id}:download
    assert (
        build_download_url("http://h/v1beta/files/f")
        == "http://h/v1beta/files/f:download?alt=media"
    )
    assert build_download_url("https://s.example/b/clip.mp4?sig=1") == (
        "https://s.example/b/clip.mp4?sig=1"
    )


def test_a_filtered_operation_is_a_content_policy_failure_in_words() -> None:
    """done with no samples and a filtered count is a non-retryable, worded rejection."""
    op = parse_operation(
        {
            "name": "models/m/operations/o",
            "done": True,
            "response": {
                "generateVideoResponse": {
                    "raiMediaFilteredCount": 1,
                    "raiMediaFilteredReasons": ["may violate policies"],
                }
            },
        }
    )
    text = failure_text(op)
    assert text == (
        "veo rejected the prompt (content policy: 1 video filtered: may violate policies) "
        "— edit the prompt or the reference image"
    )
    status = parse_status(JobHandle("veo", op.name), op, 10.0)
    assert status.state is JobState.FAILED and status.message == text


def test_a_finished_operation_gives_its_file_uri_to_the_handle() -> None:
    """The sample's video URI is kept in the handle so a later process can download it."""
    data = {
        "name": "models/m/operations/o",
        "done": True,
        "response": {"generateVideoResponse": {"generatedSamples": [{"video": {"uri": "u"}}]}},
    }
    status = parse_status(JobHandle("veo", "models/m/operations/o"), parse_operation(data), 10.0)
    assert status.state is JobState.SUCCEEDED
    assert status.handle is not None and status.handle.state["video_uri"] == "u"


def test_an_unfinished_operation_asks_to_poll_at_the_cadence() -> None:
    """A running operation says when to ask again."""
    op = parse_operation({"name": "n", "done": False})
    status = parse_status(JobHandle("veo", "n"), op, 10.0)
    assert status.state is JobState.RUNNING and status.poll_after == 10.0


def test_the_key_travels_in_the_header_and_never_to_storage(case: Case, tmp_path: Path) -> None:
    """x-goog-api-key reaches the Gemini host only; the redirect to storage carries no key."""
    provider = case.provider()
    handle = provider.submit(case.request, "k")
    status, _ = run_job(provider, handle)
    assert status.handle is not None
    provider.download(status.handle, tmp_path / "out.mp4")
    api_calls = case.server.seen
    assert all(seen.headers.get("x-goog-api-key") == KEY for seen in api_calls)
    assert all("key" not in seen.query for seen in api_calls)
    blobs = case.download_server.seen
    assert blobs and all(
        KEY not in str(seen.headers) and "Authorization" not in seen.headers for seen in blobs
    )


def test_the_image_reaches_the_server_as_sent(case: Case) -> None:
    """The first frame arrives as base64 of the project's PNG, with its MIME type."""
    case.provider().submit(case.request, "k")
    (op,) = case.server.operations.values()
    image = op.body["instances"][0]["image"]
    assert case.request.reference_image is not None
    assert (
        base64.b64decode(image["bytesBase64Encoded"]) == case.request.reference_image.read_bytes()
    )
    assert image["mimeType"] == "image/png"


def test_an_end_frame_is_sent_as_last_frame(case: Case, tmp_path: Path) -> None:
    """end_image becomes instances[0].lastFrame; Lite refuses it (the server's 400)."""
    end = reference_png(tmp_path / "end.png", (128, 72))
    case.provider().submit(replace(case.request, end_image=end), "k")
    (op,) = case.server.operations.values()
    assert "lastFrame" in op.body["instances"][0]
