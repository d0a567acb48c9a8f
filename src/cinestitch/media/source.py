"""Scan a stitch input without decoding it: its probe, its packet index, and whether its
video and audio packets can be copied into the output as they are.

Opening with ``skip_frame=all`` keeps libavformat from decoding pictures while it probes
(about 4 ms instead of 60 ms at 720p), which matters on the cut path where nothing else is
decoded at all. The scan also keeps the AAC packets at the clip's edges (a few KB), which is
all the audio joins decode; and, when asked (small clips), every packet, so that the stitch
copies them without opening the clip again.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from av.audio.stream import AudioStream
from av.container import InputContainer

from cinestitch.media.container import open_input, unreadable
from cinestitch.media.gop import GopIndex
from cinestitch.media.probe import probe_clip
from cinestitch.media.types import ClipInfo

if TYPE_CHECKING:
    import av

    Packet = av.Packet[Any]
else:
    Packet = Any

EIGHT_BIT_420 = {"Baseline", "Constrained Baseline", "Main", "High", "Progressive High"}
"""H.264 profiles whose pictures are always 8-bit 4:2:0, the output's format."""
FULL_RANGE = 2


@dataclass(frozen=True)
class VideoParams:
    """What a copied H.264 track must share with the pieces encoded around it."""

    extradata: bytes
    profile: str
    level: int
    nal_length_size: int


@dataclass(frozen=True)
class PacketRun:
    """Consecutive audio packets of a clip: each one's first sample and its bytes.
    ``from_start``: the first is the clip's first packet; ``to_end``: the last is its last."""

    at: tuple[int, ...]
    data: tuple[bytes, ...]
    from_start: bool
    to_end: bool


@dataclass(frozen=True)
class AudioParams:
    """A clip's AAC track: its decoder config, rate and where its packet grid lies."""

    extradata: bytes
    rate: int
    channels: int
    grid: int
    """First packet's timestamp modulo 1024, in samples: packets start on this grid."""
    samples: int
    """Declared length in samples (without priming and end padding)."""
    edges: tuple[PacketRun, ...] = ()
    """The packets kept at the clip's head and tail (see ``scan_source``'s ``keep_audio``)."""


@dataclass(frozen=True)
class AudioScan:
    """What one pass over the packets learns about the audio: the first packet's timestamp
    and the runs of packets kept."""

    first: int | None
    edges: tuple[PacketRun, ...]


@dataclass(frozen=True)
class Demuxed:
    """Every packet of a clip: video in decode order (the index's positions), audio as
    (first decoded sample, packet)."""

    video: tuple[Packet, ...]
    audio: tuple[tuple[int, Packet], ...]


@dataclass(frozen=True)
class SourceClip:
    """One input as the splicer sees it. ``index`` is None when its video cannot be copied,
    and ``why`` then says why in a few words."""

    info: ClipInfo
    index: GopIndex | None
    video: VideoParams | None
    audio: AudioParams | None
    why: str | None
    packets: Demuxed | None = None
    """All its packets, when the scan was asked to keep them."""


def open_packets(path: Path) -> contextlib.AbstractContextManager[InputContainer]:
    """Open ``path`` for demuxing only: no picture is decoded while probing."""
    return open_input(path, options={"skip_frame": "all"})


def scan_source(
    path: Path,
    width: int,
    height: int,
    fps: int,
    keep_audio: tuple[float, float] = (0, 0),
    keep_packets: bool = False,
) -> SourceClip:
    """The clip's probe and packet index, and whether its packets fit an output of that
    size and frame rate; clips that cannot be copied get a full (decoding) probe.

    ``keep_audio`` = (head, tail) seconds: the audio packets within ``head`` seconds of the
    clip's start and ``tail`` seconds of its end are kept in ``audio.edges``.
    ``keep_packets``: keep every packet of a copyable clip in ``packets``."""
    with open_packets(path) as container:
        if not container.streams.video:
            raise unreadable(path, "it has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        why = _video_mismatch(container, width, height, fps)
        pts, keys, sound, demuxed = _demux_index(
            container, _keeper(container, keep_audio), keep_packets
        )
        audio = _audio_params(container, sound)
        if why is None and (not _is_cfr(pts) or len(pts) != stream.frames):
            why = "not constant frame rate"
        if why is not None:
            return SourceClip(probe_clip(path), None, None, audio, why)
        index = GopIndex.from_pts(pts, keys)
        info = _copyable_info(path, container, len(pts), fps)
        extradata = bytes(ctx.extradata or b"")
        params = VideoParams(extradata, str(ctx.profile), int(ctx.level), _nal_size(extradata))
        return SourceClip(info, index, params, audio, None, demuxed)


def _video_mismatch(container: InputContainer, width: int, height: int, fps: int) -> str | None:
    """Why the video cannot be copied into a width x height, fps output, or None."""
    stream = container.streams.video[0]
    ctx = stream.codec_context
    if ctx.name != "h264":
        return f"{ctx.name} is not H.264"
    if str(ctx.profile) not in EIGHT_BIT_420:
        return f"H.264 profile {ctx.profile} is not 8-bit 4:2:0"
    if (ctx.width, ctx.height) != (width, height):
        return f"{ctx.width}x{ctx.height} differs from the output's {width}x{height}"
    if stream.average_rate is None or Fraction(stream.average_rate) != fps:
        return f"{stream.average_rate} fps differs from the output's {fps}"
    if ctx.color_range == FULL_RANGE:
        return "full-range colour differs from the output's limited range"
    if not ctx.extradata:
        return "no avcC decoder configuration"
    return None


Keeper = Callable[[int], bool]
"""Whether to keep the audio packet starting on this sample (of the clip's decoded audio)."""


def _keeper(container: InputContainer, keep: tuple[float, float]) -> Keeper:
    """Keep packets that start before ``head`` seconds or end after ``tail`` seconds before
    the end of the clip (its video or its declared audio, whichever ends first)."""
    head, tail = keep
    audio = container.streams.audio[0] if container.streams.audio else None
    if audio is None or not audio.codec_context.sample_rate or (head <= 0 and tail <= 0):
        return lambda at: False
    rate = audio.codec_context.sample_rate
    video = container.streams.video[0]
    ends = [float(video.frames / video.average_rate)] if video.frames and video.average_rate else []
    if audio.duration is not None and audio.time_base is not None:
        ends.append(float(audio.duration * audio.time_base))
    if not ends:
        return lambda at: True
    before, after = head * rate, (min(ends) - tail) * rate
    return lambda at: at < before or at + 1024 > after


def _demux_index(
    container: InputContainer, keep: Keeper, keep_packets: bool
) -> tuple[list[int], list[bool], AudioScan, Demuxed | None]:
    """Video packets' pts and keyframe flags in decode order, the audio's first timestamp
    and kept packets, and every packet if ``keep_packets``."""
    video = container.streams.video[0]
    streams = [video, *container.streams.audio[:1]]
    audio = container.streams.audio[0] if container.streams.audio else None
    num, den = _per_sample(audio)
    pts: list[int] = []
    keys: list[bool] = []
    first: int | None = None
    kept: list[tuple[int, int, bytes]] = []
    pictures: list[Packet] = []
    sounds: list[tuple[int, Packet]] = []
    n = 0
    for packet in container.demux(streams):
        if packet.size == 0 or packet.pts is None:
            continue
        if packet.stream_index == video.index:
            pts.append(packet.pts)
            keys.append(packet.is_keyframe)
            if keep_packets:
                pictures.append(packet)
            continue
        if first is None:
            first = packet.pts
        at = to_samples(packet.pts, num, den)
        if keep(at):
            kept.append((n, at, bytes(packet)))
        if keep_packets:
            sounds.append((at, packet))
        n += 1
    demuxed = Demuxed(tuple(pictures), tuple(sounds)) if keep_packets else None
    return pts, keys, AudioScan(first, _runs(kept, n)), demuxed


def to_samples(pts: int, num: int, den: int) -> int:
    """``int(pts * num / den)`` (rounded toward zero) in integers: a timestamp in samples."""
    q, r = divmod(pts * num, den)
    return q + 1 if r and q < 0 else q


def _per_sample(audio: AudioStream | None) -> tuple[int, int]:
    """Samples per tick of the audio's time base, as a fraction (0/1 when unknown)."""
    if audio is None or audio.time_base is None or not audio.codec_context.sample_rate:
        return 0, 1
    ratio = Fraction(audio.time_base) * audio.codec_context.sample_rate
    return ratio.numerator, ratio.denominator


def _runs(kept: list[tuple[int, int, bytes]], count: int) -> tuple[PacketRun, ...]:
    """Kept packets (index, first sample, bytes) grouped into runs of consecutive ones."""
    runs = []
    for _, grouped in itertools.groupby(enumerate(kept), key=lambda e: e[1][0] - e[0]):
        group = [item for _, item in grouped]
        at, data = tuple(g[1] for g in group), tuple(g[2] for g in group)
        runs.append(PacketRun(at, data, group[0][0] == 0, group[-1][0] == count - 1))
    return tuple(runs)


def _is_cfr(pts: list[int]) -> bool:
    ordered = sorted(pts)
    steps = {b - a for a, b in itertools.pairwise(ordered)}
    return len(steps) <= 1 and (not steps or steps.pop() > 0)


def _audio_params(container: InputContainer, sound: AudioScan) -> AudioParams | None:
    first = sound.first
    if not container.streams.audio or first is None:
        return None
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    if ctx.name != "aac" or stream.time_base is None or not ctx.sample_rate:
        return None
    per_sample = Fraction(stream.time_base) * ctx.sample_rate
    grid = int(first * per_sample) % 1024
    duration = stream.duration if stream.duration is not None else 0
    samples = int(duration * per_sample)
    return AudioParams(
        bytes(ctx.extradata or b""),
        ctx.sample_rate,
        ctx.layout.nb_channels,
        grid,
        samples,
        sound.edges,
    )


def _copyable_info(path: Path, container: InputContainer, frames: int, fps: int) -> ClipInfo:
    """The probe of a clip whose video is known to match the output's format."""
    ctx = container.streams.video[0].codec_context
    audio = container.streams.audio[0].codec_context if container.streams.audio else None
    return ClipInfo(
        path=path,
        width=ctx.width,
        height=ctx.height,
        fps=Fraction(fps),
        duration=float(Fraction(frames, fps)),
        frame_count=frames,
        video_codec=ctx.name,
        audio_codec=None if audio is None else audio.name,
        sample_rate=None if audio is None else audio.sample_rate,
        audio_channels=None if audio is None else audio.layout.nb_channels,
        pixel_format="yuv420p",
    )


def _nal_size(avcc: bytes) -> int:
    """NAL length field size from an avcC record (lengthSizeMinusOne in byte 4)."""
    return (avcc[4] & 3) + 1 if len(avcc) > 4 else 4
