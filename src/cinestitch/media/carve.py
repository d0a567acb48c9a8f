"""Cut a smart render's copied runs around the output frames that carry text (pure).

A frame with a caption or a comment burned in is no longer the clip's own, so it must be
re-encoded like a seam. Each copied run that overlaps such frames is split: the part before
them stops on a mini-GOP boundary, the part after them starts again on the next clean
keyframe (``GopIndex.copy_run``), and what lies between becomes its own encoded piece. The
pieces already planned (the transitions' seams) are kept as they are, so their cached bytes
are reused and only the frames around the text are encoded.
"""

from __future__ import annotations

from collections.abc import Sequence

from cinestitch.media.gop import GopIndex
from cinestitch.media.splice import VideoCopy, VideoEncode, VideoPiece

Ranges = Sequence[tuple[int, int]]


def carve_copies(
    video: list[VideoPiece], ranges: Ranges, indexes: Sequence[GopIndex | None]
) -> list[VideoPiece]:
    """``video`` with every copy that shows frames in ``ranges`` split around them."""
    if not ranges:
        return video
    out: list[VideoPiece] = []
    for piece in video:
        if isinstance(piece, VideoEncode) or not _overlaps(piece.start, piece.stop, ranges):
            out.append(piece)
            continue
        index = indexes[piece.clip]
        assert index is not None  # a copy comes from an indexed clip
        at = piece.start
        for lo, hi in _free(piece.start, piece.stop, ranges):
            run = index.copy_run(piece.first + lo - piece.start, piece.first + hi - piece.start)
            if run is None:
                continue
            start = piece.start + run.first - piece.first
            if start > at:
                out.append(VideoEncode(at, start))
            copy = VideoCopy(piece.clip, start, run.first, run.first_packet, run.stop_packet)
            out.append(copy)
            at = copy.stop
        if at < piece.stop:
            out.append(VideoEncode(at, piece.stop))
    return out


def _overlaps(start: int, stop: int, ranges: Ranges) -> bool:
    return any(a < stop and start < b for a, b in ranges)


def _free(start: int, stop: int, ranges: Ranges) -> list[tuple[int, int]]:
    """The parts of [start, stop) outside every range, in order."""
    parts, at = [], start
    for a, b in sorted(ranges):
        if b <= at or a >= stop:
            continue
        if a > at:
            parts.append((at, a))
        at = max(at, b)
    if at < stop:
        parts.append((at, stop))
    return parts
