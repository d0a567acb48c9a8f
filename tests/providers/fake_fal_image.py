"""A fake fal.ai queue serving FLUX image models as their fal pages describe them: the same
queue as the video fake (``FakeFal``), with each endpoint's image input validated (unknown
fields refused, ``image_size`` as ``{width, height}``, ``safety_tolerance`` as a string) and
a result of ``images[{url, width, height, content_type}]`` and ``has_nsfw_concepts``.

A text endpoint makes the ``image_size`` asked (Kontext: about a megapixel at the ratio asked),
image-to-image follows its input's size; ``output_format`` png gives a PNG, else a JPEG."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fake_fal import FakeFal, Request, _is_file_input, fal_error
from fake_images import picture_bytes
from fake_veo import StorageServer
from PIL import Image

COMMON = ("prompt", "seed", "num_images", "sync_mode")
FLUX = (*COMMON, "image_size", "num_inference_steps", "enable_safety_checker", "output_format",
        "acceleration")  # fmt: skip
KONTEXT = (*COMMON, "guidance_scale", "output_format", "safety_tolerance", "enhance_prompt",
           "aspect_ratio")  # fmt: skip
KONTEXT_SIZES = {"21:9": (1568, 672), "16:9": (1392, 784), "4:3": (1184, 880),
                 "3:2": (1248, 832), "1:1": (1024, 1024), "2:3": (832, 1248),
                 "3:4": (880, 1184), "9:16": (784, 1392), "9:21": (672, 1568)}  # fmt: skip


@dataclass(frozen=True)
class ImageSchema:
    """One image endpoint's input."""

    fields: tuple[str, ...]
    image: str | None = None
    """``image_url`` (one picture, required) or ``image_urls`` (a list, required)."""
    steps: tuple[int, int] | None = None
    output: str = "size"
    """How the output's size is decided: ``size`` (image_size), ``input`` or ``ratio``."""


SCHEMAS: dict[str, ImageSchema] = {
    "fal-ai/flux/dev": ImageSchema((*FLUX, "guidance_scale"), steps=(1, 50)),
    "fal-ai/flux/dev/image-to-image": ImageSchema(
        (
            *COMMON,
            "image_url",
            "strength",
            "num_inference_steps",
            "guidance_scale",
            "enable_safety_checker",
        ),
        image="image_url",
        steps=(1, 50),
        output="input",
    ),
    "fal-ai/flux/schnell": ImageSchema(FLUX, steps=(1, 12)),
    "fal-ai/flux-pro/kontext/text-to-image": ImageSchema(KONTEXT, output="ratio"),
    "fal-ai/flux-pro/kontext": ImageSchema((*KONTEXT, "image_url"), "image_url", output="ratio"),
    "fal-ai/flux-pro/kontext/multi": ImageSchema(
        (*KONTEXT, "image_urls"), "image_urls", output="ratio"
    ),
}


class FakeFalImage(FakeFal):
    """The queue at ``url`` with FLUX endpoints; ``cdn`` serves the pictures. ``outcome``
    also takes ``nsfw`` (the safety checker blacks the picture out and flags it)."""

    def __init__(self, clip_dir: Path, cdn: StorageServer) -> None:
        super().__init__(clip_dir, cdn)
        self.schemas = dict(SCHEMAS)

    def _check(self, schema: Any, body: Any) -> dict[str, Any] | None:
        assert isinstance(schema, ImageSchema)
        if not isinstance(body, dict):
            return fal_error("body", "Input should be an object", "model_attributes_type")
        for key in sorted(set(body) - set(schema.fields)):
            return fal_error(key, "Extra inputs are not permitted", "extra_forbidden")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return fal_error("prompt", "Field required", "missing")
        if schema.image and schema.image not in body:
            return fal_error(schema.image, "Field required", "missing")
        pictures = body.get("image_urls", [body["image_url"]] if "image_url" in body else [])
        if not isinstance(pictures, list) or not all(_is_file_input(p) for p in pictures):
            return fal_error(schema.image or "image_url", "Input should be a URL", "url_parsing")
        size = body.get("image_size", {"width": 1024, "height": 768})
        sides = size.values() if isinstance(size, dict) and set(size) == {"width", "height"} else []
        if not sides or not all(isinstance(v, int) and 64 <= v <= 4096 for v in sides):
            return fal_error("image_size", "Input should be an ImageSize or an enum", "union")
        if body.get("aspect_ratio", "1:1") not in KONTEXT_SIZES:
            return fal_error("aspect_ratio", "Input should be a supported ratio", "enum")
        tolerance = body.get("safety_tolerance", "2")
        if tolerance not in ("1", "2", "3", "4", "5", "6"):
            return fal_error("safety_tolerance", "Input should be '1' … '6'", "enum")
        steps = body.get("num_inference_steps", 1)
        low, high = schema.steps or (1, 1)
        if not (isinstance(steps, int) and low <= steps <= high):
            return fal_error("num_inference_steps", f"Input should be {low}-{high}", "range")
        if body.get("num_images", 1) != 1 or not isinstance(body.get("seed", 0), int):
            return fal_error("num_images", "Input should be 1-4", "range")
        return None

    def _output(self, request: Request) -> dict[str, Any]:
        schema = self.schemas[request.endpoint]
        width, height = self._size(schema, request.body)
        mime = "image/png" if request.body.get("output_format") == "png" else "image/jpeg"
        flagged = self.outcome == "nsfw"
        data = _black(width, height, mime) if flagged else picture_bytes(width, height, mime)
        self.cdn.blobs[request.file_id] = data
        image = {"url": f"{self.cdn.url}/files/{request.file_id}", "width": width,
                 "height": height, "content_type": mime}  # fmt: skip
        return {"images": [image], "timings": {"inference": 0.4},
                "seed": request.body.get("seed", 7), "has_nsfw_concepts": [flagged],
                "prompt": request.body["prompt"]}  # fmt: skip

    def _size(self, schema: ImageSchema, body: dict[str, Any]) -> tuple[int, int]:
        if schema.output == "size":
            size = body.get("image_size", {"width": 1024, "height": 768})
            return int(size["width"]), int(size["height"])
        if schema.output == "ratio":
            return KONTEXT_SIZES[body.get("aspect_ratio", "1:1")]
        data = base64.b64decode(body["image_url"].partition(",")[2])
        with Image.open(io.BytesIO(data)) as picture:
            return picture.size


def _black(width: int, height: int, mime: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, format="PNG" if mime == "image/png" else "JPEG")
    return buffer.getvalue()
