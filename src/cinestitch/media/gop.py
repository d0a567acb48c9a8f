"""A clip's H.264 packets reduced to what splicing needs: display order, clean keyframes and
the points where a copied run may stop (pure: no PyAV).

A copied run must *start* on a clean keyframe, one that no later-decoded packet displays
before, so that the decoder needs nothing from earlier. It may *stop* after any decode-order
prefix that displays exactly a contiguous run of frames (a "mini-GOP boundary": with x264's
B-pyramid there is one every 2-4 frames), because whatever follows starts with an IDR, which
outputs and flushes the decoder's picture buffer. See stitch-bench.md, gotcha 9.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class CopyRun:
    """Source frames [first, stop) of one clip, copied as packets [first_packet, stop_packet)."""

    first: int
    stop: int
    first_packet: int
    stop_packet: int


@dataclass(frozen=True)
class GopIndex:
    """Packets in decode order: each one's display index and whether it is a keyframe."""

    display: tuple[int, ...]
    keyframe: tuple[bool, ...]

    @classmethod
    def from_pts(cls, pts: list[int], keyframe: list[bool]) -> GopIndex:
        """Display indices are the ranks of the packets' timestamps."""
        order = sorted(range(len(pts)), key=lambda i: pts[i])
        display = [0] * len(pts)
        for rank, i in enumerate(order):
            display[i] = rank
        return cls(tuple(display), tuple(keyframe))

    def __len__(self) -> int:
        return len(self.display)

    @property
    def delay(self) -> int:
        """Reorder depth: how many frames decoding runs ahead of display at most."""
        return max((i - d for i, d in enumerate(self.display)), default=0)

    @cached_property
    def _position(self) -> dict[int, int]:
        return {d: i for i, d in enumerate(self.display)}

    def position(self, frame: int) -> int:
        """Decode position of display frame ``frame``."""
        return self._position[frame]

    @cached_property
    def clean_keyframes(self) -> tuple[int, ...]:
        """Display indices of keyframes that split the stream cleanly, ascending: every packet
        decoded before one displays before it, every packet decoded after it displays after."""
        later_min = len(self.display)
        clean: list[int] = []
        for i in range(len(self.display) - 1, -1, -1):
            d = self.display[i]
            if self.keyframe[i] and later_min > d and d == i:
                clean.append(d)
            later_min = min(later_min, d)
        return tuple(reversed(clean))

    def keyframe_at_or_before(self, frame: int) -> int:
        """The last clean keyframe at or before display ``frame`` (where decoding can start)."""
        found = [k for k in self.clean_keyframes if k <= frame]
        if not found:
            raise ValueError(f"no clean keyframe at or before frame {frame}")
        return found[-1]

    def copy_run(self, lo: int, hi: int) -> CopyRun | None:
        """The longest run inside display frames [lo, hi) that can be copied, or None."""
        starts = [k for k in self.clean_keyframes if lo <= k < hi]
        if not starts:
            return None
        first = starts[0]
        start = self.position(first)
        best, highest = None, -1
        for n, d in enumerate(self.display[start:], start=1):
            highest = max(highest, d)
            if first + n > hi:
                break
            if highest == first + n - 1:
                best = n
        if best is None:
            return None
        return CopyRun(first, first + best, start, start + best)


def annexb_to_length_prefixed(data: bytes, length_size: int = 4) -> bytes:
    """H.264 Annex B (start codes) as MP4 samples need it: each NAL unit behind its length."""
    out = bytearray()
    for nal in _nal_units(data):
        out += len(nal).to_bytes(length_size, "big") + nal
    return bytes(out)


def _nal_units(data: bytes) -> list[bytes]:
    units: list[bytes] = []
    at = _next_start(data, 0)
    while at is not None:
        begin = at[1]
        following = _next_start(data, begin)
        end = following[0] if following is not None else len(data)
        nal = data[begin:end]
        while following is not None and nal.endswith(b"\x00"):
            nal = nal[:-1]
        if nal:
            units.append(nal)
        at = following
    return units


def _next_start(data: bytes, frm: int) -> tuple[int, int] | None:
    """(start of the start code, start of the NAL unit) of the next 00 00 01 from ``frm``."""
    i = data.find(b"\x00\x00\x01", frm)
    if i < 0:
        return None
    return i, i + 3
