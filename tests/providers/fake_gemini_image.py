"""A fake Gemini API serving image generation as Google documents it: a synchronous
``POST /v1beta/models/{model}:generateContent`` whose answer holds the picture inline.

It validates the request as the real one does (``contents[].parts`` with ``text`` and
``inlineData``, ``responseModalities`` with ``IMAGE``, ``imageConfig.aspectRatio`` among the
model's ratios, ``imageSize`` only where the model takes one, a limit of input pictures) and
refuses a bad key with 400 ``API key not valid`` like the real API. The thinking 3.x models
answer with an interim ``thought`` picture before the final one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fake_http import KEY, FakeJobServer, Seen
from fake_images import picture_bytes
from fake_veo import checked_body, google_error

Answer = tuple[int, dict[str, str], Any]
GENERATE = re.compile(r"/v1beta/models/([^/:]+):generateContent")
RATIOS_25 = {"1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184),
             "4:3": (1184, 864), "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344),
             "16:9": (1344, 768), "21:9": (1536, 672)}  # fmt: skip
RATIOS_3 = {"1:1": (1024, 1024), "2:3": (848, 1264), "3:2": (1264, 848), "3:4": (896, 1200),
            "4:3": (1200, 896), "4:5": (928, 1152), "5:4": (1152, 928), "9:16": (768, 1376),
            "16:9": (1376, 768), "21:9": (1584, 672)}  # fmt: skip
SCALE = {"512": 0.5, "1K": 1.0, "2K": 2.0, "4K": 4.0}
MODELS: dict[str, tuple[dict[str, tuple[int, int]], tuple[str, ...], int]] = {
    "gemini-2.5-flash-image": (RATIOS_25, (), 3),
    "gemini-3.1-flash-image": (RATIOS_3, ("512", "1K", "2K", "4K"), 14),
    "gemini-3-pro-image": (RATIOS_3, ("1K", "2K", "4K"), 14),
}
"""model -> (aspect ratio -> 1K size, the imageSize values it takes, input pictures)."""
THOUGHT = (40, 200, 40)


class FakeGeminiImage(FakeJobServer):
    """Gemini API ``v1beta`` image generation; ``outcome`` decides how a generation ends:
    ``ok``, ``blocked`` (promptFeedback.blockReason), ``policy`` (finishReason IMAGE_SAFETY),
    ``failed`` (finishReason OTHER, no picture), ``text_only`` (the model wrote words
    instead), ``not_image`` (inline bytes that are no picture). The answer is the picture:
    nothing is polled, and ``submissions`` counts the generations the model ran."""

    def __init__(self, clip_dir: Path) -> None:
        super().__init__(clip_dir)
        self.output_mime = "image/png"
        self.last_body: dict[str, Any] = {}

    def route(self, seen: Seen) -> tuple[str, Callable[[], Answer]]:
        if seen.headers.get("x-goog-api-key") != KEY:
            error = google_error(400, "INVALID_ARGUMENT",
                                 "API key not valid. Please pass a valid API key.",
                                 "API_KEY_INVALID")  # fmt: skip
            return "auth", lambda: (400, {}, error)
        if seen.method == "POST" and (m := GENERATE.fullmatch(seen.path)):
            return "create", lambda: self._generate(m.group(1), seen)
        return "other", lambda: (404, {}, google_error(404, "NOT_FOUND", "Not found."))

    def _generate(self, model: str, seen: Seen) -> Answer:
        if self.retired or model not in MODELS:
            message = f"models/{model} is not found for API version v1beta, or is not supported"
            return 404, {}, google_error(404, "NOT_FOUND", message)
        body, refused = checked_body(seen, lambda b: self._check(model, b))
        if refused is not None:
            return refused
        self.last_body = body
        self.submissions += 1
        return 200, {}, self._answer(model, body)

    def _check(self, model: str, body: Any) -> str | None:
        ratios, tiers, max_pictures = MODELS[model]
        contents = body.get("contents") if isinstance(body, dict) else None
        if not isinstance(contents, list) or len(contents) != 1:
            return "contents must hold one turn"
        parts = contents[0].get("parts") if isinstance(contents[0], dict) else None
        if not isinstance(parts, list) or not parts:
            return "contents[0].parts is required"
        texts = [p["text"] for p in parts if isinstance(p.get("text"), str)]
        if not texts or not all(t.strip() for t in texts):
            return "contents[0].parts[0].text must not be empty"
        pictures = [p["inlineData"] for p in parts if "inlineData" in p]
        if len(pictures) > max_pictures:
            return f"{model} takes at most {max_pictures} input images"
        for picture in pictures:
            if set(picture) != {"mimeType", "data"}:
                return "inlineData must have mimeType and data"
            if picture["mimeType"] not in ("image/png", "image/jpeg", "image/webp"):
                return f"inlineData.mimeType {picture['mimeType']} is not supported"
            try:
                base64.b64decode(picture["data"], validate=True)
            except (binascii.Error, ValueError):
                return "inlineData.data is not base64"
        config = body.get("generationConfig") or {}
        if "IMAGE" not in (config.get("responseModalities") or []):
            return "responseModalities must include IMAGE for an image model"
        image = config.get("imageConfig") or {}
        if image.get("aspectRatio", "1:1") not in ratios:
            return f"imageConfig.aspectRatio {image.get('aspectRatio')} is not supported"
        if "imageSize" in image and (not tiers or image["imageSize"] not in tiers):
            return f"imageConfig.imageSize is not supported by {model}"
        if "seed" in config and not isinstance(config["seed"], int):
            return "generationConfig.seed must be an integer"
        return None

    def _answer(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        usage = {"promptTokenCount": 12, "candidatesTokenCount": 1290}
        base = {"modelVersion": model, "responseId": uuid.uuid4().hex[:20], "usageMetadata": usage}
        if self.outcome == "blocked":
            return {**base, "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}
        if self.outcome in ("policy", "failed"):
            reason = "IMAGE_SAFETY" if self.outcome == "policy" else "OTHER"
            message = "Unable to show the generated image: it failed the safety check."
            candidate: dict[str, Any] = {"finishReason": reason, "index": 0}
            if self.outcome == "policy":
                candidate["finishMessage"] = message
            return {**base, "candidates": [candidate]}
        parts: list[dict[str, Any]] = []
        if self.outcome == "text_only":
            parts.append({"text": "I can't make that picture."})
        else:
            width, height = self._size(model, body)
            data = picture_bytes(width, height, self.output_mime)
            if self.outcome == "not_image":
                data = b"<html>Service busy</html>"
            if MODELS[model][1]:  # the thinking models show an interim picture first
                thought = _solid(width // 4, height // 4)
                parts.append({"inlineData": {"mimeType": "image/png", "data": thought},
                              "thought": True})  # fmt: skip
            encoded = base64.b64encode(data).decode()
            parts.append({"inlineData": {"mimeType": self.output_mime, "data": encoded}})
        content = {"role": "model", "parts": parts}
        return {**base, "candidates": [{"content": content, "finishReason": "STOP", "index": 0}]}

    def _size(self, model: str, body: dict[str, Any]) -> tuple[int, int]:
        ratios = MODELS[model][0]
        image = body.get("generationConfig", {}).get("imageConfig", {})
        width, height = ratios[image.get("aspectRatio", "1:1")]
        scale = SCALE[image.get("imageSize", "1K")]
        return round(width * scale), round(height * scale)

    def video_bytes(self, route: str) -> bytes:
        """What a truncated answer is cut from: a whole answer's JSON."""
        return json.dumps(self._answer("gemini-2.5-flash-image", {})).encode()


def _solid(width: int, height: int) -> str:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), THOUGHT).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
