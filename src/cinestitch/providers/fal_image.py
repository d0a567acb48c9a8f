"""FLUX stills on fal.ai's queue: the same queue driver as fal's video models (``fal_queue``).

A keyframe without pictures goes to the model's text-to-image endpoint, one with a reference
picture to its image endpoint (``image_url``, sent inline as a data URI), one with several to
its multi endpoint (``image_urls``). The result is ``images[0].url`` on fal's CDN (fetched
without our key); ``has_nsfw_concepts[0]`` true means fal's safety checker blacked the
picture out: a content-policy failure, said in words. ``download`` writes the picture as a PNG
of the requested size (scaled to cover it and centre-cropped: ``_stills``); a truncated or
non-image download is fetched again. Sources: ``fal_image_models``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinestitch.errors import GenerationFailedError, JobNotFoundError
from cinestitch.providers import _driver, _stills
from cinestitch.providers import fal_image_models as models
from cinestitch.providers._images import PreparedImage
from cinestitch.providers.base import (
    GenerationRequest,
    JobHandle,
    JobStatus,
)
from cinestitch.providers.fal_image_models import FalImageModel
from cinestitch.providers.fal_queue import FalDriver, is_url

MAX_IMAGE_DOWNLOAD = 64 * 1024 * 1024


# -- pure: requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRoute:
    """Where one keyframe goes, and how its pictures are sent there."""

    endpoint: str
    pictures: int
    """0: text only; 1: ``image_url``; more: ``image_urls``."""


def pictures_of(request: GenerationRequest) -> tuple[Path, ...]:
    """The reference picture first, then the character and object references."""
    first = (request.reference_image,) if request.reference_image is not None else ()
    return (*first, *request.reference_images)


def route_of(m: FalImageModel, request: GenerationRequest) -> ImageRoute:
    """The endpoint for ``request``; ``ValueError`` when the model cannot take its pictures."""
    count = len(pictures_of(request))
    if count == 0:
        return ImageRoute(m.endpoint, 0)
    if m.image_endpoint is None:
        raise ValueError(f"{m.endpoint} takes no reference picture")
    if count > m.max_pictures:
        raise ValueError(f"{count} pictures given; {m.endpoint} takes {m.max_pictures}")
    if count > 1 and m.multi_endpoint is not None:
        return ImageRoute(m.multi_endpoint, count)
    return ImageRoute(m.image_endpoint, count)


def build_input(
    m: FalImageModel,
    route: ImageRoute,
    request: GenerationRequest,
    pictures: tuple[PreparedImage, ...] = (),
) -> dict[str, Any]:
    """The model's JSON input for one keyframe (pictures already prepared)."""
    options = request.options
    body: dict[str, Any] = {"prompt": request.prompt, "num_images": 1, "seed": request.seed}
    if route.pictures == 1 and pictures:
        body["image_url"] = pictures[0].data_uri
    elif route.pictures > 1:
        body["image_urls"] = [p.data_uri for p in pictures]
    with_image = route.pictures > 0
    if m.sized and (not with_image or m.image_sized):
        width, height = models.request_size(m, request.width, request.height)
        body["image_size"] = {"width": width, "height": height}
    if m.aspect_ratios and (m.ratio_with_image or not with_image):
        body["aspect_ratio"] = models.pick_aspect(m, request.width, request.height, options)
    if m.output_format and not (with_image and m.sized):
        body["output_format"] = "png"
    for name, (wire, _, _) in m.numbers.items():
        if name in options and (with_image or name not in m.image_only):
            body[wire] = _wire_number(name, options[name], m)
    for name, wire in m.flags.items():
        if isinstance(options.get(name), bool):
            body[wire] = options[name]
    return body


def _wire_number(name: str, value: Any, m: FalImageModel) -> Any:
    if name == "safety_tolerance":
        return str(int(value))
    return int(value) if name in m.integers else value


# -- pure: responses -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageResult:
    url: str | None
    flagged: bool
    """fal's safety checker found NSFW concepts (the picture is black)."""


def parse_image_result(data: Any) -> ImageResult:
    """``images[0].url`` of a result (``image.url`` in some schemas) and its NSFW flag."""
    if not isinstance(data, Mapping):
        return ImageResult(None, False)
    images = data.get("images")
    image = images[0] if isinstance(images, list) and images else data.get("image")
    url = image.get("url") if isinstance(image, Mapping) else None
    flags = data.get("has_nsfw_concepts")
    flagged = isinstance(flags, list) and bool(flags) and flags[0] is True
    return ImageResult(url if is_url(url) else None, flagged)


def result_url(data: Any) -> str:
    """The finished request's picture URL; ``GenerationFailedError`` when it has none or the
    safety checker blacked it out."""
    result = parse_image_result(data)
    if result.flagged:
        raise GenerationFailedError(
            "fal rejected the picture (content policy: its safety checker found NSFW concepts "
            "and blacked it out) — edit the prompt or the reference pictures; it was billed",
            may_be_billed=True,
        )
    if result.url is None:
        raise GenerationFailedError(
            "fal finished the request without a picture — try again, or change the prompt",
            may_be_billed=True,
        )
    return result.url


def _image_outcome(handle: JobHandle, result: Any) -> JobHandle:
    return handle.with_state(image_url=result_url(result))


# -- the driver ------------------------------------------------------------------------------


class FalImageProvider(FalDriver):
    """FLUX image models on fal.ai's queue; ``transport`` says where and how."""

    name = models.NAME

    def submit(self, request: GenerationRequest, idempotency_key: str) -> JobHandle:
        if request.kind != "image":
            raise GenerationFailedError(
                "fal-image makes stills, not clips — name it for keyframes only", no_job=True
            )
        m = _driver.model_in(models.MODELS, self.name, request.model)
        try:
            route = route_of(m, request)
        except ValueError as exc:
            raise GenerationFailedError(
                f"fal-image: {exc} — change the keyframe's references", no_job=True
            ) from None
        # where the output follows the input's size, the reference is sent at the keyframe's
        follows = m.sized and not m.image_sized
        size = models.request_size(m, request.width, request.height) if follows else None
        pictures = tuple(
            _stills.prepare_reference(p, m.max_image_bytes, size) for p in pictures_of(request)
        )
        body = build_input(m, route, request, pictures)
        state = {"width": request.width, "height": request.height}
        return self._queue.submit(route.endpoint, body, state)

    def poll(self, handle: JobHandle) -> JobStatus:
        return self._queue.poll(handle, _image_outcome)

    def download(self, handle: JobHandle, dest: Path) -> None:
        """Write the picture at ``dest`` as a PNG of the requested size (scaled to cover it
        and centre-cropped), atomically; a damaged download is fetched again."""
        width, height = handle.state.get("width"), handle.state.get("height")
        if not (isinstance(width, int) and isinstance(height, int)):
            raise JobNotFoundError(
                f"fal-image: job {handle.job_id} has no size in its record — it cannot be "
                "downloaded; it may have been billed",
                may_be_billed=True,
            )
        url = handle.state.get("image_url")
        if not isinstance(url, str):
            url = result_url(self._queue.result(handle))

        def check(path: Path) -> None:
            _stills.finish_download(path, width, height)

        self._api.download(url, dest, expected_seconds=None, limit=MAX_IMAGE_DOWNLOAD, check=check)
