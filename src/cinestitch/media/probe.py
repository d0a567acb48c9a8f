"""Read what a video file holds into a plain ``ClipInfo``, without decoding pictures.

Duration comes from the video stream (frames / fps), not the container: the container's
duration includes AAC padding and edit lists, and the stitcher lays out whole frames.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from av.container import InputContainer
from av.video.stream import VideoStream

from cinestitch.errors import MediaError
from cinestitch.media.container import audio_stream, open_input, unreadable, video_stream
from cinestitch.media.types import ClipInfo


def probe_clip(path: Path) -> ClipInfo:
    """Size, frame rate, frame count, duration and codecs of the video at ``path``."""
    with open_input(path) as container:
        video = video_stream(container, path)
        fps = frame_rate(video, path)
        width, height = video.codec_context.width, video.codec_context.height
        codec = video.codec_context.name
        pixel_format = video.codec_context.pix_fmt
        frames = video.frames or count_packets(container, video)
        if frames <= 0:
            raise unreadable(path, "its video stream has no frames")
        audio = audio_stream(container)
        if audio is None:
            audio_codec, rate, channels = None, None, None
        else:
            ctx = audio.codec_context
            audio_codec, rate, channels = ctx.name, ctx.sample_rate, ctx.layout.nb_channels
    return ClipInfo(
        path=path,
        width=width,
        height=height,
        fps=fps,
        duration=float(frames / fps),
        frame_count=frames,
        video_codec=codec,
        audio_codec=audio_codec,
        sample_rate=rate,
        audio_channels=channels,
        pixel_format=pixel_format,
    )


def frame_rate(video: VideoStream, path: Path) -> Fraction:
    """The stream's average frame rate (guessed when the container does not say)."""
    rate = video.average_rate or video.guessed_rate
    if not rate:
        raise MediaError(f"{path}: the video stream does not say its frame rate")
    return Fraction(rate)


def count_packets(container: InputContainer, video: VideoStream) -> int:
    """Frames of a stream whose header does not count them (Matroska, WebM, raw streams)."""
    return sum(1 for packet in container.demux(video) if packet.size)
