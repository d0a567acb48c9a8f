"""FLUX on fal's queue: each endpoint's input as its page types it (image_size in multiples
of 16, Kontext's aspect ratio and string safety tolerance, references as data URIs), the
result read as documented (images[0].url, has_nsfw_concepts), and the picture fetched from
the CDN without the key."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from adapter_support import check_refused_in_words, keys_and_no_waits, run_job
from fake_images import opened, write_picture
from image_cases import ImageCase, image_request, open_image_case
from PIL import Image

from cinestitch.errors import GenerationFailedError
from cinestitch.providers import fal_image_models as models
from cinestitch.providers._images import PreparedImage
from cinestitch.providers.base import GenerationRequest, JobState
from cinestitch.providers.fal_image import (
    build_input,
    parse_image_result,
    result_url,
    route_of,
)
from cinestitch.providers.spec import Shot

DEV, SCHNELL, KONTEXT = models.FLUX_DEV, models.FLUX_SCHNELL, models.KONTEXT_PRO
PICTURE = PreparedImage(b"\x89PNG", "image/png", 1, 1)


def keyframe(m: models.FalImageModel, **changes: object) -> GenerationRequest:
    return image_request("fal-image", m.endpoint, **changes)


@pytest.fixture
def opened_case(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ImageCase]:
    with keys_and_no_waits(monkeypatch, "FAL_KEY"), open_image_case(request.param, tmp_path) as c:
        yield c


def test_pictures_pick_the_endpoint(tmp_path: Path) -> None:
    """No picture: text-to-image; one: the image endpoint; several: Kontext's multi endpoint."""
    ref = tmp_path / "a.png"
    assert route_of(DEV, keyframe(DEV)).endpoint == "fal-ai/flux/dev"
    assert route_of(DEV, keyframe(DEV, reference_image=ref)).endpoint == (
        "fal-ai/flux/dev/image-to-image"
    )
    assert route_of(KONTEXT, keyframe(KONTEXT, reference_images=(ref,))).endpoint == (
        "fal-ai/flux-pro/kontext"
    )
    many = route_of(KONTEXT, keyframe(KONTEXT, reference_image=ref, reference_images=(ref, ref)))
    assert (many.endpoint, many.pictures) == ("fal-ai/flux-pro/kontext/multi", 3)
    with pytest.raises(ValueError, match="takes no reference picture"):
        route_of(SCHNELL, keyframe(SCHNELL, reference_image=ref))
    with pytest.raises(ValueError, match="2 pictures given; fal-ai/flux/dev takes 1"):
        route_of(DEV, keyframe(DEV, reference_image=ref, reference_images=(ref,)))


def test_each_endpoint_gets_the_fields_its_schema_has() -> None:
    """dev asks an exact size in multiples of 16 as PNG; img2img follows its input; Kontext
    asks a ratio and a string safety tolerance."""
    full_hd = keyframe(DEV, width=1920, height=1080, options={"steps": 30, "guidance_scale": 4})
    text = build_input(DEV, route_of(DEV, full_hd), full_hd)
    assert text["image_size"] == {"width": 1920, "height": 1088}
    assert (text["output_format"], text["num_images"], text["seed"]) == ("png", 1, 5)
    assert text["num_inference_steps"] == 30 and text["guidance_scale"] == 4
    i2i = keyframe(DEV, reference_image=Path("a.png"), options={"strength": 0.7})
    body = build_input(DEV, route_of(DEV, i2i), i2i, (PICTURE,))
    assert body["image_url"] == PICTURE.data_uri and body["strength"] == 0.7
    assert "image_size" not in body and "output_format" not in body
    assert "strength" not in build_input(
        DEV, route_of(DEV, keyframe(DEV)), replace(i2i, reference_image=None)
    )
    portrait = keyframe(KONTEXT, width=720, height=1280, options={"safety_tolerance": 3})
    kontext = build_input(KONTEXT, route_of(KONTEXT, portrait), portrait)
    assert kontext["aspect_ratio"] == "9:16" and kontext["safety_tolerance"] == "3"
    assert "image_size" not in kontext


def test_results_are_read_as_documented() -> None:
    """images[0].url is the picture; a flagged picture is a content-policy failure."""
    url = "https://v3.fal.media/files/lion/key.png"
    assert result_url({"images": [{"url": url}], "has_nsfw_concepts": [False]}) == url
    assert parse_image_result({"image": {"url": url}}).url == url
    assert parse_image_result({"images": [{"url": "file:///etc/passwd"}]}).url is None
    with pytest.raises(GenerationFailedError, match="content policy: its safety checker"):
        result_url({"images": [{"url": url}], "has_nsfw_concepts": [True]})
    with pytest.raises(GenerationFailedError, match="without a picture"):
        result_url({"images": []})


def test_capabilities_and_options_come_from_the_table() -> None:
    """Stills only; references where the model takes them; options checked before paying."""
    assert models.capabilities(DEV.endpoint).accepts_reference_image
    assert not models.capabilities(SCHNELL.endpoint).accepts_reference_image
    assert models.capabilities(KONTEXT.endpoint).max_reference_images == 3
    assert models.capabilities(DEV.endpoint).max_reference_images == 0
    assert models.check_options(SCHNELL.endpoint, {"steps": 20}) == [
        "steps: must be a whole number from 1 to 12"
    ]
    assert models.check_options(SCHNELL.endpoint, {"guidance_scale": 2}) == [
        "guidance_scale: unknown option — fal-ai/flux/schnell accepts: steps, safety_checker"
    ]
    assert models.check_options(KONTEXT.endpoint, {"aspect_ratio": "5:4"}) == [
        "aspect_ratio: must be one of 21:9, 16:9, 4:3, 3:2, 1:1, 2:3, 3:4, 9:16, 9:21"
    ]
    assert models.check_options(DEV.endpoint, {"safety_checker": "no"}) == [
        "safety_checker: must be true or false"
    ]
    # FLUX.1 [dev]'s image-to-image endpoint takes 10-50 steps (its text endpoint 1-50)
    drawn, plain = Shot(0.0, 1280, 720, has_reference=True), Shot(0.0, 1280, 720)
    assert models.check_shot(DEV.endpoint, {"steps": 4}, plain) == []
    assert models.check_shot(DEV.endpoint, {"steps": 4}, drawn) == [
        "steps: a keyframe drawn from pictures (fal-ai/flux/dev/image-to-image) takes 10 to 50"
    ]
    assert models.check_shot(DEV.endpoint, {"steps": 10}, drawn) == []


@pytest.mark.parametrize("opened_case", ["fal:flux-dev"], indirect=True)
def test_the_picture_is_fetched_from_the_cdn_without_the_key(
    opened_case: ImageCase, tmp_path: Path
) -> None:
    """images[0].url is on another origin: fetched there, and the key never goes with it."""
    provider = opened_case.provider()
    status, _ = run_job(provider, provider.submit(opened_case.request, "key-1"))
    assert status.handle is not None and status.handle.state["image_url"].startswith("http")
    provider.download(status.handle, tmp_path / "key.png")
    assert opened(tmp_path / "key.png").size == (1280, 720)
    assert opened_case.download_server is not None
    assert all("Authorization" not in s.headers for s in opened_case.download_server.seen)
    body = json.loads(opened_case.server.seen[0].body)
    assert body["image_size"] == {"width": 1280, "height": 720}


@pytest.mark.parametrize("opened_case", ["fal:flux-dev"], indirect=True)
def test_a_flagged_picture_fails_in_words(opened_case: ImageCase) -> None:
    """has_nsfw_concepts: the job is FAILED for content policy, and nothing is downloaded."""
    opened_case.server.outcome = "nsfw"
    starts = "fal rejected the picture (content policy:"
    check_refused_in_words(opened_case, starts, Path("never.png"))


@pytest.mark.parametrize("opened_case", ["fal:flux-dev"], indirect=True)
def test_img2img_gets_the_reference_at_the_keyframes_size(
    opened_case: ImageCase, tmp_path: Path
) -> None:
    """dev's image-to-image follows its input's size, so the reference is sent cropped to the
    keyframe's; its JPEG answer becomes a PNG."""
    req = replace(opened_case.request, reference_image=opened_case.reference)
    provider = opened_case.provider()
    status, _ = run_job(provider, provider.submit(req, "key-1"))
    assert status.handle is not None
    provider.download(status.handle, tmp_path / "key.png")
    assert opened(tmp_path / "key.png").format == "PNG"
    seen = opened_case.server.seen[0]
    assert seen.path == "/fal-ai/flux/dev/image-to-image"
    sent = base64.b64decode(json.loads(seen.body)["image_url"].partition(",")[2])
    with Image.open(io.BytesIO(sent)) as picture:
        assert picture.size == (1280, 720)


@pytest.mark.parametrize("opened_case", ["fal:kontext"], indirect=True)
def test_several_references_go_to_kontext_multi(opened_case: ImageCase, tmp_path: Path) -> None:
    """A reference picture and two character references are sent as image_urls, in order."""
    hero = write_picture(tmp_path / "hero.jpg", 40, 60, "image/jpeg")
    req = replace(
        opened_case.request, reference_image=opened_case.reference, reference_images=(hero, hero)
    )
    provider = opened_case.provider()
    status, _ = run_job(provider, provider.submit(req, "key-1"))
    assert status.state is JobState.SUCCEEDED and status.handle is not None
    provider.download(status.handle, tmp_path / "key.png")
    assert opened(tmp_path / "key.png").size == (1280, 720)
    seen = opened_case.server.seen[0]
    body = json.loads(seen.body)
    assert seen.path == "/fal-ai/flux-pro/kontext/multi" and body["aspect_ratio"] == "16:9"
    assert [u.split(";")[0] for u in body["image_urls"]] == [
        "data:image/png",
        "data:image/jpeg",
        "data:image/jpeg",
    ]
