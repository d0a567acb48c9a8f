"""Render any stretch of the output's pictures, decoding only the GOPs it needs.

The reference stitcher renders frames 0..N in order; a seam piece needs frames [start, stop)
only. Clips whose packets are indexed are decoded from the clean keyframe at or before the
first frame wanted; the others from their start (their frames are all re-encoded anyway).
Pictures are made by the reference's own functions, so a piece shows exactly what a full
re-encode would show, before encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av

from cinestitch.errors import MediaError
from cinestitch.media.gop import GopIndex
from cinestitch.media.source import open_packets
from cinestitch.media.stitch import ClipReader
from cinestitch.media.timeline import ClipTrack, Crossfade, Plain, Span, Timeline
from cinestitch.media.yuv import Yuv, black, blend, conform, fade


class Pictures(Protocol):
    def picture(self, i: int) -> Yuv: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Shown:
    """What output frame shows: clip frames (clip, clip frame) mixed by ``weights``."""

    parts: tuple[tuple[int, int], ...]
    weight: float
    """Plain: the fade gain; crossfade: the incoming clip's alpha."""
    kind: str


def shown_at(timeline: Timeline, start: int = 0, stop: int | None = None) -> Iterator[Shown]:
    """What output frames [start, stop) show, in order (the recipe a piece's digest is made
    of); only the spans overlapping them are visited."""
    stop = timeline.total_frames if stop is None else stop
    for at, span in timeline.spans_between(start, stop):
        for m in range(max(start, at) - at, min(stop, at + span.frames) - at):
            if isinstance(span, Plain):
                yield Shown(((span.clip, span.start + m),), span.gain(m), span.ramp)
            else:
                parts = ((span.outgoing, span.start + m), (span.incoming, m))
                yield Shown(parts, span.alpha(m), "crossfade")


class IndexedReader:
    """One clip's pictures by clip frame, decoded from the nearest clean keyframe."""

    def __init__(self, track: ClipTrack, timeline: Timeline, index: GopIndex) -> None:
        self.track, self.timeline, self.index = track, timeline, index
        self._frames: Generator[av.VideoFrame, None, None] | None = None
        self._shown = -1
        self._picture: Yuv | None = None

    def picture(self, i: int) -> Yuv:
        wanted = self.track.source_frame(i, self.timeline.fps)
        if self._picture is not None and self._shown == wanted:
            return self._picture
        if self._frames is None or wanted < self._shown:
            self.close()
            first = self.index.keyframe_at_or_before(wanted)
            self._frames = _decode_from(self.track.path, self.index.position(first))
            self._shown = first - 1
        frame = None
        while self._shown < wanted:
            frame = next(self._frames, None)
            if frame is None:
                raise MediaError(f"{self.track.path}: frame {wanted} does not decode")
            self._shown += 1
        assert frame is not None
        self._picture = conform(frame, self.timeline.width, self.timeline.height)
        return self._picture

    def close(self) -> None:
        if self._frames is not None:
            self._frames.close()
            self._frames = None
            self._picture = None


def _decode_from(path: Path, position: int) -> Generator[av.VideoFrame, None, None]:
    """Frames in display order, decoding the video packets from decode position ``position``."""
    with open_packets(path) as container:
        stream = container.streams.video[0]
        decoder = av.CodecContext.create("h264", "r")
        decoder.extradata = stream.codec_context.extradata
        decoder.thread_type = "AUTO"
        n = 0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            n += 1
            if n > position:
                yield from decoder.decode(packet)
        yield from decoder.decode(None)


def render_range(
    timeline: Timeline,
    start: int,
    stop: int,
    indexes: list[GopIndex | None],
) -> Generator[Yuv, None, None]:
    """Output pictures [start, stop), made exactly as ``stitch.render_frames`` makes them."""
    readers: dict[int, Pictures] = {}
    floor = black(timeline.width, timeline.height)

    def reader(clip: int) -> Pictures:
        if clip not in readers:
            readers[clip] = _reader(timeline, clip, indexes[clip])
        return readers[clip]

    try:
        for at, span in timeline.spans_between(start, stop):
            lo, hi = max(start, at), min(stop, at + span.frames)
            for f in range(lo, hi):
                yield _picture(span, f - at, reader, floor)
    finally:
        for source in readers.values():
            source.close()


def _reader(timeline: Timeline, clip: int, index: GopIndex | None) -> Pictures:
    track = timeline.tracks[clip]
    return ClipReader(track, timeline) if index is None else IndexedReader(track, timeline, index)


def _picture(span: Span, m: int, reader: Callable[[int], Pictures], floor: Yuv) -> Yuv:
    if isinstance(span, Plain):
        picture = reader(span.clip).picture(span.start + m)
        return picture if span.ramp == "none" else fade(picture, span.gain(m), floor)
    assert isinstance(span, Crossfade)
    out, into = reader(span.outgoing), reader(span.incoming)
    return blend(out.picture(span.start + m), into.picture(m), span.alpha(m))
