"""Chapters of the final video, one per segment (pure): where each begins, what it is called,
and the WebVTT chapters file that sits beside the video.

A segment's chapter begins where its first kept frame shows in the stitch's timeline: after
a crossfade that is where the overlap begins, so the chapters of a video with crossfades are
shorter than the segments' kept lengths, and they still add up to the whole video.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from cinestitch.media.timeline import Timeline


@dataclass(frozen=True)
class Chapter:
    segment: str
    title: str
    start: Fraction
    """Seconds into the video."""
    end: Fraction

    @property
    def start_ms(self) -> int:
        return round(self.start * 1000)

    @property
    def end_ms(self) -> int:
        return round(self.end * 1000)


def plan_chapters(timeline: Timeline, titles: Sequence[tuple[str, str]]) -> list[Chapter]:
    """One chapter per clip of ``timeline``; ``titles`` holds (segment id, title) in order."""
    if len(titles) != len(timeline.tracks):
        raise ValueError(f"{len(titles)} titles for {len(timeline.tracks)} clips")
    fps = timeline.fps
    starts = [Fraction(track.start, fps) for track in timeline.tracks]
    ends = [*starts[1:], Fraction(timeline.total_frames, fps)]
    return [
        Chapter(sid, title, start, end)
        for (sid, title), start, end in zip(titles, starts, ends, strict=True)
    ]


def vtt_time(ms: int) -> str:
    """``hh:mm:ss.mmm``, as WebVTT cue timings are written."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def cue_text(title: str) -> str:
    """A title as one line of cue text (no line breaks, markup characters escaped)."""
    flat = " ".join(title.split())
    return flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(chapters: Sequence[Chapter]) -> str:
    """A WebVTT chapters file (``<track kind="chapters">``; players list it as chapters)."""
    lines = ["WEBVTT", ""]
    for chapter in chapters:
        lines += [
            chapter.segment,
            f"{vtt_time(chapter.start_ms)} --> {vtt_time(chapter.end_ms)}",
            cue_text(chapter.title),
            "",
        ]
    return "\n".join(lines)
