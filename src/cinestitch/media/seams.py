"""Seam pieces: the few output frames a smart render re-encodes, as cached build artifacts.

A piece is output frames [start, stop) rendered exactly as the reference stitcher renders
them (same decode, conform, fade and blend) and encoded by libx264 with the copied track's
profile and level. Its H.264 parameter sets use id 1 and travel in-band, so they never
replace the track's own (id 0) that the copied packets still use (stitch-bench.md, gotcha 8).

Each piece is stored under the work directory by a digest of everything that decides its
bytes: the encoder settings, the track parameters, the clips' contents and what every frame
of the piece shows. Changing one clip or one transition therefore re-encodes only the pieces
that touch it, and an unchanged piece is read back instead of encoded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from cinestitch.atomic import atomic_path
from cinestitch.errors import MediaError
from cinestitch.media.gop import annexb_to_length_prefixed
from cinestitch.media.source import VideoParams
from cinestitch.media.types import EncoderSettings
from cinestitch.media.yuv import Yuv

FORMAT = b"cinestitch-seam 1\n"
SEAM_CRF_STEP = 2
"""Seams are encoded this much finer than the output's CRF: their frames were decoded from
already-encoded clips (a second generation), and at the output's own CRF the worst of them
measured 39.8 dB against the exact blend at 720p; two steps finer keeps them above 40 dB."""
PROFILES = {"Constrained Baseline": "baseline", "Progressive High": "high"}


@dataclass(frozen=True)
class StoredPacket:
    """One encoded frame: its display index within the piece, keyframe flag and bytes."""

    display: int
    keyframe: bool
    data: bytes


@dataclass(frozen=True)
class Piece:
    """An encoded stretch of output frames, in decode order."""

    packets: tuple[StoredPacket, ...]

    @property
    def delay(self) -> int:
        return max((i - p.display for i, p in enumerate(self.packets)), default=0)


@dataclass(frozen=True)
class SeamEncoder:
    """How pieces are encoded: the output's settings and the copied track's parameters."""

    width: int
    height: int
    fps: int
    settings: EncoderSettings
    track: VideoParams

    def digest_parts(self) -> dict[str, Any]:
        return {
            "format": FORMAT.decode().strip(),
            "size": [self.width, self.height, self.fps],
            "encoder": vars(self.settings),
            "profile": self.track.profile,
            "level": self.track.level,
            "avcc": hashlib.sha256(self.track.extradata).hexdigest(),
            "libavcodec": str(av.library_versions.get("libavcodec")),
        }

    def encode(self, pictures: Iterator[Yuv], on_frame: Callable[[], None]) -> Piece:
        """Encode ``pictures`` as one closed run starting with an IDR."""
        ctx = self._context()
        packets: list[StoredPacket] = []
        try:
            for i, picture in enumerate(pictures):
                frame = av.VideoFrame.from_ndarray(picture, format="yuv420p")
                frame.pts, frame.time_base = i, Fraction(1, self.fps)
                packets += self._stored(ctx.encode(frame))
                on_frame()
            packets += self._stored(ctx.encode(None))
        except av.FFmpegError as exc:
            raise MediaError(f"stitch: encoding a seam failed — {exc}") from exc
        return Piece(tuple(packets))

    def _context(self) -> Any:
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = self.width, self.height, "yuv420p"
        ctx.time_base = Fraction(1, self.fps)
        ctx.framerate = Fraction(self.fps)
        ctx.thread_count = 1  # seams run in parallel instead (see remux._make_pieces)
        ctx.flags |= av.codec.context.Flags.bitexact
        profile = PROFILES.get(self.track.profile, self.track.profile.lower())
        ctx.options = {
            "crf": str(max(0, self.settings.crf - SEAM_CRF_STEP)),
            "preset": self.settings.preset,
            "profile": profile,
            "level": f"{self.track.level // 10}.{self.track.level % 10}",
            "x264-params": "sps-id=1",
        }
        return ctx

    def _stored(self, packets: list[av.Packet[Any]]) -> list[StoredPacket]:
        size = self.track.nal_length_size
        return [
            StoredPacket(p.pts, bool(p.is_keyframe), annexb_to_length_prefixed(bytes(p), size))
            for p in packets
            if p.pts is not None
        ]


def piece_key(parts: dict[str, Any]) -> str:
    """The digest naming a piece: canonical JSON of what decides its bytes."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def write_piece(path: Path, piece: Piece) -> None:
    """Store ``piece`` atomically: a header line, a JSON packet table, then the bytes."""
    table = [[p.display, int(p.keyframe), len(p.data)] for p in piece.packets]
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(FORMAT)
        f.write(json.dumps(table, separators=(",", ":")).encode() + b"\n")
        for p in piece.packets:
            f.write(p.data)


def read_piece(path: Path) -> Piece | None:
    """A stored piece, or None if it is missing or not a complete piece file."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not data.startswith(FORMAT):
        return None
    end = data.find(b"\n", len(FORMAT))
    try:
        table = json.loads(data[len(FORMAT) : end])
    except ValueError:
        return None
    at, packets = end + 1, []
    for display, key, size in table:
        packets.append(StoredPacket(display, bool(key), data[at : at + size]))
        at += size
    return Piece(tuple(packets)) if at == len(data) else None
