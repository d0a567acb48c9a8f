"""Is a downloaded file a whole video of about the length we asked for?

A provider's download can arrive truncated, as an HTML error page, or as a clip of another
length; none of them may reach the cache. Every frame is decoded, so a file cut short
after its header (a ``faststart`` MP4) is caught too.
"""

from __future__ import annotations

from pathlib import Path

from cinestitch.errors import MediaError
from cinestitch.media.container import open_input, unreadable, video_stream
from cinestitch.media.probe import frame_rate

VIDEO_CODECS = ("h264", "hevc", "vp9", "vp8", "av1", "libdav1d", "libaom-av1", "gif")
"""Decoder names of the codecs generated clips come in (VP8 and GIF from ComfyUI's save
nodes; the conform step re-encodes whatever cannot be copied)."""


def check_video(path: Path, expected_seconds: float, tolerance: float | None = None) -> float:
    """The duration of the video at ``path`` in seconds; ``MediaError`` saying why it is not
    a whole video (``VIDEO_CODECS``) of ``expected_seconds`` (± ``tolerance``, by default the
    larger of 1 s and 25 %: enough for padding, not for half a clip)."""
    allowed = tolerance if tolerance is not None else max(1.0, 0.25 * expected_seconds)
    with open_input(path) as container:
        video = video_stream(container, path)
        codec = video.codec_context.name
        if codec not in VIDEO_CODECS:
            raise unreadable(path, f"its video is {codec}, not H.264, H.265, VP8/9, AV1 or GIF")
        fps = frame_rate(video, path)
        frames = sum(1 for _ in container.decode(video))
    if frames == 0:
        raise unreadable(path, "no frame of it decodes")
    seconds = float(frames / fps)
    if abs(seconds - expected_seconds) > allowed:
        raise MediaError(
            f"{path}: the video lasts {seconds:.2f} s, not about {expected_seconds:g} s"
        )
    return seconds
