"""The storyboard's thumbnails: the first, middle and last frame of each take, and the
reference images, as small JPEGs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from cinestitch.media.probe import probe_clip
from cinestitch.media.stills import frames_at, image_thumbnail, write_thumbnail


class Wanted(Protocol):
    """A thumbnail to make (``storyboard.Picture``)."""

    @property
    def source(self) -> Path: ...
    @property
    def frame(self) -> str | None: ...
    @property
    def name(self) -> str: ...


def make_pictures(wanted: Sequence[Wanted], folder: Path) -> None:
    """Write each wanted thumbnail into ``folder``, decoding each clip once."""
    folder.mkdir(parents=True, exist_ok=True)
    by_clip: dict[Path, list[Wanted]] = {}
    for w in wanted:
        if w.frame is None:
            image_thumbnail(w.source, folder / w.name)
        else:
            by_clip.setdefault(w.source, []).append(w)
    for clip, pictures in by_clip.items():
        count = probe_clip(clip).frame_count
        where = {"first": 0, "middle": count // 2, "last": count - 1}
        frames = frames_at(clip, [where[p.frame or "first"] for p in pictures])
        for p, frame in zip(pictures, frames, strict=True):
            write_thumbnail(frame, folder / p.name)
