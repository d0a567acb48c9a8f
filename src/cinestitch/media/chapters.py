"""Chapters in an MP4: written by copying the stitched video's packets into a new file that
carries them, and read back.

A post-step rather than part of the stitch: the smart render stays as fast as it is, and a
new chapter title rewrites only the container (no seam is encoded again). FFmpeg's MP4 muxer
stores chapters twice, as a Nero ``chpl`` box and as a QuickTime chapter text track (the one
Apple's players read); the text track shows up as a third, data stream.
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
from cinestitch.media.container import open_input

CHAPTER_BASE = Fraction(1, 1000)
"""MP4 chapters are kept in milliseconds."""


@dataclass(frozen=True)
class StoredChapter:
    """A chapter as a file holds it."""

    title: str
    start: float
    end: float


def write_chapters(video: Path, chapters: Sequence[Chapter]) -> None:
    """Replace ``video`` (atomically) by a copy of its picture and sound with ``chapters``."""
    marks = [
        {
            "id": n,
            "start": c.start_ms,
            "end": c.end_ms,
            "time_base": CHAPTER_BASE,
            "metadata": {"title": c.title},
        }
        for n, c in enumerate(chapters, start=1)
    ]
    with open_input(video) as source, atomic_path(video) as tmp:
        streams = [s for s in source.streams if s.type in ("video", "audio")]
        try:
            with _output(tmp) as out:
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


def _output(tmp: Path) -> Any:
    """An MP4 written as the stitcher writes one: playable while it loads, no build time."""
    out = av.open(
        str(tmp),
        "w",
        format="mp4",
        options={"movflags": "+faststart"},
        container_options={"fflags": "+bitexact"},
    )
    out.metadata.clear()
    return out


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
