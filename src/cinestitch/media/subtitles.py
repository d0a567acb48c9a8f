"""Subtitle files beside the video: the captions as SubRip (``.srt``) and WebVTT (``.vtt``).

Cue times are those of the frames the captions are burned into (``captions.caption_frames``),
so the files and the picture agree to the frame; players that show subtitles can use them
instead of the burned-in text (or a translator can start from them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cinestitch.atomic import write_text_atomic
from cinestitch.media.captions import caption_frames
from cinestitch.media.finish import subtitle_paths
from cinestitch.media.timeline import Timeline
from cinestitch.media.types import StitchPlan


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


def caption_cues(plan: StitchPlan, timeline: Timeline) -> list[Cue]:
    """The captions in output time, in order of appearance."""
    fps = timeline.fps
    cues = [
        Cue(first / fps, stop / fps, caption.text.strip())
        for caption, first, stop in caption_frames(plan, timeline)
    ]
    return sorted(cues, key=lambda c: (c.start, c.end))


def _stamp(seconds: float, separator: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def render_srt(cues: list[Cue]) -> str:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times, a blank line after each."""
    blocks = [
        f"{n}\n{_stamp(c.start, ',')} --> {_stamp(c.end, ',')}\n{_srt_text(c.text)}\n"
        for n, c in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def render_vtt(cues: list[Cue]) -> str:
    """WebVTT: a ``WEBVTT`` header, then ``HH:MM:SS.mmm`` cues."""
    blocks = [
        f"{_stamp(c.start, '.')} --> {_stamp(c.end, '.')}\n{_vtt_text(c.text)}\n" for c in cues
    ]
    return "\n".join(["WEBVTT\n", *blocks])


def _srt_text(text: str) -> str:
    """No blank lines inside a cue (one would end it)."""
    return "\n".join(line for line in text.splitlines() if line.strip()) or " "


def _vtt_text(text: str) -> str:
    """As for SubRip, with ``&``, ``<`` and ``>`` escaped and no ``-->`` inside."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _srt_text(escaped.replace("-->", "--&gt;"))


def write_subtitles(plan: StitchPlan, timeline: Timeline, video: Path) -> list[Path]:
    """Write both files beside ``video`` (or remove stale ones when there are no captions);
    returns the files written."""
    cues = caption_cues(plan, timeline)
    paths = subtitle_paths(video)
    if not cues:
        for path in paths:
            path.unlink(missing_ok=True)
        return []
    write_text_atomic(paths[0], render_srt(cues))
    write_text_atomic(paths[1], render_vtt(cues))
    return list(paths)
