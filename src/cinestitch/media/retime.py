"""Speed changes: which source moment each output frame shows, and the sound stretched to
match, keeping its pitch (FFmpeg's ``atempo`` through ``av.filter.Graph``) or muted.

Slow motion repeats frames (0.5: each frame shows twice) and fast motion drops them; the
sound outside the range plays as it was, and the whole clip keeps its sound in step with
its pictures because both are cut or padded to the retimed length.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import av
import numpy as np

from cinestitch.errors import MediaError
from cinestitch.media.audio import Samples, silence
from cinestitch.media.finish import Speed

AAC_FRAME = 1024
ATEMPO_RANGE = (0.5, 100.0)
"""The factors one ``atempo`` filter takes; slower rates chain several."""


def retimed_frames(duration: float, fps: int, speed: Speed) -> list[Fraction]:
    """Seconds into the clip that each output frame of the retimed clip shows."""
    total = speed.output_time(duration, duration)
    count = max(1, round(total * fps))
    return [
        Fraction(speed.source_time(n / fps, duration)).limit_denominator(1_000_000)
        for n in range(count)
    ]


def retimed_audio(sound: Samples, rate: int, speed: Speed, duration: float) -> Samples:
    """``sound`` (the clip's, at ``rate``) with the speed range stretched or silenced."""
    a, b = (round(t * rate) for t in speed.bounds(duration))
    a, b = min(a, sound.shape[1]), min(b, sound.shape[1])
    length = round((b - a) / speed.rate)
    if speed.audio == "mute" or b <= a:
        middle = silence(length)
    else:
        middle = _fit(stretch(sound[:, a:b], rate, speed.rate), length)
    return np.concatenate([sound[:, :a], middle, sound[:, b:]], axis=1)


def atempo_chain(rate: float) -> list[float]:
    """``atempo`` factors whose product is ``rate``, each within what one filter takes."""
    low, high = ATEMPO_RANGE
    factors = []
    while rate < low:
        factors.append(low)
        rate /= low
    while rate > high:
        factors.append(high)
        rate /= high
    return [*factors, rate]


def stretch(samples: Samples, rate: int, tempo: float) -> Samples:
    """``samples`` played ``tempo`` times as fast at the same pitch."""
    try:
        graph = av.filter.Graph()
        chain = [
            graph.add_abuffer(
                format="fltp", sample_rate=rate, layout="stereo", time_base=Fraction(1, rate)
            )
        ]
        for factor in atempo_chain(tempo):
            chain.append(graph.add("atempo", f"{factor:.6f}"))
        chain.append(graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo"))
        chain.append(graph.add("abuffersink"))
        for a, b in itertools.pairwise(chain):
            a.link_to(b)
        graph.configure()
        out: list[Samples] = []
        for at in range(0, samples.shape[1], AAC_FRAME):
            chunk = np.ascontiguousarray(samples[:, at : at + AAC_FRAME])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
            graph.push(frame)
            out += _drain(graph)
        graph.push(None)
        out += _drain(graph)
    except av.FFmpegError as exc:
        raise MediaError(f"speed: stretching the sound failed — {exc}") from exc
    return np.concatenate(out, axis=1) if out else silence(0)


def _drain(graph: av.filter.Graph) -> list[Samples]:
    pulled: list[Samples] = []
    while True:
        try:
            frame = graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return pulled
        pulled.append(np.asarray(frame.to_ndarray(), dtype=np.float32))


def _fit(samples: Samples, length: int) -> Samples:
    """Cut or pad ``samples`` with silence to ``length``."""
    if samples.shape[1] >= length:
        return samples[:, :length]
    return np.concatenate([samples, silence(length - samples.shape[1])], axis=1)
