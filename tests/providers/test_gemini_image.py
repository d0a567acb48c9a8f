"""Gemini image generation: the generateContent body as Google documents it (parts, inline
pictures, IMAGE modality, aspect ratio and size tier), answers read as documented (thought
pictures skipped, refusals said in words), and the picture kept under its job id."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from adapter_support import keys_and_no_waits, run_job
from fake_http import KEY
from fake_images import LEFT, RIGHT, opened, write_picture
from image_cases import ImageCase, image_request, open_image_case

from cinestitch.errors import GenerationFailedError, JobNotFoundError
from cinestitch.providers import gemini_image_models as models
from cinestitch.providers._images import prepare_image
from cinestitch.providers.base import GenerationRequest, JobState
from cinestitch.providers.gemini_image import (
    build_generate_body,
    parse_answer,
    refusal_text,
    shape_of,
)

FLASH_31, FLASH_25, PRO = (
    models.MODELS[m]
    for m in (
        "gemini-3.1-flash-image",
        "gemini-2.5-flash-image",
        "gemini-3-pro-image",
    )
)


def keyframe(model: str = "gemini-3.1-flash-image", **changes: object) -> GenerationRequest:
    return image_request("gemini-image", model, **changes)


@pytest.fixture
def flash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ImageCase]:
    keys = keys_and_no_waits(monkeypatch, "GEMINI_API_KEY")
    with keys, open_image_case("gemini:3.1-flash", tmp_path) as case:
        yield case


def _png64(tmp_path: Path) -> str:
    return base64.b64encode(write_picture(tmp_path / "p.png", 8, 8).read_bytes()).decode()


def test_the_body_asks_for_an_image_at_the_nearest_ratio_and_tier(tmp_path: Path) -> None:
    """The prompt comes first, pictures follow inline; IMAGE only, 16:9 at the covering tier."""
    ref = prepare_image(write_picture(tmp_path / "a.png", 40, 30))
    req = keyframe(seed=9)
    body = build_generate_body(req, shape_of(FLASH_31, req), (ref, ref))
    parts = body["contents"][0]["parts"]
    assert body["contents"][0]["role"] == "user" and parts[0] == {"text": req.prompt}
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": ref.base64}}
    assert len(parts) == 3
    config = body["generationConfig"]
    assert config["responseModalities"] == ["IMAGE"] and config["seed"] == 9
    assert config["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "1K"}


def test_shapes_follow_each_models_table() -> None:
    """1080p needs 2K on the 3.x models; 2.5 Flash has one size per ratio and no imageSize."""
    assert shape_of(FLASH_31, keyframe()) == models_shape("16:9", "1K", 1376, 768)
    assert shape_of(FLASH_31, keyframe(width=1920, height=1080)).tier == "2K"
    assert shape_of(FLASH_31, keyframe(width=640, height=360)).tier == "512"
    assert shape_of(PRO, keyframe(width=640, height=360)).tier == "1K"
    assert shape_of(FLASH_25, keyframe()) == models_shape("16:9", None, 1344, 768)
    assert shape_of(FLASH_25, keyframe(width=720, height=1280)).ratio == "9:16"
    assert shape_of(FLASH_31, keyframe(width=1000, height=1000)).ratio == "1:1"
    chosen = keyframe(options={"aspect_ratio": "21:9", "image_size": "4K"})
    assert shape_of(FLASH_31, chosen) == models_shape("21:9", "4K", 6336, 2688)
    no_tier = build_generate_body(keyframe(), shape_of(FLASH_25, keyframe()))
    assert no_tier["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9"}


def models_shape(ratio: str, tier: str | None, width: int, height: int) -> object:
    from cinestitch.providers.gemini_image import Shape

    return Shape(ratio, tier, width, height)


def test_answers_are_read_as_documented(tmp_path: Path) -> None:
    """The last picture not marked thought is taken; snake_case inline_data is read too."""
    final, interim = _png64(tmp_path), base64.b64encode(b"interim").decode()
    answer = parse_answer(
        {
            "responseId": "r1",
            "candidates": [
                {
                    "finishReason": "STOP",
                    "content": {
                        "parts": [
                            {
                                "inlineData": {"mimeType": "image/png", "data": interim},
                                "thought": True,
                            },
                            {"text": "Here it is."},
                            {"inline_data": {"mime_type": "image/png", "data": final}},
                        ]
                    },
                }
            ],
        }
    )
    assert answer.image == base64.b64decode(final) and answer.mime_type == "image/png"
    assert answer.response_id == "r1" and refusal_text(answer) is None
    with pytest.raises(ValueError, match="not base64"):
        parse_answer({"candidates": [{"content": {"parts": [{"inlineData": {"data": "%%"}}]}}]})
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_answer(["nope"])


def test_refusals_are_said_in_words_with_what_they_cost() -> None:
    """A blocked prompt is not billed; a refused picture or a wordy answer may have been."""
    blocked = refusal_text(parse_answer({"promptFeedback": {"blockReason": "SAFETY"}}))
    assert blocked is not None and "content policy: blocked for SAFETY" in blocked
    assert blocked.endswith("not billed")
    unsafe = parse_answer(
        {
            "candidates": [
                {"finishReason": "IMAGE_SAFETY", "finishMessage": "It shows a real person."}
            ]
        }
    )
    said = refusal_text(unsafe)
    assert said == (
        "gemini-image refused the picture (content policy: IMAGE_SAFETY: It shows a real "
        "person.) — edit the prompt or the reference images; it may have been billed"
    )
    wordy = parse_answer(
        {"candidates": [{"finishReason": "STOP", "content": {"parts": [{"text": "I cannot."}]}}]}
    )
    assert "answered without a picture" in (refusal_text(wordy) or "")
    assert "I cannot." in (refusal_text(wordy) or "")


def test_capabilities_and_options_come_from_the_table() -> None:
    """Stills only; sizes, tiers and reference limits per model; unknown ids get the 3.x table."""
    caps = models.capabilities("gemini-2.5-flash-image")
    assert caps.kind == "image" and caps.max_width == 1536 and caps.max_reference_images == 2
    assert models.capabilities("gemini-3.1-flash-image").max_width == 6336
    assert models.capabilities("gemini-9-image").max_reference_images == 13
    assert models.check_options("gemini-2.5-flash-image", {"image_size": "2K"}) == [
        "image_size: unknown option — gemini-2.5-flash-image accepts: aspect_ratio"
    ]
    assert models.check_options("gemini-3-pro-image", {"image_size": "512"}) == [
        "image_size: must be one of 1K, 2K, 4K"
    ]
    assert models.check_options("gemini-3-pro-image-preview", {}) == [
        "model: gemini-3-pro-image-preview was shut down on 2026-06-25 — use gemini-3-pro-image"
    ]
    assert models.check_options("gemini-3.1-flash-image", {"aspect_ratio": "8:1"}) == [
        "aspect_ratio: must be one of 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9"
    ]


def test_the_picture_is_kept_and_polling_calls_nothing(flash: ImageCase, tmp_path: Path) -> None:
    """submit keeps the picture in the work dir; poll and download make no request."""
    provider = flash.provider()
    handle = provider.submit(flash.request, "key-1")
    assert (flash.work_dir / "images" / handle.state["file"]).is_file()
    calls = len(flash.server.seen)
    status, _ = run_job(provider, handle)
    provider.download(status.handle or handle, tmp_path / "key.png")
    assert status.state is JobState.SUCCEEDED and len(flash.server.seen) == calls


def test_the_thought_picture_is_skipped_and_the_crop_is_centred(
    flash: ImageCase, tmp_path: Path
) -> None:
    """The interim thought picture is never the keyframe; 1376x768 is cropped evenly to 1280x720."""
    provider = flash.provider()
    provider.download(provider.submit(flash.request, "key-1"), tmp_path / "key.png")
    still = opened(tmp_path / "key.png").convert("RGB")
    assert still.size == (1280, 720)
    for x, colour in ((2, LEFT), (630, LEFT), (650, RIGHT), (1277, RIGHT)):
        assert _near(still.getpixel((x, 360)), colour), x


def _near(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= 2 for a, b in zip(pixel, colour, strict=True))


@pytest.mark.parametrize("mime", ["image/jpeg", "image/webp"])
def test_jpeg_and_webp_answers_become_pngs(flash: ImageCase, tmp_path: Path, mime: str) -> None:
    """A JPEG or WebP picture is converted: the keyframe is always a PNG of the asked size."""
    flash.server.output_mime = mime
    provider = flash.provider()
    handle = provider.submit(flash.request, "key-1")
    assert handle.state["mime_type"] == mime
    provider.download(handle, tmp_path / "key.png")
    still = opened(tmp_path / "key.png")
    assert still.format == "PNG" and still.size == (1280, 720)


def test_a_blocked_prompt_proves_no_job_and_no_bill(flash: ImageCase) -> None:
    """promptFeedback.blockReason: refused in words, forgettable, not billed."""
    flash.server.outcome = "blocked"
    with pytest.raises(GenerationFailedError, match="blocked for PROHIBITED_CONTENT") as caught:
        flash.provider().submit(flash.request, "key-1")
    assert caught.value.no_job and not caught.value.may_be_billed


def test_a_refused_picture_may_have_been_billed(flash: ImageCase) -> None:
    """finishReason IMAGE_SAFETY: the model ran, so the refusal may have been billed."""
    flash.server.outcome = "policy"
    with pytest.raises(GenerationFailedError, match="content policy: IMAGE_SAFETY") as caught:
        flash.provider().submit(flash.request, "key-1")
    assert caught.value.no_job and caught.value.may_be_billed
    assert not list(flash.work_dir.rglob("*.img"))


def test_an_answer_in_words_only_is_a_refusal(flash: ImageCase) -> None:
    """A model that writes instead of drawing fails with its own words."""
    flash.server.outcome = "text_only"
    with pytest.raises(GenerationFailedError, match="I can't make that picture"):
        flash.provider().submit(flash.request, "key-1")


def test_references_reach_the_request_in_order(flash: ImageCase, tmp_path: Path) -> None:
    """The reference picture, then each character reference, go inline after the prompt."""
    hero = write_picture(tmp_path / "hero.jpg", 50, 80, "image/jpeg")
    sidekick = write_picture(tmp_path / "sidekick.webp", 30, 30, "image/webp")
    req = replace(flash.request, reference_image=flash.reference, reference_images=(hero, sidekick))
    flash.provider().submit(req, "key-1")
    parts = flash.server.last_body["contents"][0]["parts"]
    mimes = [p["inlineData"]["mimeType"] for p in parts[1:]]
    assert mimes == ["image/png", "image/jpeg", "image/png"]
    assert base64.b64decode(parts[2]["inlineData"]["data"]) == hero.read_bytes()


def test_too_many_pictures_are_refused_before_anything_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2.5 Flash takes 3 input pictures: a fourth fails at once, proving no job."""
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    with open_image_case("gemini:2.5-flash", tmp_path) as case:
        req = replace(
            case.request, reference_image=case.reference, reference_images=(case.reference,) * 3
        )
        with pytest.raises(GenerationFailedError, match=r"4 input images; .* takes 3") as caught:
            case.provider().submit(req, "key-1")
        assert caught.value.no_job and case.server.seen == []
        case.provider().submit(keyframe("gemini-2.5-flash-image"), "key-2")
        config = case.server.last_body["generationConfig"]
        assert "imageSize" not in config["imageConfig"]


def test_a_picture_no_longer_kept_cannot_be_resumed(flash: ImageCase) -> None:
    """A job whose kept picture is gone (another clone, a cleaned folder) is not found, paid."""
    provider = flash.provider()
    handle = provider.submit(flash.request, "key-1")
    (flash.work_dir / "images" / handle.state["file"]).unlink()
    with pytest.raises(JobNotFoundError, match="CINESTITCH_RESUBMIT=1") as caught:
        provider.poll(handle)
    assert caught.value.may_be_billed


def test_the_model_and_key_go_where_google_expects(flash: ImageCase) -> None:
    """The model is in the path, the key in x-goog-api-key, never in the URL or body."""
    flash.provider().submit(flash.request, "key-1")
    seen = flash.server.seen[-1]
    assert seen.path == "/v1beta/models/gemini-3.1-flash-image:generateContent"
    assert seen.headers["x-goog-api-key"] == KEY and KEY not in json.dumps(seen.query)
    assert KEY.encode() not in seen.body
