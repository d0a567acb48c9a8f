"""Open every reference image, end frame, keyframe and character picture, and the music,
before anything is paid.

A ``.png`` that is text, a truncated image or a music file with no sound would otherwise
fail in the middle of a build, after segments were generated and billed. Each file is
opened and decoded (an image fully, the music up to its first sound) and a problem names
it as the manifest does, relative to the project. Pillow and PyAV are imported only here,
when a project has such files, so loading a manifest stays light.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path

from cinestitch.errors import MediaError, Problem
from cinestitch.manifest.checks import problem_at, resolve_inside
from cinestitch.manifest.document import KeyPath, YamlDocument
from cinestitch.manifest.model import Project

MAX_IMAGE_PIXELS = 40_000_000
"""A reference image's size (8K is 33 megapixels); decoding one costs 3 bytes a pixel."""
IMAGE_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP"}


def check_assets(project: Project, doc: YamlDocument) -> list[Problem]:
    """A problem for each reference image or music file that exists in the project but
    cannot be used (paths that do not exist or leave the project are ``checks``' to say)."""
    problems: list[Problem] = []
    verdicts: dict[Path, str | None] = {}
    for s in project.segments:
        if s.reference.kind == "image" and s.reference.value:
            key: KeyPath = ("segments", s.index, "reference")
            problems += _check(project.root, s.reference.value, doc, key, image_problem, verdicts)
        if s.end_frame:
            key = ("segments", s.index, "end_frame")
            problems += _check(project.root, s.end_frame, doc, key, image_problem, verdicts)
    for k in project.keyframes:
        if k.image and _named_as_image(k.image):
            key = ("keyframes", k.index, "image")
            problems += _check(project.root, k.image, doc, key, image_problem, verdicts)
    for c in project.characters:
        for n, picture in enumerate(c.images):
            if _named_as_image(picture):  # another name is reported as such by the checks
                key = ("characters", c.index, "images", n)
                problems += _check(project.root, picture, doc, key, image_problem, verdicts)
    if project.audio is not None and project.audio.music:
        key = ("audio", "music")
        problems += _check(project.root, project.audio.music, doc, key, music_problem, verdicts)
    return problems


def _named_as_image(value: str) -> bool:
    return value.lower().endswith((".png", ".jpg", ".jpeg", ".webp"))


def _check(
    root: Path,
    value: str,
    doc: YamlDocument,
    key: KeyPath,
    judge: Callable[[Path], str | None],
    verdicts: dict[Path, str | None],
) -> list[Problem]:
    path = resolve_inside(root, value)
    if path is None or not path.is_file():
        return []
    if path not in verdicts:
        verdicts[path] = _without_paths(judge(path), (path, root / value), value)
    verdict = verdicts[path]
    return [] if verdict is None else [problem_at(doc, key, f"'{value}' {verdict}")]


def _without_paths(message: str | None, paths: tuple[Path, ...], shown: str) -> str | None:
    """Library messages name the file by its absolute path (and errno); the problem names
    it once, as the manifest writes it."""
    if message is None:
        return None
    for path in paths:
        for spelled in (f": {str(path)!r}", f"{path}: ", repr(str(path)), str(path)):
            message = message.replace(spelled, "")
    return re.sub(r"\[Errno -?\d+\] ", "", message)


def image_problem(path: Path) -> str | None:
    """What keeps ``path`` from being a reference image, or ``None``: it must be a PNG,
    JPEG or WebP of at most ``MAX_IMAGE_PIXELS`` that decodes to its last row."""
    from PIL import Image, UnidentifiedImageError

    fix = "replace it with a PNG, JPEG or WebP image"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height, kind = image.width, image.height, image.format or "?"
                if kind not in IMAGE_FORMATS:
                    return f"is a {kind} image, not PNG, JPEG or WebP — convert it"
                if width * height > MAX_IMAGE_PIXELS:
                    return _too_large(width, height)
                image.verify()
            with Image.open(path) as image:
                image.load()
    except Image.DecompressionBombError:
        return _too_large(None, None)
    except UnidentifiedImageError:
        return f"is not an image — {fix}"
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        return f"is damaged ({exc}) — {fix}"
    return None


def _too_large(width: int | None, height: int | None) -> str:
    size = f"{width}x{height}" if width is not None else "too large"
    limit = MAX_IMAGE_PIXELS // 1_000_000
    return f"is {size}; a reference image may have at most {limit} megapixels — scale it down"


def music_problem(path: Path) -> str | None:
    """What keeps ``path`` from being the music bed, or ``None``: it must open, have an
    audio stream and decode some sound."""
    from cinestitch.media.container import audio_stream, open_input

    fix = "use an audio file (wav, ogg, mp3, m4a, flac, …)"
    try:
        with open_input(path, "audio file") as container:
            stream = audio_stream(container)
            if stream is None:
                return f"has no sound in it — {fix}"
            if next(iter(container.decode(stream)), None) is None:
                return f"has an audio stream but no sound decodes — {fix}"
    except MediaError as exc:
        return f"is not a readable audio file ({_reason(str(exc))}) — {fix}"
    return None


def _reason(message: str) -> str:
    """``/abs/x.ogg: not a readable audio file — why`` -> ``why``."""
    return message.rpartition(" — ")[2] or message
