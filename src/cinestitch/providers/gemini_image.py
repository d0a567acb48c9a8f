"""Gemini image generation on the Gemini API: ``POST /v1beta/models/{model}:generateContent``.

The call is synchronous: the answer holds the picture (``candidates[0].content.parts[]
.inlineData {mimeType, data}``). So ``submit`` makes the call, checks that the picture decodes
and keeps its bytes in the provider's work dir under the job id; ``poll`` then answers
SUCCEEDED and ``download`` writes it as a PNG of the requested size (scaled to cover and
centre-cropped: ``_stills``). A crash or a lost answer during the call may have been billed,
and the Gemini API cannot be asked about it afterwards (``lookup`` is UNKNOWN).

A refusal is said in words, as a content-policy ``GenerationFailedError``: a blocked prompt
(``promptFeedback.blockReason``; not billed), a candidate stopped for ``SAFETY``,
``PROHIBITED_CONTENT``, ``IMAGE_SAFETY`` and the like, or an answer with no picture (the
model ran: it may have been billed). Parts marked ``thought`` (the interim pictures of the
thinking 3.x models) are skipped. Pure ``build_*`` / ``parse_*`` functions hold the wire
format; ``GeminiImageProvider`` only sends. Sources: ``gemini_image_models``.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinestitch.errors import (
    GenerationFailedError,
    JobNotFoundError,
    MediaError,
    ProviderError,
    ProviderUnavailableError,
)
from cinestitch.providers import _driver, _http, _stills
from cinestitch.providers import gemini_image_models as models
from cinestitch.providers._gemini import API_VERSION, GeminiApi, refuses_key
from cinestitch.providers._gemini import api_root as api_root
from cinestitch.providers._images import PreparedImage
from cinestitch.providers.base import (
    GenerationRequest,
    JobHandle,
    JobState,
    JobStatus,
    LookupResult,
)
from cinestitch.providers.gemini_image_models import GeminiImageModel

POLICY_REASONS = (
    "SAFETY",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "RECITATION",
    "IMAGE_RECITATION",
)
"""Finish and block reasons that mean the content was refused."""
IMAGES_DIR = "images"
_SAFE_ID = re.compile(r"[A-Za-z0-9_.-]+")


# -- pure: requests --------------------------------------------------------------------------


def build_generate_url(root: str, model: str) -> str:
    return f"{root}/{API_VERSION}/models/{model}:generateContent"


@dataclass(frozen=True)
class Shape:
    """What the model is asked to make: an aspect ratio at a size tier, and its pixels."""

    ratio: str
    tier: str | None
    width: int
    height: int


def shape_of(m: GeminiImageModel, request: GenerationRequest) -> Shape:
    ratio = models.pick_ratio(m, request.width, request.height, request.options)
    tier = models.pick_tier(m, ratio, request.width, request.height, request.options)
    return Shape(ratio, tier, *models.size_at(m, ratio, tier))


def build_generate_body(
    request: GenerationRequest, shape: Shape, images: tuple[PreparedImage, ...] = ()
) -> dict[str, Any]:
    """The ``generateContent`` JSON: the prompt, then the pictures inline (the reference
    first, then the character and object references)."""
    parts: list[dict[str, Any]] = [{"text": request.prompt}]
    parts += [{"inlineData": {"mimeType": i.mime_type, "data": i.base64}} for i in images]
    image_config: dict[str, str] = {"aspectRatio": shape.ratio}
    if shape.tier is not None:
        image_config["imageSize"] = shape.tier
    config: dict[str, Any] = {
        "responseModalities": ["IMAGE"],
        "imageConfig": image_config,
        "seed": request.seed,
    }
    return {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}


# -- pure: responses -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A ``generateContent`` answer, as far as a picture needs it."""

    image: bytes | None
    mime_type: str | None
    block_reason: str | None = None
    """``promptFeedback.blockReason``: the prompt was refused before anything was made."""
    finish_reason: str | None = None
    said: str | None = None
    """The model's own words: ``finishMessage``, the block message, or text it wrote."""
    response_id: str | None = None


def parse_answer(data: Any) -> Answer:
    """The picture of an answer (the last one not marked ``thought``), or why there is none;
    ``ValueError`` when it is not an answer or its picture is not base64."""
    if not isinstance(data, Mapping):
        raise ValueError("the answer is not a JSON object")
    response_id = data.get("responseId") if isinstance(data.get("responseId"), str) else None
    feedback = data.get("promptFeedback")
    block = feedback.get("blockReason") if isinstance(feedback, Mapping) else None
    candidates = data.get("candidates")
    if block or not isinstance(candidates, list) or not candidates:
        said = feedback.get("blockReasonMessage") if isinstance(feedback, Mapping) else None
        return Answer(None, None, str(block) if block else None, None, _text(said), response_id)
    first = candidates[0] if isinstance(candidates[0], Mapping) else {}
    content = first.get("content") if isinstance(first.get("content"), Mapping) else {}
    parts = content.get("parts") if isinstance(content, Mapping) else None
    image, mime, words = _picture(parts if isinstance(parts, list) else [])
    finish = first.get("finishReason")
    said = _text(first.get("finishMessage")) or words
    return Answer(image, mime, None, str(finish) if finish else None, said, response_id)


def _picture(parts: list[Any]) -> tuple[bytes | None, str | None, str | None]:
    image: bytes | None = None
    mime: str | None = None
    words = []
    for part in parts:
        if not isinstance(part, Mapping) or part.get("thought"):
            continue
        if isinstance(part.get("text"), str):
            words.append(part["text"])
        inline = part.get("inlineData") or part.get("inline_data")
        if isinstance(inline, Mapping) and isinstance(inline.get("data"), str):
            try:
                image = base64.b64decode(inline["data"], validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("the picture in the answer is not base64") from None
            kind = inline.get("mimeType") or inline.get("mime_type")
            mime = str(kind) if kind else None
    return image, mime, _text(" ".join(words))


def _text(value: Any) -> str | None:
    return _http.one_line(value, 200) if isinstance(value, str) and value.strip() else None


def refusal_text(answer: Answer) -> str | None:
    """Why an answer has no picture, in words; ``None`` when it has one."""
    if answer.image is not None:
        return None
    said = f": {answer.said}" if answer.said else ""
    if answer.block_reason:
        return (
            f"gemini-image rejected the prompt (content policy: blocked for "
            f"{answer.block_reason}{said}) — edit the prompt or the reference images; not billed"
        )
    reason = answer.finish_reason or "no reason given"
    if reason.upper() in POLICY_REASONS:
        return (
            f"gemini-image refused the picture (content policy: {reason}{said}) — edit the "
            "prompt or the reference images; it may have been billed"
        )
    return (
        f"gemini-image answered without a picture (content policy or a refusal: finish "
        f"reason {reason}{said}) — edit the prompt; it may have been billed"
    )


# -- the driver ------------------------------------------------------------------------------


class GeminiImageProvider(GeminiApi, _driver.HttpDriver):
    """Gemini image models on the Gemini API; ``transport`` says where and how."""

    name = models.NAME
    default_key_env = models.KEY_ENV

    def submit(self, request: GenerationRequest, idempotency_key: str) -> JobHandle:
        """Make the picture (the call that is paid) and keep it under a new job id."""
        if request.kind != "image":
            raise GenerationFailedError(
                "gemini-image makes stills, not clips — name it for keyframes only", no_job=True
            )
        m = models.model_of(request.model)
        images = self._images(m, request)
        shape = shape_of(m, request)
        data, _ = self._api.send_json(
            "POST",
            build_generate_url(self.root, request.model),
            what="generation",
            create=True,
            json=build_generate_body(request, shape, images),
            on_status=self._create_status(request.model),
        )
        try:
            answer = parse_answer(data)
        except ValueError as exc:
            raise self._unusable(str(exc)) from None
        refused = refusal_text(answer)
        if refused is not None:
            billed = answer.block_reason is None
            raise GenerationFailedError(refused, no_job=True, may_be_billed=billed)
        assert answer.image is not None
        try:
            made = _stills.picture_size(answer.image)
        except ValueError as exc:
            raise self._unusable(str(exc)) from None
        job_id = f"gi-{uuid.uuid4().hex[:16]}"
        self._keep(job_id, answer.image)
        state: dict[str, Any] = {
            "file": f"{job_id}.img",
            "mime_type": _stills.mime_of(answer.image) or answer.mime_type,
            "width": request.width,
            "height": request.height,
            "made": f"{made[0]}x{made[1]}",
            "submitted_at": time.time(),
        }
        if answer.response_id:
            state["response_id"] = answer.response_id
        return JobHandle(self.name, job_id, state)

    def poll(self, handle: JobHandle) -> JobStatus:
        """SUCCEEDED when the picture is kept here; a job whose picture is not here (made
        in another clone, or the work dir was cleaned) cannot be resumed."""
        self._kept(handle)
        return JobStatus(handle.job_id, JobState.SUCCEEDED, 1.0)

    def download(self, handle: JobHandle, dest: Path) -> None:
        """Write the kept picture at ``dest`` as a PNG of the requested size (scaled to cover
        it and centre-cropped), atomically."""
        path = self._kept(handle)
        width, height = int(handle.state["width"]), int(handle.state["height"])
        try:
            _stills.write_png(path.read_bytes(), dest, width, height)
        except MediaError as exc:
            raise GenerationFailedError(
                f"gemini-image: the kept picture of job {handle.job_id} is damaged ({exc}) — "
                "it was paid for; delete it and run again with CINESTITCH_RESUBMIT=1",
                may_be_billed=True,
            ) from None

    def cancel(self, handle: JobHandle) -> None:
        """Nothing to stop: the call ends with the picture."""

    def lookup(self, idempotency_key: str) -> JobHandle | LookupResult:
        """The Gemini API keeps no record of a call to be asked for."""
        return LookupResult.UNKNOWN

    # -- helpers -------------------------------------------------------------------------

    def _images(self, m: GeminiImageModel, request: GenerationRequest) -> tuple[PreparedImage, ...]:
        paths = ([request.reference_image] if request.reference_image else []) + list(
            request.reference_images
        )
        if len(paths) > m.max_references:
            raise GenerationFailedError(
                f"gemini-image: {len(paths)} input images; {m.name} takes {m.max_references} — "
                "give the keyframe fewer references",
                no_job=True,
            )
        return tuple(_stills.prepare_reference(p, models.MAX_IMAGE_BYTES) for p in paths)

    def _dir(self) -> Path:
        return self.work_dir / IMAGES_DIR

    def _keep(self, job_id: str, data: bytes) -> None:
        from cinestitch.atomic import atomic_path

        try:
            with atomic_path(self._dir() / f"{job_id}.img") as tmp:
                tmp.write_bytes(data)
        except OSError as exc:
            raise ProviderError(
                f"gemini-image: the picture was made (and billed) but cannot be kept in "
                f"{self._dir()} ({exc.strerror or exc}) — free space or fix permissions",
                may_be_billed=True,
            ) from None

    def _kept(self, handle: JobHandle) -> Path:
        name = handle.state.get("file")
        path = self._dir() / name if isinstance(name, str) and _SAFE_ID.fullmatch(name) else None
        if path is None or not path.is_file() or "width" not in handle.state:
            raise JobNotFoundError(
                f"gemini-image: job {handle.job_id} is not found in {self._dir()} (made in "
                "another clone, or the folder was cleaned) — it was paid for; run again with "
                "CINESTITCH_RESUBMIT=1 to make it again",
                may_be_billed=True,
            )
        return path

    def _unusable(self, why: str) -> ProviderUnavailableError:
        return ProviderUnavailableError(
            f"gemini-image: the answer has no usable picture ({why}) — it may have been "
            "billed; check the Gemini API console before running again",
            may_be_billed=True,
        )

    def _create_status(self, model: str) -> _http.StatusHook:
        def hook(status: int, said: str) -> ProviderError | None:
            if status == 404:
                return ProviderError(
                    f"gemini-image: no model '{model}' here, or it is retired (HTTP 404: "
                    f"{said}) — use one of {', '.join(models.MODELS)}, or check "
                    "provider.base_url",
                    no_job=True,
                )
            if refuses_key(status, said):
                return ProviderError(
                    f"gemini-image: the key was refused (HTTP 400: {said}) — check {self.key_env}",
                    no_job=True,
                )
            return None

        return hook
