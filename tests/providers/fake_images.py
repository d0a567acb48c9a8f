"""Real pictures for the image fakes, made with Pillow: a left half and a right half of
different colours (so a crop that is not centred shows), in PNG, JPEG or WebP.

Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

from PIL import Image

LEFT = (220, 40, 40)
RIGHT = (40, 40, 220)
FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


@functools.cache
def picture_bytes(width: int, height: int, mime: str = "image/png") -> bytes:
    """A ``width`` x ``height`` picture, red on the left half and blue on the right."""
    picture = Image.new("RGB", (width, height), LEFT)
    picture.paste(RIGHT, (width // 2, 0, width, height))
    buffer = io.BytesIO()
    picture.save(buffer, format=FORMATS[mime])
    return buffer.getvalue()


def write_picture(path: Path, width: int, height: int, mime: str = "image/png") -> Path:
    path.write_bytes(picture_bytes(width, height, mime))
    return path


def opened(path: Path) -> Image.Image:
    """The picture at ``path``, fully decoded (its format kept in ``.format``)."""
    with Image.open(path) as image:
        image.load()
        copy = image.copy()
        copy.format = image.format
        return copy
