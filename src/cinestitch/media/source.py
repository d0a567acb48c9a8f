"""Scan a stitch input without decoding it: its probe, its packet index, and whether its
video and audio packets can be copied into the output as they are.

Opening with ``skip_frame=all`` keeps libavformat from decoding pictures while it probes
(about 4 ms instead of 60 ms at 720p), which matters on the cut path where nothing else is
decoded at all.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from av.container import InputContainer

from cinestitch.media.container import open_input, unreadable
from cinestitch.media.gop import GopIndex
from cinestitch.media.probe import probe_clip
from cinestitch.media.types import ClipInfo

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
class AudioParams:
    """A clip's AAC track: its decoder config, rate and where its packet grid lies."""

    extradata: bytes
    rate: int
    channels: int
    grid: int
    """First packet's timestamp modulo 1024, in samples: packets start on this grid."""
    samples: int
    """Declared length in samples (without priming and end padding)."""


@dataclass(frozen=True)
class SourceClip:
    """One input as the splicer sees it. ``index`` is None when its video cannot be copied,
    and ``why`` then says why in a few words."""

    info: ClipInfo
    index: GopIndex | None
    video: VideoParams | None
    audio: AudioParams | None
    why: str | None


def open_packets(path: Path) -> contextlib.AbstractContextManager[InputContainer]:
    """Open ``path`` for demuxing only: no picture is decoded while probing."""
    return open_input(path, options={"skip_frame": "all"})


def scan_source(path: Path, width: int, height: int, fps: int) -> SourceClip:
    """The clip's probe and packet index, and whether its packets fit an output of that
    size and frame rate; clips that cannot be copied get a full (decoding) probe."""
    with open_packets(path) as container:
        if not container.streams.video:
            raise unreadable(path, "it has no video stream")
        stream = container.streams.video[0]
        ctx = stream.codec_context
        why = _video_mismatch(container, width, height, fps)
        pts, keys, audio_first = _demux_index(container)
        audio = _audio_params(container, audio_first)
        if why is None and (not _is_cfr(pts) or len(pts) != stream.frames):
            why = "not constant frame rate"
        if why is not None:
            return SourceClip(probe_clip(path), None, None, audio, why)
        index = GopIndex.from_pts(pts, keys)
        info = _copyable_info(path, container, len(pts), fps)
        extradata = bytes(ctx.extradata or b"")
        params = VideoParams(extradata, str(ctx.profile), int(ctx.level), _nal_size(extradata))
        return SourceClip(info, index, params, audio, None)


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


def _demux_index(container: InputContainer) -> tuple[list[int], list[bool], int | None]:
    """Video packets' pts and keyframe flags in decode order, and the first audio pts."""
    video = container.streams.video[0]
    streams = [video, *container.streams.audio[:1]]
    pts: list[int] = []
    keys: list[bool] = []
    audio_first: int | None = None
    for packet in container.demux(streams):
        if packet.size == 0 or packet.pts is None:
            continue
        if packet.stream.index == video.index:
            pts.append(packet.pts)
            keys.append(packet.is_keyframe)
        elif audio_first is None:
            audio_first = packet.pts
    return pts, keys, audio_first


def _is_cfr(pts: list[int]) -> bool:
    ordered = sorted(pts)
    steps = {b - a for a, b in itertools.pairwise(ordered)}
    return len(steps) <= 1 and (not steps or steps.pop() > 0)


def _audio_params(container: InputContainer, first: int | None) -> AudioParams | None:
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
        bytes(ctx.extradata or b""), ctx.sample_rate, ctx.layout.nb_channels, grid, samples
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
