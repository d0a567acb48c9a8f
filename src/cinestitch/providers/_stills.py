"""Stills as keyframes need them: a provider's picture (PNG, JPEG or WebP) decoded whole and
written as a PNG of exactly the requested size, and pictures prepared to send inline.

Image models make a few fixed shapes (Gemini's 16:9 at 1K is 1344x768; FLUX rounds sizes to
multiples of 16), so a picture of another size is **scaled to cover** the requested size and
**centre-cropped** to it: the aspect is kept and nothing is letterboxed, because a black bar
would become part of a clip's first frame. A picture that does not decode whole (truncated,
not an image) is refused, never written.

Pillow is imported inside the functions so that loading a manifest stays light.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from cinestitch.errors import GenerationFailedError, MediaError
from cinestitch.providers._images import PreparedImage, prepare_image, within_bytes

SNIFFED = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


def mime_of(data: bytes) -> str | None:
    """The picture type its first bytes announce (PNG, JPEG, WebP), else ``None``."""
    return next((m for magic, m in SNIFFED.items() if data.startswith(magic)), None)


def fit_png(data: bytes, width: int, height: int) -> bytes:
    """``data`` (a picture Pillow reads) as PNG bytes of exactly ``width`` x ``height``,
    scaled to cover and centre-cropped; ``ValueError`` when it is not a whole picture."""
    picture = _decode(data)
    return _encode_png(_cover(picture, (width, height)))


def picture_size(data: bytes) -> tuple[int, int]:
    """The size of a whole picture; ``ValueError`` when it does not decode."""
    size: tuple[int, int] = _decode(data).size
    return size


def write_png(data: bytes, dest: Path, width: int, height: int) -> None:
    """Write ``data`` fitted to the size as a PNG at ``dest`` atomically (whatever its
    suffix); ``MediaError`` when it is not a whole picture."""
    from cinestitch.atomic import atomic_path

    try:
        png = fit_png(data, width, height)
    except ValueError as exc:
        raise MediaError(f"{dest}: {exc}") from None
    with atomic_path(dest) as tmp:
        tmp.write_bytes(png)


def finish_download(path: Path, width: int, height: int) -> None:
    """Rewrite a downloaded picture in place as the PNG wanted; ``MediaError`` when it is
    not a whole picture (the caller fetches it again)."""
    try:
        png = fit_png(path.read_bytes(), width, height)
    except ValueError as exc:
        raise MediaError(f"{path}: {exc}") from None
    path.write_bytes(png)


def prepare_reference(
    path: Path, max_bytes: int, size: tuple[int, int] | None = None
) -> PreparedImage:
    """A reference picture to send inline: as it is (PNG or JPEG), or covered and cropped to
    ``size``; re-encoded smaller when it is above ``max_bytes``."""
    if size is None:
        return within_bytes(prepare_image(path), max_bytes)
    try:
        data = path.read_bytes()
        png = fit_png(data, *size)
    except (OSError, ValueError) as exc:
        raise GenerationFailedError(
            f"reference image {path}: cannot be read — {exc}", no_job=True
        ) from exc
    return within_bytes(PreparedImage(png, "image/png", *size), max_bytes)


def _decode(data: bytes) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            return opened.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        kind = mime_of(data) or "not a picture"
        said = " ".join(str(exc).split()) or type(exc).__name__
        raise ValueError(f"not a whole image ({kind}, {len(data)} bytes: {said})") from None


def _cover(picture: Any, size: tuple[int, int]) -> Any:
    from PIL import Image

    width, height = size
    if picture.size == size:
        return picture
    scale = max(width / picture.width, height / picture.height)
    scaled = (max(width, round(picture.width * scale)), max(height, round(picture.height * scale)))
    resized = picture.resize(scaled, Image.Resampling.LANCZOS)
    left, top = (scaled[0] - width) // 2, (scaled[1] - height) // 2
    return resized.crop((left, top, left + width, top + height))


def _encode_png(picture: Any) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
