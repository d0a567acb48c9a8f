"""Audio join pieces: re-encode output samples [start, stop) so that copied AAC packets on
either side still decode cleanly (stitch-bench.md, gotchas 1-3).

An AAC packet decodes by overlapping with its predecessor, so a piece is encoded from a
run-in of two packets before ``start`` and a run-out after ``stop``, and only the packets on
[start, stop) are kept: at both splices the overlapping halves then describe the same signal.
The encoder's packets carry pts = first sample - 1024 (its priming), which puts them on the
output's 1024-sample grid when input frames start on it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from cinestitch.errors import MediaError
from cinestitch.media.audio import Samples
from cinestitch.media.types import EncoderSettings

AAC_FRAME = 1024
RUN = 2 * AAC_FRAME
"""Samples encoded before and after a piece and then dropped."""

BLOCK = 64 * AAC_FRAME
"""Samples asked of the signal at once: long pieces stream instead of sitting in memory."""
JOIN_CODER = "fast"
"""FFmpeg's AAC coefficient search for joins: about 3x faster than its default (``twoloop``,
0.15 instead of 0.4-0.7 ms a packet), which makes the joins no longer most of the cut path's
time; on tones, sweeps and mixtures it measured an equal or higher SNR."""
Signal = Callable[[int, int], Samples]
"""``signal(a, b)``: the output's mixed samples [a, b)."""


@dataclass(frozen=True)
class AudioPacket:
    pts: int
    """First output sample it decodes to (-1024 for the priming packet)."""
    duration: int
    data: bytes


def aac_encoder(settings: EncoderSettings, coder: str | None = None) -> Any:
    """A stereo AAC-LC encoder configured like ``Mp4Writer``'s, so packets mix freely;
    ``coder`` picks FFmpeg's coefficient search (its default when None)."""
    ctx = av.CodecContext.create("aac", "w")
    if coder is not None:
        ctx.options = {"aac_coder": coder}
    ctx.sample_rate = settings.sample_rate
    ctx.layout = "stereo"
    ctx.format = "fltp"
    ctx.bit_rate = settings.audio_bitrate
    ctx.time_base = Fraction(1, settings.sample_rate)
    ctx.flags |= av.codec.context.Flags.bitexact
    ctx.open()
    return ctx


def aac_config(settings: EncoderSettings) -> bytes:
    """The AudioSpecificConfig our encoder writes: copied tracks must carry the same one."""
    return bytes(aac_encoder(settings).extradata or b"")


def encode_join(
    signal: Signal,
    start: int,
    stop: int,
    total: int,
    settings: EncoderSettings,
    coder: str | None = JOIN_CODER,
) -> list[AudioPacket]:
    """The packets covering output samples [start, stop) of ``signal`` (``total`` long)."""
    return JoinEncoder(settings, coder).encode(signal, start, stop, total)


class JoinEncoder:
    """Encodes joins one after another with one AAC encoder, never flushed between them.

    A fresh encoder costs about as much as the four packets a short join holds (set-up, and
    the first packets of a session are slower), so a run of joins shares one. The encoder
    emits each packet two frames after it is fed, timestamped by a queue of the frames fed,
    so a jump to the next join needs no flush: its run-in gives the encoder two frames of the
    right signal before the first packet kept, and the run-out of the previous join has
    already brought out all of that join's packets. Each packet is matched to the frame it
    came from (first in, first out), so joins closer together than their runs stay apart.
    """

    def __init__(self, settings: EncoderSettings, coder: str | None = JOIN_CODER) -> None:
        self.settings = settings
        self.ctx = aac_encoder(settings, coder)
        self.fed: deque[tuple[int, int, int]] = deque()
        """Per packet still to come: its first sample, and the [first, stop) it is kept in."""
        self.started = False

    def encode(self, signal: Signal, start: int, stop: int, total: int) -> list[AudioPacket]:
        """The packets covering output samples [start, stop); joins must come in order, and
        one reaching ``total`` ends the session."""
        feed_from = max(0, start - RUN)
        feed_to = total if stop >= total else min(total, stop + RUN)
        keep = (-AAC_FRAME if start == 0 else start, stop)
        if not self.started:
            self.fed.append((feed_from - AAC_FRAME, *keep))  # the encoder's priming packet
            self.started = True
        packets: list[AudioPacket] = []
        try:
            for block in range(feed_from, feed_to, BLOCK):
                samples = signal(block, min(block + BLOCK, feed_to))
                for at in range(0, samples.shape[1], AAC_FRAME):
                    frame = _frame(samples[:, at : at + AAC_FRAME], block + at, self.settings)
                    self.fed.append((block + at, *keep))
                    packets += self._kept(self.ctx.encode(frame))
            if feed_to >= total:
                packets += self._kept(self.ctx.encode(None))
        except av.FFmpegError as exc:
            raise MediaError(f"stitch: encoding the audio failed — {exc}") from exc
        return packets

    def _kept(self, packets: list[av.Packet[Any]]) -> list[AudioPacket]:
        kept = []
        for p in packets:
            pts, first, stop = self.fed.popleft()
            if first <= pts < stop:
                kept.append(AudioPacket(pts, p.duration or AAC_FRAME, bytes(p)))
        return kept


def _frame(samples: Samples, pts: int, settings: EncoderSettings) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples), format="fltp", layout="stereo"
    )
    frame.sample_rate = settings.sample_rate
    frame.pts, frame.time_base = pts, Fraction(1, settings.sample_rate)
    return frame
