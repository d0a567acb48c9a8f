"""What was learnt about the stitch's clips, remembered by each file's size, mtime and inode.

The stitch reads every clip (``source.scan_source``); the steps after it (chapters planned
again, the editor's timeline, subtitles) need the same ``ClipInfo`` to lay the timeline
out. Rather than open all the clips again, they read it here: one JSON file in the build's
state, an entry per clip that holds while the file is unchanged (like ``digests.DigestMemo``)
and is probed again otherwise. The memo is only a speed-up: a lost or damaged one costs a
probe per clip, never a wrong answer, as a changed file never matches its old entry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from cinestitch.atomic import write_text_atomic
from cinestitch.media.types import ClipInfo

PROBES_VERSION = 1


class ProbeMemo:
    """``ClipInfo`` of files keyed by their path and stat signature, kept in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[str, list[Any]] | None = None
        self._dirty = False

    def _load(self) -> dict[str, list[Any]]:
        if self._known is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = None
            ok = isinstance(data, dict) and data.get("version") == PROBES_VERSION
            clips = data.get("clips") if ok and isinstance(data, dict) else None
            self._known = clips if isinstance(clips, dict) else {}
        return self._known

    def info(self, path: Path) -> ClipInfo:
        """The clip's ``ClipInfo``: remembered while the file is unchanged, else probed."""
        from cinestitch.media.probe import probe_clip

        signature = _signature(path)
        entry = self._load().get(str(path)) if signature is not None else None
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == signature:
            found = _from_json(path, entry[1])
            if found is not None:
                return found
        info = probe_clip(path)
        self.remember([info])
        return info

    def remember(self, infos: Iterable[ClipInfo]) -> None:
        """Keep what a step learnt about these files (as they are now)."""
        known = self._load()
        for info in infos:
            signature = _signature(info.path)
            if signature is None:
                continue
            entry = [signature, _to_json(info)]
            if known.get(str(info.path)) != entry:
                known[str(info.path)] = entry
                self._dirty = True

    def save(self) -> None:
        """Write what was learnt (best effort: the memo is only a speed-up)."""
        if not self._dirty or self._known is None:
            return
        try:
            text = json.dumps({"version": PROBES_VERSION, "clips": self._known})
            write_text_atomic(self.path, text)
            self._dirty = False
        except OSError:
            pass


def _signature(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _to_json(info: ClipInfo) -> dict[str, Any]:
    return {
        "width": info.width,
        "height": info.height,
        "fps": [info.fps.numerator, info.fps.denominator],
        "duration": info.duration,
        "frame_count": info.frame_count,
        "video_codec": info.video_codec,
        "audio_codec": info.audio_codec,
        "sample_rate": info.sample_rate,
        "audio_channels": info.audio_channels,
        "pixel_format": info.pixel_format,
    }


def _from_json(path: Path, data: Any) -> ClipInfo | None:
    """The remembered ``ClipInfo``; ``None`` for an entry this version cannot read."""
    try:
        num, den = data["fps"]
        return ClipInfo(
            path=path,
            width=int(data["width"]),
            height=int(data["height"]),
            fps=Fraction(int(num), int(den)),
            duration=float(data["duration"]),
            frame_count=int(data["frame_count"]),
            video_codec=str(data["video_codec"]),
            audio_codec=_optional(data["audio_codec"], str),
            sample_rate=_optional(data["sample_rate"], int),
            audio_channels=_optional(data["audio_channels"], int),
            pixel_format=_optional(data["pixel_format"], str),
        )
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def _optional(value: Any, kind: type[Any]) -> Any:
    return None if value is None else kind(value)
