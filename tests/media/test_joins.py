"""Audio join pieces: what ``encode_join`` keeps is exactly what the encoder makes of the
signal fed one 1024-sample frame at a time, on the output's packet grid, and it decodes back
to the signal."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from cinestitch.media.audio import Samples
from cinestitch.media.joins import (
    AAC_FRAME,
    JOIN_OPTIONS,
    RUN_IN,
    RUN_OUT,
    AudioPacket,
    aac_encoder,
    encode_join,
)
from cinestitch.media.types import EncoderSettings

SETTINGS = EncoderSettings(crf=20, preset="veryfast")
RATE = SETTINGS.sample_rate


def signal(a: int, b: int) -> Samples:
    """A tone with tremolo and a little noise, the same for the same samples."""
    n = np.arange(a, b, dtype=np.float64)
    t = n / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (0.7 + 0.3 * np.sin(2 * np.pi * 3 * t))
    noise = 0.01 * (np.modf(np.abs(np.sin(n * 12.9898)) * 43758.5453)[0] - 0.5)
    left = (tone + noise).astype(np.float32)
    return np.stack([left, 0.5 * left])


def per_packet(start: int, stop: int, total: int) -> list[AudioPacket]:
    """The reference: the same encoder fed one frame per packet from Python."""
    feed_from = max(0, start - RUN_IN)
    feed_to = total if stop >= total else min(total, stop + RUN_OUT)
    ctx = aac_encoder(SETTINGS, JOIN_OPTIONS)
    made: list[av.Packet] = []
    for at in range(feed_from, feed_to, AAC_FRAME):
        samples = np.ascontiguousarray(signal(at, min(at + AAC_FRAME, feed_to)))
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, at, Fraction(1, RATE)
        made += ctx.encode(frame)
    if feed_to >= total:
        made += ctx.encode(None)
    first = -AAC_FRAME if start == 0 else start
    return [
        AudioPacket(p.pts, p.duration or AAC_FRAME, bytes(p))
        for p in made
        if p.pts is not None and first <= p.pts < stop
    ]


@pytest.mark.parametrize(
    ("start", "stop", "total"),
    [
        (10 * AAC_FRAME, 13 * AAC_FRAME, 100 * AAC_FRAME),  # a cut's three packets
        (20 * AAC_FRAME, 32 * AAC_FRAME, 100 * AAC_FRAME),  # a glide's twelve
        (0, 3 * AAC_FRAME, 100 * AAC_FRAME),  # the first packets, with the priming one
        (90 * AAC_FRAME, 96_000, 96_000),  # the end: flushed, its last packet partial
        (2 * AAC_FRAME, 80 * AAC_FRAME, 100 * AAC_FRAME),  # longer than a block
    ],
)
def test_a_join_is_what_the_encoder_makes_frame_by_frame(start: int, stop: int, total: int) -> None:
    got = encode_join(signal, start, stop, total, SETTINGS)
    assert got == per_packet(start, stop, total)
    first = -AAC_FRAME if start == 0 else start
    assert [p.pts for p in got] == list(range(first, stop, AAC_FRAME))


def test_a_join_decodes_back_to_its_signal() -> None:
    """Decoded with two packets of run-in copied from a plain encoding of the same signal,
    a join's packets give back the signal they cover (the encoder's own loss aside)."""
    total, start, stop = 60 * AAC_FRAME, 20 * AAC_FRAME, 26 * AAC_FRAME
    whole = {p.pts: p for p in encode_join(signal, 0, total, total, SETTINGS)}
    join = encode_join(signal, start, stop, total, SETTINGS)
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = aac_encoder(SETTINGS).extradata
    out = []
    for p in [whole[start - 2 * AAC_FRAME], whole[start - AAC_FRAME], *join]:
        packet = av.Packet(p.data)
        packet.pts, packet.time_base = p.pts, Fraction(1, RATE)
        out += [f.to_ndarray() for f in decoder.decode(packet)]
    decoded = np.concatenate(out, axis=1)[:, -(stop - start) :]
    expected = signal(start, stop)
    error = np.sqrt(np.mean((decoded[:, AAC_FRAME:] - expected[:, AAC_FRAME:]) ** 2))
    assert error < 0.02 * np.sqrt(np.mean(expected**2))
