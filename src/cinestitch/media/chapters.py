"""Chapters in an MP4, and reading them back.

The stitch writes them as it muxes its output (``chapter_marks`` is what its output
container is given), so a restitch costs no second pass over the video. A new chapter title
alone is written by ``write_chapters``: the stitched video's packets copied into a new file
that carries the new chapters, so only the container is rewritten (no seam is encoded
again). FFmpeg's MP4 muxer stores chapters twice, as a Nero ``chpl`` box and as a QuickTime
chapter text track (the one Apple's players read); the text track shows up as a third, data
stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from cinestitch.atomic import atomic_path
from cinestitch.chapters import Chapter
from cinestitch.errors import MediaError
from cinestitch.media.container import open_input, open_mp4_output

CHAPTER_BASE = Fraction(1, 1000)
"""MP4 chapters are kept in milliseconds."""


@dataclass(frozen=True)
class StoredChapter:
    """A chapter as a file holds it."""

    title: str
    start: float
    end: float


def chapter_marks(chapters: Sequence[Chapter]) -> list[dict[str, Any]]:
    """``chapters`` as PyAV's ``set_chapters`` takes them (in milliseconds)."""
    return [
        {
            "id": n,
            "start": c.start_ms,
            "end": c.end_ms,
            "time_base": CHAPTER_BASE,
            "metadata": {"title": c.title},
        }
        for n, c in enumerate(chapters, start=1)
    ]


def write_chapters(video: Path, chapters: Sequence[Chapter]) -> None:
    """Replace ``video`` (atomically) by a copy of its picture and sound with ``chapters``."""
    marks = chapter_marks(chapters)
    with open_input(video) as source, atomic_path(video) as tmp:
        streams = [s for s in source.streams if s.type in ("video", "audio")]
        try:
            with open_mp4_output(tmp) as out:
                copies: dict[int, Any] = {}
                for stream in streams:
                    copy = out.add_stream_from_template(stream)
                    copy.time_base = stream.time_base
                    copies[stream.index] = copy
                out.set_chapters(marks)
                for packet in source.demux(streams):
                    if packet.dts is None:
                        continue  # the demuxer's end-of-stream marker
                    packet.stream = copies[packet.stream.index]
                    out.mux(packet)
        except av.FFmpegError as exc:
            raise MediaError(f"{video}: cannot write its chapters — {exc}") from exc


def retitled(
    stored: Sequence[StoredChapter], titles: Sequence[tuple[str, str]]
) -> list[Chapter] | None:
    """The chapters a video holds, one per (segment id, title) in ``titles`` and titled by
    them, timed as the video holds them (the stitch timed them from its own timeline);
    ``None`` if it holds another number of chapters (then they must be planned again)."""
    if len(stored) != len(titles):
        return None
    return [
        Chapter(sid, title, _ms(c.start), _ms(c.end))
        for (sid, title), c in zip(titles, stored, strict=True)
    ]


def _ms(seconds: float) -> Fraction:
    return Fraction(round(seconds * 1000), 1000)


def read_chapters(video: Path) -> list[StoredChapter]:
    """The chapters ``video`` carries, in order."""
    with open_input(video, options={"skip_frame": "all"}) as container:
        found = container.chapters()
    stored = []
    for c in found:
        base = c["time_base"] or CHAPTER_BASE
        title = str(c["metadata"].get("title", ""))
        stored.append(StoredChapter(title, float(c["start"] * base), float(c["end"] * base)))
    return stored
