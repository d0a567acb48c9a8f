"""Conform: bring a generated clip to the output's format once, so stitching can copy it.

Providers return clips of their own size, aspect ratio, frame rate and sound (24, 25 or 30 fps;
1920x1080 or 1080x1920; no audio, or mono 44.1 kHz), and many write one keyframe at the start.
The smart render copies packets only from clips in the output's exact format, and re-encodes
from the keyframe before each transition, so such a clip would make every restitch re-encode
most of it. ``conform_reason`` says in a few words why a clip needs conforming; ``conform_clip``
re-encodes it once (the result is cached by the caller) with:

- pictures fitted to the output's size (``fit``: pad, crop or stretch, placed as
  ``media.fit`` plans);
- the output's frame rate: output frame n shows the source frame on screen at n / fps, so
  frames are dropped or repeated and the duration is kept;
- stereo AAC at the output's rate: mono on both sides, other rates resampled, and silence of
  the clip's length where it has no sound, cut or padded to exactly the video's length;
- the output's CRF and preset, with a keyframe every ``GOP_SECONDS``.

Clips that already fit are used as they are. Measured on 5 x 12 s at 720p (README, "Stitching
speed"): four crossfades into clips with one keyframe each re-encode 762 of 1392 frames; with
2 s keyframes, 193.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterable
from contextlib import closing
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from cinestitch.errors import MediaError
from cinestitch.media.audio import read_audio, sample_at
from cinestitch.media.container import decoded_video, unreadable
from cinestitch.media.finish import Speed
from cinestitch.media.fit import FIT_MODES, FitMode, Placement, plan_fit
from cinestitch.media.joins import aac_config
from cinestitch.media.probe import probe_clip
from cinestitch.media.source import SourceClip, scan_source
from cinestitch.media.types import ClipInfo, EncoderSettings
from cinestitch.media.writer import Mp4Writer
from cinestitch.media.yuv import SWS_EXACT, Yuv, black, split_planes

if TYPE_CHECKING:
    from cinestitch.media.colour import Grade

GOP_SECONDS = 2
"""The keyframe interval that conformed clips get, and the longest one left alone."""
OUTPUT_RATE = EncoderSettings().sample_rate


def conform_reason(
    path: Path, width: int, height: int, fps: int, *, sample_rate: int = OUTPUT_RATE
) -> str | None:
    """Why ``path`` should be re-encoded before stitching (a few words), or ``None``.

    The fit mode plays no part: a clip of the output's size is never scaled."""
    source = scan_source(path, width, height, fps)
    if source.index is None:
        return source.why or "its packets cannot be copied"
    audio = _audio_mismatch(source, sample_rate)
    if audio is not None:
        return audio
    keys = [*source.index.clean_keyframes, len(source.index)]
    if keys[0] != 0:
        return "it does not start on a keyframe"
    longest = max(b - a for a, b in itertools.pairwise(keys))
    if longest > GOP_SECONDS * fps:
        return f"its keyframes are {longest / fps:.1f} s apart (long GOP)"
    return None


def _audio_mismatch(source: SourceClip, rate: int) -> str | None:
    """Why the clip's sound is not the output's stereo AAC-LC at ``rate``, or None."""
    info, audio = source.info, source.audio
    if not info.has_audio:
        return "it has no audio"
    if audio is None and info.audio_codec != "aac":
        return f"its audio is {info.audio_codec}, not AAC"
    if audio is None:
        return "its audio track is empty"
    if audio.channels == 1:
        return "its audio is mono"
    if audio.channels != 2:
        return f"its audio has {audio.channels} channels"
    if audio.rate != rate:
        return f"its audio is {audio.rate / 1000:g} kHz, not {rate / 1000:g} kHz"
    if audio.extradata != aac_config(EncoderSettings(sample_rate=rate)):
        return "its AAC profile differs from the output's AAC-LC"
    return None


def conform_clip(
    source: Path,
    dest: Path,
    width: int,
    height: int,
    fps: int,
    encoder: EncoderSettings,
    *,
    fit: FitMode = "pad",
    grade: Grade | None = None,
    speed: Speed | None = None,
    head: float = 0.0,
) -> ClipInfo:
    """Re-encode ``source`` to ``dest`` (atomically) in the output's format: fitted to its
    size, at its frame rate with the same duration, stereo AAC at its rate (silence if the
    clip has none), at its quality with keyframes every ``GOP_SECONDS``. A ``grade``
    recolours every picture (``media.colour``); a ``speed`` retimes the clip
    (``media.retime``), which changes its duration. ``head`` seconds at the start (whole
    output frames) are left out, as if the clip began after them (an extension's replay
    of the clip it continues, ``media.extension``)."""
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {', '.join(FIT_MODES)}, not {fit!r}")
    info = probe_clip(source)
    rate = encoder.sample_rate
    skipped = round(head * fps)
    kept = frame_count(info, fps) - skipped
    if kept < 1:
        raise MediaError(f"{source}: nothing is left after its first {head:g} s")
    start = Fraction(skipped, fps)
    length = float(info.duration - start)
    sound = read_audio(source, rate, float(start), sample_at(kept, fps, rate))
    times: Iterable[Fraction] | None = None
    if speed is not None:
        from cinestitch.media.retime import retimed_audio, retimed_frames

        times = [start + t for t in retimed_frames(length, fps, speed)]
        sound = retimed_audio(sound, rate, speed, length)
    elif skipped:
        times = (start + Fraction(n, fps) for n in range(kept))
    keyint = GOP_SECONDS * fps
    last: av.VideoFrame | None = None
    with (
        Mp4Writer(dest, width, height, fps, encoder, audio=True, keyint=keyint) as writer,
        closing(shown_frames(source, info, fps, times)) as frames,
    ):
        for n, frame in enumerate(frames):
            if frame is not last:
                picture, last = fit_frame(frame, width, height, fit), frame
                if grade is not None:
                    picture = grade.apply(picture, width, height)
            writer.write_frame(picture)
            writer.write_audio(sound[:, sample_at(n, fps, rate) : sample_at(n + 1, fps, rate)])
    return probe_clip(dest)


def frame_count(info: ClipInfo, fps: int) -> int:
    """How many frames the clip lasts at ``fps`` (its duration is kept)."""
    return max(1, round(info.duration * fps))


def shown_frames(
    source: Path, info: ClipInfo, fps: int, times: Iterable[Fraction] | None = None
) -> Generator[av.VideoFrame, None, None]:
    """The source frame on screen at each of the output's frame times (its timestamp at or
    before it; the last one past the clip's end): frames are dropped or repeated, the same
    object each time it repeats. ``times`` (seconds into the clip, never decreasing) replace
    the output's frame times n / fps, to retime the clip. A generator: close it when done
    early."""
    with closing(decoded_video(source)) as frames:
        ahead = next(frames, None)
        if ahead is None:
            raise unreadable(source, "no frame decodes")
        start = _shown_at(ahead, 0, info.fps)
        decoded, shown = 0, ahead
        if times is None:
            times = (Fraction(n, fps) for n in range(frame_count(info, fps)))
        for offset in times:
            at = start + offset
            while ahead is not None and _shown_at(ahead, decoded, info.fps) <= at + _tick(ahead):
                shown, decoded = ahead, decoded + 1
                ahead = next(frames, None)
            yield shown


def _shown_at(frame: av.VideoFrame, index: int, fps: Fraction) -> Fraction:
    """When ``frame`` appears, in seconds: its timestamp, or its index at the clip's rate."""
    if frame.pts is None or frame.time_base is None:
        return index / fps
    return frame.pts * Fraction(frame.time_base)


def _tick(frame: av.VideoFrame) -> Fraction:
    """One unit of the frame's time base: timestamps are rounded to it (1 ms in Matroska)."""
    return Fraction(frame.time_base) if frame.time_base is not None else Fraction(0)


def fit_frame(frame: av.VideoFrame, width: int, height: int, fit: FitMode) -> Yuv:
    """``frame`` as a ``width`` x ``height`` yuv420p picture, fitted as ``fit`` says; a frame
    already of that size and format passes through untouched."""
    if (frame.width, frame.height, frame.format.name) == (width, height, "yuv420p"):
        return np.asarray(frame.to_ndarray(), dtype=np.uint8)
    place = plan_fit(frame.width, frame.height, width, height, fit)
    scaled = frame.reformat(
        width=place.width, height=place.height, format="yuv420p", interpolation=SWS_EXACT
    )
    picture = np.asarray(scaled.to_ndarray(), dtype=np.uint8)
    if (place.width, place.height) == (width, height):
        return picture
    return _place(picture, place, width, height)


def _place(picture: Yuv, place: Placement, width: int, height: int) -> Yuv:
    """Copy the part of ``picture`` that falls inside the frame onto a black canvas."""
    canvas = black(width, height)
    src = split_planes(picture, place.width, place.height)
    out = split_planes(canvas, width, height)
    for plane, dst, k in zip(src, out, (1, 2, 2), strict=True):
        x, y = place.x // k, place.y // k
        ox, oy = max(0, x), max(0, y)
        sx, sy = max(0, -x), max(0, -y)
        w = min(dst.shape[1] - ox, plane.shape[1] - sx)
        h = min(dst.shape[0] - oy, plane.shape[0] - sy)
        dst[oy : oy + h, ox : ox + w] = plane[sy : sy + h, sx : sx + w]
    return canvas
