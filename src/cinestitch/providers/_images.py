"""Reference images as providers want them: bytes of a known type, optionally letterboxed to
exactly the requested size (OpenAI-shape APIs refuse a reference of another size).

Pillow is imported inside the functions so that loading a manifest stays light.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

from cinestitch.errors import GenerationFailedError

PASS_THROUGH = {"PNG": "image/png", "JPEG": "image/jpeg"}


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    mime_type: str
    width: int
    height: int

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    @property
    def data_uri(self) -> str:
        return f"data:{self.mime_type};base64,{self.base64}"

    @property
    def filename(self) -> str:
        return "reference." + self.mime_type.split("/")[-1].replace("jpeg", "jpg")


def prepare_image(path: Path, size: tuple[int, int] | None = None) -> PreparedImage:
    """The image at ``path`` as PNG or JPEG bytes; with ``size``, fitted inside it (aspect kept)
    and letterboxed with black to exactly that size."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            kind = image.format or ""
            if size is None or image.size == size:
                if kind in PASS_THROUGH:
                    data = path.read_bytes()
                    return PreparedImage(data, PASS_THROUGH[kind], *image.size)
                return _png(image.convert("RGB"))
            return _png(_letterbox(image.convert("RGB"), size))
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise GenerationFailedError(
            f"reference image {path}: cannot be read — {exc}", no_job=True
        ) from exc


def within_bytes(image: PreparedImage, max_bytes: int) -> PreparedImage:
    """``image`` if it is at most ``max_bytes``, else re-encoded as JPEG (and halved in size
    until it fits): data URIs have byte limits (Runway 5 MB, fal models 10-20 MB)."""
    if len(image.data) <= max_bytes:
        return image
    from PIL import Image

    with Image.open(io.BytesIO(image.data)) as opened:
        picture = opened.convert("RGB")
    while True:
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=90)
        if buffer.tell() <= max_bytes or min(picture.size) <= 16:
            return PreparedImage(buffer.getvalue(), "image/jpeg", picture.width, picture.height)
        half = (max(1, picture.width // 2), max(1, picture.height // 2))
        picture = picture.resize(half, Image.Resampling.LANCZOS)


def _letterbox(image: object, size: tuple[int, int]) -> object:
    from PIL import Image

    assert isinstance(image, Image.Image)
    width, height = size
    scale = min(width / image.width, height / image.height)
    fitted = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    resized = image.resize(fitted, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", size)
    canvas.paste(resized, ((width - fitted[0]) // 2, (height - fitted[1]) // 2))
    return canvas


def _png(image: object) -> PreparedImage:
    from PIL import Image

    assert isinstance(image, Image.Image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return PreparedImage(buffer.getvalue(), "image/png", image.width, image.height)
