"""Render a ``StitchPlan`` into one MP4: plan the timeline, then stream frames and samples.

Frames are decoded, conformed, faded or blended, and encoded one at a time; at most two clips
are open at once (both sides of a crossfade) and no picture is kept beyond the one being
shown. Audio is produced alongside, up to the start of the next frame, so the two tracks are
interleaved and stay in sync. Mp4Writer encodes bit-exactly, so equal plans give equal bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import closing
from pathlib import Path

import av

from cinestitch.errors import MediaError
from cinestitch.media.audio import AudioMix
from cinestitch.media.captions import plan_text
from cinestitch.media.container import decoded_video
from cinestitch.media.probe import probe_clip
from cinestitch.media.timeline import ClipTrack, Crossfade, Plain, Timeline, plan_timeline
from cinestitch.media.types import ClipInfo, StitchPlan
from cinestitch.media.writer import Mp4Writer
from cinestitch.media.yuv import Yuv, black, blend, conform, fade

Progress = Callable[[int, int], None]


def stitch_clips(plan: StitchPlan, dest: Path, progress: Progress | None = None) -> ClipInfo:
    """Write the stitched video to ``dest`` atomically and return its probe.

    ``progress(frames_done, frames_total)`` is called after each frame is written.
    """
    infos = [probe_clip(spec.path) for spec in plan.clips]
    timeline = plan_timeline(plan, infos)
    total = timeline.total_frames
    writer = Mp4Writer(dest, plan.width, plan.height, plan.fps, plan.encoder, audio=True)
    text = plan_text(plan, timeline)
    frames = render_frames(timeline)
    with (
        writer,
        closing(AudioMix.of_plan(timeline, plan)) as mix,
        closing(frames if text is None else text.applied(frames, 0)) as pictures,
    ):
        for done, picture in enumerate(pictures, start=1):
            writer.write_frame(picture)
            writer.write_audio(mix.until_frame(done))
            if progress is not None:
                progress(done, total)
    return probe_clip(dest)


class ClipReader:
    """One clip's pictures by clip frame, conformed to the output; decodes forward only."""

    def __init__(self, track: ClipTrack, timeline: Timeline) -> None:
        self.track, self.timeline = track, timeline
        self._frames = decoded_video(track.path)
        self._index = -1
        self._frame: av.VideoFrame | None = None
        self._picture: Yuv | None = None

    def picture(self, i: int) -> Yuv:
        """The picture shown at clip frame ``i``; repeats the last one if the clip runs short."""
        wanted = self.track.source_frame(i, self.timeline.fps)
        while self._index < wanted:
            frame = next(self._frames, None)
            if frame is None:
                break
            self._frame, self._index, self._picture = frame, self._index + 1, None
        if self._frame is None:
            raise MediaError(f"{self.track.path}: not a readable video — no frame decodes")
        if self._picture is None:
            self._picture = conform(self._frame, self.timeline.width, self.timeline.height)
        return self._picture

    def close(self) -> None:
        self._frames.close()


def render_frames(timeline: Timeline) -> Generator[Yuv, None, None]:
    """The output pictures in order (a generator: close it to release the open clips)."""
    readers: dict[int, ClipReader] = {}
    floor = black(timeline.width, timeline.height)

    def reader(clip: int) -> ClipReader:
        if clip not in readers:
            readers[clip] = ClipReader(timeline.tracks[clip], timeline)
        return readers[clip]

    def done_with(clip: int, stop: int) -> None:
        if stop == timeline.tracks[clip].kept:
            readers.pop(clip).close()

    try:
        for span in timeline.spans:
            if isinstance(span, Plain):
                source = reader(span.clip)
                for m in range(span.frames):
                    picture = source.picture(span.start + m)
                    yield picture if span.ramp == "none" else fade(picture, span.gain(m), floor)
                done_with(span.clip, span.stop)
            elif isinstance(span, Crossfade):
                out, into = reader(span.outgoing), reader(span.incoming)
                for m in range(span.frames):
                    yield blend(out.picture(span.start + m), into.picture(m), span.alpha(m))
                done_with(span.outgoing, span.start + span.frames)
    finally:
        for source in readers.values():
            source.close()
