"""Audio for a stitch: decode and resample each clip's sound, place it exactly under its
video, ramp it through transitions, and mix the music bed underneath.

Everything is float32 planar stereo at the output rate. Output frame ``f`` begins at sample
``f * rate // fps`` (``sample_at``), so every clip's audio starts on the sample where its video
starts and cuts stay gapless. Decoded AAC carries up to 1023 samples of end padding, so clip
audio is always cut to its video's kept length and the bed to its declared duration.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Generator, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import InputContainer

from cinestitch.errors import MediaError
from cinestitch.media.container import audio_stream, open_input
from cinestitch.media.effects import Ducker, PlacedEffect, add_effects, place_effects
from cinestitch.media.finish import Duck
from cinestitch.media.source import AudioParams, PacketRun
from cinestitch.media.timeline import ClipTrack, Timeline
from cinestitch.media.types import AudioBed, StitchPlan

Samples = npt.NDArray[np.float32]
"""Stereo audio, shape (2, n)."""
AAC_FRAME = 1024
RUN_IN = 2048
"""Samples decoded before a ranged read's first one: the AAC decoder's overlap needs one
packet before, and a seek may land a packet late."""
KEPT_RUN_IN = AAC_FRAME
"""The same for packets the scan kept: no seek, so the one packet the overlap needs."""


def sample_at(frame: int, fps: int, rate: int) -> int:
    """The first sample of output frame ``frame``."""
    return frame * rate // fps


def silence(n: int) -> Samples:
    return np.zeros((2, n), dtype=np.float32)


def read_audio(path: Path, rate: int, skip: float = 0.0, samples: int | None = None) -> Samples:
    """The audio of ``path`` as stereo at ``rate``: ``samples`` of it after ``skip`` seconds
    (padded with silence), or by default all of it up to the stream's declared duration."""
    parts: list[Samples] = []
    with decoded_audio(path, rate) as opened:
        declared, chunks = opened if opened is not None else (0, iter(()))
        limit = samples if samples is not None else declared
        have, to_drop = 0, round(skip * rate)
        for chunk in chunks:
            dropped = min(to_drop, chunk.shape[1])
            to_drop -= dropped
            parts.append(chunk[:, dropped:])
            have += chunk.shape[1] - dropped
            if limit is not None and have >= limit:
                break
    audio = np.concatenate(parts, axis=1) if parts else silence(0)
    if limit is None:
        return audio
    return np.concatenate([audio[:, :limit], silence(max(0, limit - audio.shape[1]))], axis=1)


@contextlib.contextmanager
def decoded_audio(
    path: Path, rate: int, what: str = "video"
) -> Iterator[tuple[int | None, Iterator[Samples]] | None]:
    """``None`` if ``path`` has no audio; else its declared length in samples at ``rate`` (None
    if unknown) and its decoded chunks, resampled to stereo float at ``rate``."""
    with open_input(path, what) as container:
        stream = audio_stream(container)
        if stream is None:
            yield None
            return
        seconds = None
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            seconds = container.duration / av.time_base
        yield (
            (None if seconds is None else round(seconds * rate)),
            _resampled(container, stream, rate),
        )


def _resampled(
    container: InputContainer, stream: AudioStream, rate: int
) -> Generator[Samples, None, None]:
    """Decoded audio as float stereo at ``rate``; mono is copied to both sides at full level
    (FFmpeg's own upmix would lower it by 3 dB)."""
    mono = stream.codec_context.layout.nb_channels == 1
    resampler = av.AudioResampler(format="fltp", layout="mono" if mono else "stereo", rate=rate)
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            yield _stereo(out)
    for out in resampler.resample(None):
        yield _stereo(out)


def _stereo(frame: av.AudioFrame) -> Samples:
    samples = np.asarray(frame.to_ndarray(), dtype=np.float32)
    return np.repeat(samples, 2, axis=0) if samples.shape[0] == 1 else samples


def clip_audio(track: ClipTrack, fps: int, rate: int) -> Samples:
    """The clip's kept audio (silence if it has none) with its entry and exit ramps applied."""
    gain = clip_gain(track, fps, rate)
    if not track.has_audio:
        return silence(gain.shape[0])
    return read_audio(track.path, rate, float(track.head), gain.shape[0]) * gain


def clip_gain(track: ClipTrack, fps: int, rate: int) -> npt.NDArray[np.float32]:
    """The clip's gain over its kept samples: its entry and exit ramps (1 elsewhere)."""
    first = sample_at(track.start, fps, rate)
    length = sample_at(track.start + track.kept, fps, rate) - first
    gain = np.ones(length, dtype=np.float32)
    if track.enter.frames:
        n = sample_at(track.start + track.enter.frames, fps, rate) - first
        up = np.arange(1, n + 1, dtype=np.float32)
        gain[:n] *= up / (n + 1) if track.enter.kind == "crossfade" else up / n
    if track.leave.frames:
        end = track.start + track.kept
        n = first + length - sample_at(end - track.leave.frames, fps, rate)
        up = np.arange(1, n + 1, dtype=np.float32)
        down = 1 - up / (n + 1) if track.leave.kind == "crossfade" else (n - up) / n
        gain[length - n :] *= down
    return gain


def read_audio_range(
    path: Path, rate: int, first: int, count: int, kept: AudioParams | None = None
) -> Samples:
    """Decoded samples [first, first + count) of ``path`` at ``rate`` (silence outside it).

    A track already at ``rate`` is decoded from a little before ``first`` only (the AAC
    decoder needs one packet of run-in): from the packets the scan kept (``kept.edges``) when
    they cover the range, else from the file. Anything else is decoded from the start.
    """
    out = silence(count)
    lead = max(0, -first)
    if lead >= count:
        return out
    run = _covering(kept, rate, first, count)
    if kept is not None and run is not None:
        _decode_kept_into(kept, run, first, out)
        return out
    with open_input(path, "video", {"skip_frame": "all"}) as container:
        stream = audio_stream(container)
        if stream is None:
            return out
        ctx = stream.codec_context
        ctx.skip_frame = "DEFAULT"
        if ctx.sample_rate != rate or ctx.layout.nb_channels > 2 or stream.time_base is None:
            out[:, lead:] = read_audio(path, rate, (first + lead) / rate, count - lead)
            return out
        _decode_into(container, stream, first, out)
    return out


def _covering(kept: AudioParams | None, rate: int, first: int, count: int) -> PacketRun | None:
    """The kept run holding every packet a decode of [first, first + count) needs, if any."""
    if kept is None or kept.rate != rate or kept.channels > 2:
        return None
    start, stop = first - KEPT_RUN_IN, first + count
    for run in kept.edges:
        begins = run.from_start or run.at[0] <= start
        ends = run.to_end or run.at[-1] + AAC_FRAME >= stop
        if begins and ends:
            return run
    return None


def _decode_kept_into(kept: AudioParams, run: PacketRun, first: int, out: Samples) -> None:
    """Decode the run's packets from the one before the packet holding ``first``."""
    decoder = av.CodecContext.create("aac", "r")
    decoder.extradata = kept.extradata
    base = Fraction(1, kept.rate)
    stop = first + out.shape[1]
    begin = max(0, bisect.bisect_right(run.at, first - KEPT_RUN_IN) - 1)
    for at, data in zip(run.at[begin:], run.data[begin:], strict=True):
        if at >= stop:
            break
        packet = av.Packet(data)
        packet.pts, packet.time_base = at, base
        for frame in decoder.decode(packet):
            if at >= 0:  # the first packet decodes to the encoder's priming, not the clip
                _place(frame, at, first, out)


def _place(frame: av.AudioFrame, at: int, first: int, out: Samples) -> None:
    """Copy the part of a decoded frame (starting on sample ``at``) that falls in ``out``."""
    chunk = _stereo(frame)
    a, b = max(at, first), min(at + chunk.shape[1], first + out.shape[1])
    if a < b:
        out[:, a - first : b - first] = chunk[:, a - at : b - at]


def _decode_into(container: InputContainer, stream: AudioStream, first: int, out: Samples) -> None:
    """Place the decoded frames overlapping [first, first + n) into ``out``."""
    per_tick = Fraction(stream.time_base or 0) * stream.codec_context.sample_rate
    start = first - RUN_IN
    if start > 0:
        container.seek(int(start / per_tick), stream=stream)
    stop = first + out.shape[1]
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        at = int(frame.pts * per_tick)
        if at >= stop:
            break
        _place(frame, at, first, out)


class JoinMix:
    """The clips' mix over any stretch of output samples, played with a gliding lag: what a
    smart render re-encodes at its joins (see ``splice.audio_glide``).

    Output sample ``t`` sounds what the exact mix sounds at ``t - lag(t)``: each clip over
    its copied packets sits where its packets put it (``skew`` late), and between copies the
    whole mix slides from one skew to the next, so cuts stay gapless and crossfaded clips
    stay aligned with each other. The clips' windows are laid out once; a call visits only
    the clips it overlaps (found by bisection), so the joins of a long timeline cost time
    linear in their number. Calls are independent and may run in parallel threads.
    """

    def __init__(
        self,
        timeline: Timeline,
        rate: int,
        glide: tuple[list[int], list[int]],
        kept: list[AudioParams | None],
    ) -> None:
        self.timeline, self.rate, self.kept = timeline, rate, kept
        self.knots = (np.asarray(glide[0], np.float64), np.asarray(glide[1], np.float64))
        fps = timeline.fps
        self.firsts = [sample_at(t.start, fps, rate) for t in timeline.tracks]
        self.ends = [sample_at(t.start + t.kept, fps, rate) for t in timeline.tracks]
        """Window ends never decrease (a clip outlasts the crossfade into it)."""

    def __call__(self, start: int, stop: int) -> Samples:
        """The mixed samples [start, stop)."""
        out = silence(stop - start)
        t = np.arange(start, stop, dtype=np.float64)
        x = t - np.interp(t, *self.knots)
        if not len(x):
            return out
        k = bisect.bisect_right(self.ends, float(x[0]))
        while k < len(self.firsts) and self.firsts[k] <= x[-1]:
            self._add(k, x, out)
            k += 1
        return np.clip(out, -1.0, 1.0)

    def _add(self, k: int, x: npt.NDArray[np.float64], out: Samples) -> None:
        """Add clip ``k``'s sound where the mix positions ``x`` fall in its window."""
        track, first, end = self.timeline.tracks[k], self.firsts[k], self.ends[k]
        lo, hi = np.searchsorted(x, [first, end])
        if lo >= hi or not track.has_audio:
            return
        gain = clip_gain(track, self.timeline.fps, self.rate)
        within = x[lo:hi] - first
        where = round(float(track.head) * self.rate) + within
        level = gain[np.minimum(within.astype(np.int64), gain.shape[0] - 1)]
        out[:, lo:hi] += _read_at(track.path, self.rate, where, self.kept[k]) * level


def _read_at(
    path: Path, rate: int, where: npt.NDArray[np.float64], kept: AudioParams | None
) -> Samples:
    """The clip's decoded sound at (fractional) sample positions ``where``, interpolated."""
    lo = int(np.floor(where.min())) - 1
    hi = int(np.ceil(where.max())) + 2
    audio = read_audio_range(path, rate, lo, hi - lo, kept)
    grid = np.arange(lo, hi, dtype=np.float64)
    if np.array_equal(where, grid[1 : 1 + where.shape[0]]):
        return audio[:, 1 : 1 + where.shape[0]]
    return np.stack([np.interp(where, grid, ch).astype(np.float32) for ch in audio])


class BedStream:
    """The music bed, read in order: looped or padded with silence, at its volume and fades."""

    def __init__(self, bed: AudioBed, rate: int, total: int) -> None:
        self.bed, self.rate, self.total = bed, rate, total
        self.position = 0
        self._source = self._passes()
        self._buffer = next(self._source, silence(0))
        """Read ahead by one chunk, so that a missing or silent bed fails before any encoding."""

    def _passes(self) -> Generator[Samples, None, None]:
        while True:
            got = 0
            with decoded_audio(self.bed.path, self.rate, "audio file") as opened:
                if opened is None:
                    raise MediaError(f"{self.bed.path}: the music bed has no audio stream")
                declared, chunks = opened
                for chunk in chunks:
                    if declared is not None:
                        chunk = chunk[:, : max(0, declared - got)]
                    got += chunk.shape[1]
                    yield chunk
            if not self.bed.loop or got == 0:
                return

    def read(self, n: int) -> Samples:
        while self._buffer.shape[1] < n:
            chunk = next(self._source, None)
            if chunk is None:
                chunk = silence(n - self._buffer.shape[1])
            self._buffer = np.concatenate([self._buffer, chunk], axis=1)
        out, self._buffer = self._buffer[:, :n], self._buffer[:, n:]
        at = np.arange(self.position, self.position + n, dtype=np.float64)
        self.position += n
        gain = np.full(n, self.bed.volume, dtype=np.float64)
        fade_in, fade_out = (
            round(self.bed.fade_in * self.rate),
            round(self.bed.fade_out * self.rate),
        )
        if fade_in:
            gain *= np.clip(at / fade_in, 0.0, 1.0)
        if fade_out:
            gain *= np.clip((self.total - 1 - at) / fade_out, 0.0, 1.0)
        return out * gain.astype(np.float32)

    def close(self) -> None:
        self._source.close()


class AudioMix:
    """The output's audio in order, produced as the video frames are written.

    Holds the clips that overlap the samples being produced (one, or two in a crossfade).
    Sound effects are added over the mix, and the bed ducks under the clips (``effects``).
    """

    def __init__(
        self,
        timeline: Timeline,
        rate: int,
        bed: AudioBed | None,
        effects: tuple[PlacedEffect, ...] = (),
        duck: Duck | None = None,
    ) -> None:
        self.timeline, self.rate = timeline, rate
        total = sample_at(timeline.total_frames, timeline.fps, rate)
        self.bed = BedStream(bed, rate, total) if bed is not None else None
        self.effects = effects
        self.ducker = Ducker(duck, rate) if duck is not None and bed is not None else None
        self.cursor = 0
        self._next = 0
        self._loaded: dict[int, tuple[int, Samples]] = {}

    @classmethod
    def of_plan(cls, timeline: Timeline, plan: StitchPlan) -> AudioMix:
        """The mix ``plan`` asks for: its clips, music bed, ducking and sound effects."""
        rate = plan.encoder.sample_rate
        effects = tuple(place_effects(plan, timeline, rate, read_audio))
        return cls(timeline, rate, plan.audio_bed, effects, plan.duck)

    def until_frame(self, frame: int) -> Samples:
        """The mixed samples from where the last call stopped up to the start of ``frame``."""
        fps, tracks = self.timeline.fps, self.timeline.tracks
        end = sample_at(frame, fps, self.rate)
        while (
            self._next < len(tracks) and sample_at(tracks[self._next].start, fps, self.rate) < end
        ):
            track = tracks[self._next]
            first = sample_at(track.start, fps, self.rate)
            self._loaded[self._next] = (first, clip_audio(track, fps, self.rate))
            self._next += 1
        out = silence(end - self.cursor)
        for index, (first, audio) in list(self._loaded.items()):
            a, b = max(self.cursor, first), min(end, first + audio.shape[1])
            if a < b:
                out[:, a - self.cursor : b - self.cursor] += audio[:, a - first : b - first]
            if first + audio.shape[1] <= end:
                del self._loaded[index]
        if self.bed is not None:
            bed = self.bed.read(out.shape[1])
            out += bed if self.ducker is None else bed * self.ducker(out)
        add_effects(out, self.cursor, self.effects)
        self.cursor = end
        return np.clip(out, -1.0, 1.0)

    def close(self) -> None:
        if self.bed is not None:
            self.bed.close()
