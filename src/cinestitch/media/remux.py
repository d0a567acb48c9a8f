"""Smart render: stitch by copying the clips' packets and re-encoding only around the seams.

``smart_stitch`` scans every clip's packets (no decoding), plans which output frames and
samples can be copied (``splice``), makes the seam pieces (``seams``, cached under a work
directory) and the audio joins (``joins``), then remuxes it all into one MP4 with fresh
timestamps. Each clip is opened twice: once by the scan, which also keeps the few audio
packets its joins decode, and once to copy its packets (``copies``). The joins are encoded
a few ahead of the muxer in worker threads, and every step visits each clip a bounded number
of times, so a stitch costs time linear in the number of clips. Clips whose packets cannot
be copied are rendered into pieces like the seams and named in a one-line note; when no clip
can be copied the reference ``stitch_clips`` runs.

Video timestamps are re-derived for the whole track (stitch-bench.md, gotcha 4): the output
displays frames 0..N-1, so the i-th packet in decode order gets dts = (i - D) frames, with D
the largest reorder depth of any piece, which keeps dts <= pts everywhere.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import av
import numpy as np
from av.container import OutputContainer

from cinestitch.atomic import atomic_path
from cinestitch.chapters import Chapter, plan_chapters
from cinestitch.digests import file_digest
from cinestitch.errors import MediaError
from cinestitch.media.audio import AudioMix, JoinMix, Samples
from cinestitch.media.captions import TextLayout, plan_text
from cinestitch.media.carve import carve_copies
from cinestitch.media.chapters import chapter_marks, write_chapters
from cinestitch.media.container import open_mp4_output
from cinestitch.media.copies import PacketShelf
from cinestitch.media.gop import GopIndex
from cinestitch.media.joins import AudioPacket, aac_config, encode_join
from cinestitch.media.pictures import render_range, shown_at
from cinestitch.media.seams import SeamEncoder, piece_key, read_piece, write_piece
from cinestitch.media.source import Demuxed, SourceClip, open_packets, scan_source
from cinestitch.media.splice import (
    AudioCopy,
    AudioEncode,
    AudioPiece,
    AudioSource,
    VideoCopy,
    VideoEncode,
    VideoPiece,
    audio_edges,
    audio_glide,
    audio_skews,
    plan_audio,
    plan_video,
    sample_at,
)
from cinestitch.media.stitch import Progress, stitch_clips
from cinestitch.media.timeline import Timeline, plan_timeline
from cinestitch.media.types import ClipInfo, ClipSpec, StitchPlan

Note = Callable[[str], None]
if TYPE_CHECKING:
    Packet = av.Packet[Any]
else:
    Packet = av.Packet
LOCK = threading.Lock()
"""Serialises progress reports from seams encoded in parallel."""
TICKS_PER_FRAME = 512
"""Output video time base is 1/(fps * 512), as FFmpeg's mp4 muxer picks for x264 output."""
KEEP_PACKETS_BYTES = 64 << 20
"""Inputs up to this size in all are held in memory from the scan to the mux; larger ones
are read again clip by clip, so memory does not grow with the video."""
JOINS_AHEAD = 8
"""Audio joins encoded ahead of the muxer, per worker thread."""
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class SmartResult:
    """The stitched file's probe and how it was made."""

    info: ClipInfo
    copied_frames: int = 0
    encoded_frames: int = 0
    pieces_encoded: int = 0
    pieces_reused: int = 0
    notes: list[str] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    """The chapters written into the file (none unless titles were given)."""
    clips: list[ClipInfo] = field(default_factory=list)
    """Each input as the stitch read it (what later steps may reuse instead of probing)."""


@dataclass
class Job:
    """One smart stitch in progress: the plan, its clips and where its pieces go."""

    plan: StitchPlan
    dest: Path
    work_dir: Path
    sources: list[SourceClip]
    timeline: Timeline
    indexes: list[GopIndex | None]
    progress: Progress | None
    result: SmartResult
    digests: dict[Path, str] = field(default_factory=dict)
    scanned: list[Demuxed | None] = field(default_factory=list)
    """Packets the scan kept (small inputs), by clip, for the muxer to copy."""
    pieces: dict[int, Path] = field(default_factory=dict)
    """Each seam piece's file, by its first output frame."""
    text: TextLayout | None = None
    """Captions and comments burned into the frames that carry them."""
    chapters: list[Chapter] = field(default_factory=list)
    """Written into the output's container as it is muxed."""
    done: int = 0

    def tick(self, frames: int = 1) -> None:
        with LOCK:
            self.done += frames
            if self.progress is not None:
                self.progress(self.done, self.timeline.total_frames)


def smart_stitch(
    plan: StitchPlan,
    dest: Path,
    work_dir: Path,
    progress: Progress | None = None,
    note: Note | None = None,
    titles: Sequence[tuple[str, str]] | None = None,
) -> SmartResult:
    """Write the stitched video to ``dest`` atomically; equal plans give equal bytes.

    ``titles``: (segment id, chapter title) of each clip, in order; the output then carries
    one chapter per clip, starting where its first kept frame shows."""
    sources = _scan(plan)
    scanned = [s.packets for s in sources]
    sources = [replace(s, packets=None) for s in sources]
    template = next((s for s in sources if s.index is not None), None)
    infos = [s.info for s in sources]
    notes: list[str] = []
    if template is None:
        notes += [f"{s.info.path.name} re-encoded — {s.why}" for s in sources]
        _tell(notes, note)
        result = SmartResult(stitch_clips(plan, dest, progress), notes=notes, clips=infos)
        if titles is not None:
            result.chapters = plan_chapters(plan_timeline(plan, infos), titles)
            write_chapters(dest, result.chapters)
        return result
    sources = [_against(s, template) for s in sources]
    notes += [f"{s.info.path.name} re-encoded — {s.why}" for s in sources if s.why]
    timeline = plan_timeline(plan, infos)
    indexes = [s.index for s in sources]
    job = Job(plan, dest, work_dir, sources, timeline, indexes, progress, SmartResult(_info(plan)))
    job.scanned = scanned
    job.result.clips = infos
    if titles is not None:
        job.chapters = job.result.chapters = plan_chapters(timeline, titles)
    video = plan_video(timeline, indexes)
    notes += _gop_notes(job, video)
    job.text = plan_text(plan, timeline)
    if job.text is not None:
        video = carve_copies(video, job.text.ranges, indexes)
    audio_sources, audio_notes = _audio_sources(job)
    _tell(notes + audio_notes, note)
    job.result.notes = notes + audio_notes
    skews = audio_skews(timeline, plan.encoder.sample_rate, audio_sources)
    audio = plan_audio(timeline, plan.encoder.sample_rate, audio_sources, skews)
    delays = _make_pieces(job, template, video)
    _mux(job, template, video, audio, skews, delays)
    return job.result


def _scan(plan: StitchPlan) -> list[SourceClip]:
    """Every clip scanned, side by side in as many threads as the settings allow (opening
    and demuxing run in libav, mostly outside the GIL)."""
    keep = _small(plan)

    def scan(clip: tuple[ClipSpec, tuple[float, float]]) -> SourceClip:
        return scan_source(clip[0].path, plan.width, plan.height, plan.fps, clip[1], keep)

    clips = list(zip(plan.clips, audio_edges(plan), strict=True))
    with ThreadPoolExecutor(max_workers=max(1, plan.encoder.threads)) as pool:
        return list(pool.map(scan, clips))


def _small(plan: StitchPlan) -> bool:
    """Whether the clips are small enough for the scan to keep all their packets, so that
    each is opened once (a second open and demux is about a third of the cut path's time)."""
    size = 0
    for clip in plan.clips:
        with contextlib.suppress(OSError):
            size += clip.path.stat().st_size
    return size <= KEEP_PACKETS_BYTES


def _tell(notes: list[str], note: Note | None) -> None:
    for line in notes:
        if note is not None:
            note(line)


def _against(source: SourceClip, template: SourceClip) -> SourceClip:
    """``source`` unless its H.264 configuration differs from the track's (the template's)."""
    if source.video is None or template.video is None:
        return source
    if source.video.extradata == template.video.extradata:
        return source
    why = f"its H.264 parameters differ from {template.info.path.name}'s"
    return SourceClip(source.info, None, None, source.audio, why)


def _gop_notes(job: Job, video: list[VideoPiece]) -> list[str]:
    """A note for each copyable clip that has no keyframe to copy from: a long GOP, or a
    clip so short that its one keyframe lies inside its transition."""
    copied = {p.clip for p in video if isinstance(p, VideoCopy)}
    notes = []
    for i, s in enumerate(job.sources):
        if s.index is None or i in copied:
            continue
        why = "one keyframe, at its start" if len(s.index.clean_keyframes) == 1 else "long GOP"
        notes.append(f"{s.info.path.name} re-encoded — no keyframe after its transitions ({why})")
    return notes


def _audio_sources(job: Job) -> tuple[list[AudioSource | None], list[str]]:
    """Per clip, its AAC track if its packets can be copied; notes for the ones that can't."""
    enc = job.plan.encoder
    if job.plan.mixes_audio:
        return [None] * len(job.sources), []
    config = aac_config(enc)
    out: list[AudioSource | None] = []
    notes: list[str] = []
    for s in job.sources:
        a = s.audio
        ok = a is not None and (a.rate, a.channels, a.extradata) == (enc.sample_rate, 2, config)
        out.append(AudioSource(a.grid, a.samples) if ok and a is not None else None)
        if not ok and s.info.has_audio:
            notes.append(f"{s.info.path.name} audio re-encoded — not {enc.sample_rate} Hz AAC-LC")
    return out, notes


def _info(plan: StitchPlan) -> ClipInfo:
    return ClipInfo(
        path=Path(),
        width=plan.width,
        height=plan.height,
        fps=Fraction(plan.fps),
        duration=0.0,
        frame_count=0,
        video_codec="h264",
        audio_codec="aac",
        sample_rate=plan.encoder.sample_rate,
        audio_channels=2,
        pixel_format="yuv420p",
    )


def _make_pieces(job: Job, template: SourceClip, video: list[VideoPiece]) -> dict[int, int]:
    """Encode (or find cached) every seam piece; their reorder delays by start frame.

    Seams are encoded side by side, as many at once as the settings allow threads, each by a
    one-thread x264: a short run never fills x264's frame threads (stitch-bench.md), and
    libav releases the GIL while it decodes and encodes. Each seam has its own encoder, so
    its bytes do not depend on the scheduling."""
    assert template.video is not None
    t = job.timeline
    encoder = SeamEncoder(t.width, t.height, t.fps, job.plan.encoder, template.video)
    seams = [piece for piece in video if isinstance(piece, VideoEncode)]
    with ThreadPoolExecutor(max_workers=job.plan.encoder.threads) as pool:
        made = list(pool.map(lambda piece: _piece(job, encoder, piece), seams))
    return {piece.start: delay for piece, delay in zip(seams, made, strict=True)}


def piece_path(job: Job, encoder: SeamEncoder, piece: VideoEncode) -> Path:
    """Where the piece lives: named by the digest of what decides its bytes."""
    shown = shown_at(job.timeline, piece.start, piece.stop)
    frames = [
        [s.kind, s.weight, [[job_digest(job, c), _source_frame(job, c, f)] for c, f in s.parts]]
        for s in shown
    ]
    parts = {**encoder.digest_parts(), "frames": frames}
    text = job.text.recipe(piece.start, piece.stop) if job.text is not None else []
    key = piece_key({**parts, "text": text} if text else parts)
    return job.work_dir / f"{key}.seam"


def job_digest(job: Job, clip: int) -> str:
    path = job.timeline.tracks[clip].path
    if path not in job.digests:
        job.digests[path] = file_digest(path)
    return job.digests[path]


def _source_frame(job: Job, clip: int, frame: int) -> int:
    return job.timeline.tracks[clip].source_frame(frame, job.timeline.fps)


def _piece(job: Job, encoder: SeamEncoder, piece: VideoEncode) -> int:
    path = piece_path(job, encoder, piece)
    job.pieces[piece.start] = path
    stored = read_piece(path)
    frames = piece.stop - piece.start
    if stored is not None and len(stored.packets) == frames:
        _count(job, frames, reused=True)
        job.tick(frames)
        return stored.delay
    pictures = render_range(job.timeline, piece.start, piece.stop, job.indexes)
    if job.text is not None:
        pictures = job.text.applied(pictures, piece.start)
    try:
        made = encoder.encode(pictures, job.tick)
    finally:
        pictures.close()
    if len(made.packets) != frames:
        raise MediaError(f"stitch: a seam gave {len(made.packets)} frames, not {frames}")
    write_piece(path, made)
    _count(job, frames, reused=False)
    return made.delay


def _count(job: Job, frames: int, reused: bool) -> None:
    with LOCK:
        job.result.encoded_frames += frames
        job.result.pieces_reused += reused
        job.result.pieces_encoded += not reused


def _mux(
    job: Job,
    template: SourceClip,
    video: list[VideoPiece],
    audio: list[AudioPiece],
    skews: list[int],
    delays: dict[int, int],
) -> None:
    """Write every piece's packets into ``dest`` with fresh, interleaved timestamps."""
    plan = job.plan
    assert template.index is not None
    used = [job.indexes[p.clip] for p in video if isinstance(p, VideoCopy)]
    depth = max([*delays.values(), *(i.delay for i in used if i is not None), 0])
    shelf = PacketShelf.of([t.path for t in job.timeline.tracks], [*video, *audio], job.scanned)
    job.scanned = []
    with (
        atomic_path(job.dest) as tmp,
        open_packets(template.info.path) as model,
        open_mp4_output(tmp) as out,
        ThreadPoolExecutor(max_workers=max(1, plan.encoder.threads)) as pool,
    ):
        vout = out.add_stream_from_template(model.streams.video[0])
        vout.time_base = Fraction(1, plan.fps * TICKS_PER_FRAME)
        aout = _audio_stream(out, job)
        if job.chapters:
            out.set_chapters(chapter_marks(job.chapters))
        frames = _video_packets(job, video, depth, vout, shelf)
        sounds = _audio_packets(job, audio, skews, aout, shelf, pool)
        for packet in heapq.merge(frames, sounds, key=lambda x: x[0]):
            out.mux(packet[1])
    total = job.timeline.total_frames
    job.result.copied_frames = total - job.result.encoded_frames
    job.result.info = _done_info(job)


def _audio_stream(out: OutputContainer, job: Job) -> Any:
    enc = job.plan.encoder
    stream = out.add_stream("aac", rate=enc.sample_rate, layout="stereo")
    stream.bit_rate = enc.audio_bitrate
    stream.codec_context.flags |= av.codec.context.Flags.bitexact
    stream.time_base = Fraction(1, enc.sample_rate)
    return stream


def _done_info(job: Job) -> ClipInfo:
    total, fps = job.timeline.total_frames, job.plan.fps
    base = job.result.info
    return ClipInfo(
        **{**vars(base), "path": job.dest, "duration": total / fps, "frame_count": total}
    )


def _video_packets(
    job: Job, video: list[VideoPiece], depth: int, stream: Any, shelf: PacketShelf
) -> Iterator[tuple[int, Packet]]:
    """Output video packets in decode order, keyed by dts in 1/(fps * rate) seconds."""
    rate, ticks = job.plan.encoder.sample_rate, TICKS_PER_FRAME
    base = Fraction(1, job.plan.fps * ticks)
    for i, (display, packet) in enumerate(_video_sources(job, video, shelf)):
        packet.stream = stream
        packet.time_base = base
        packet.pts, packet.dts = display * ticks, (i - depth) * ticks
        packet.duration = ticks
        yield (i - depth) * rate, packet


def _video_sources(
    job: Job, video: list[VideoPiece], shelf: PacketShelf
) -> Iterator[tuple[int, Packet]]:
    """(output display index, packet) for every piece in output order."""
    for piece in video:
        if isinstance(piece, VideoCopy):
            yield from _copied_video(job, piece, shelf)
        else:
            yield from _stored_video(job, piece)


def _copied_video(job: Job, piece: VideoCopy, shelf: PacketShelf) -> Iterator[tuple[int, Packet]]:
    index = job.indexes[piece.clip]
    assert index is not None
    packets = shelf.video_packets(piece.clip)
    offset = piece.start - piece.first
    display = index.display[piece.first_packet : piece.stop_packet]
    yield from zip((offset + d for d in display), packets, strict=True)
    job.tick(len(packets))


def _stored_video(job: Job, piece: VideoEncode) -> Iterator[tuple[int, Packet]]:
    stored = read_piece(job.pieces[piece.start])
    if stored is None:
        raise MediaError(f"stitch: the seam piece for frames {piece.start}.. vanished")
    for p in stored.packets:
        packet = av.Packet(p.data)
        packet.is_keyframe = p.keyframe
        yield piece.start + p.display, packet


def _audio_packets(
    job: Job,
    audio: list[AudioPiece],
    skews: list[int],
    stream: Any,
    shelf: PacketShelf,
    pool: Executor,
) -> Iterator[tuple[int, Packet]]:
    """Output audio packets in order, keyed by pts in 1/(fps * rate) seconds."""
    fps, rate = job.plan.fps, job.plan.encoder.sample_rate
    base = Fraction(1, rate)
    joins = _joins(job, audio, _signal(job, audio, skews), pool)
    for pts, duration, packet in _audio_piece_packets(audio, joins, shelf):
        packet.stream = stream
        packet.time_base = base
        packet.pts = packet.dts = pts
        packet.duration = duration
        yield pts * fps, packet


def _signal(job: Job, audio: list[AudioPiece], skews: list[int]) -> Callable[[int, int], Samples]:
    """The output's sound for re-encoded pieces: the joins' mix, or the whole reference mix
    (with the music bed) read in order."""
    t, rate = job.timeline, job.plan.encoder.sample_rate
    if not job.plan.mixes_audio:
        glide = audio_glide(audio, skews, sample_at(t.total_frames, t.fps, rate))
        return JoinMix(t, rate, glide, [s.audio for s in job.sources])
    return SequentialMix(AudioMix.of_plan(t, job.plan), t.fps, rate)


def _joins(
    job: Job, audio: list[AudioPiece], signal: Callable[[int, int], Samples], pool: Executor
) -> Iterator[list[AudioPacket]]:
    """Each re-encoded piece's packets, in order: the joins are independent and encoded in
    the pool a few ahead of the muxer; the music bed's mix must be read in order, so it is
    encoded here."""
    enc, fps = job.plan.encoder, job.plan.fps
    total = sample_at(job.timeline.total_frames, fps, enc.sample_rate)
    pieces = [p for p in audio if isinstance(p, AudioEncode)]
    if job.plan.mixes_audio:
        return (encode_join(signal, p.start, p.stop, total, enc, None) for p in pieces)

    def encode(p: AudioEncode) -> list[AudioPacket]:
        return encode_join(signal, p.start, p.stop, total, enc)

    return in_order(pool, encode, pieces, JOINS_AHEAD * max(1, enc.threads))


def in_order(pool: Executor, fn: Callable[[T], R], items: Iterable[T], ahead: int) -> Iterator[R]:
    """``map(fn, items)`` computed in ``pool`` with at most ``ahead`` results outstanding, so
    the work runs in parallel while memory stays bounded."""
    source = iter(items)
    pending: deque[Future[R]] = deque(pool.submit(fn, x) for x in itertools.islice(source, ahead))
    while pending:
        done = pending.popleft().result()
        for x in itertools.islice(source, 1):
            pending.append(pool.submit(fn, x))
        yield done


class SequentialMix:
    """``AudioMix`` (frame by frame, with the bed) read as consecutive sample ranges."""

    def __init__(self, mix: AudioMix, fps: int, rate: int) -> None:
        self.mix, self.fps, self.rate = mix, fps, rate
        self.frame = 0
        self.buffer: list[Samples] = []
        self.buffered = 0
        self.at = 0

    def __call__(self, a: int, b: int) -> Samples:
        if a != self.at:
            raise ValueError(f"sequential mix read at {a}, expected {self.at}")
        while self.buffered < b - a:
            self.frame += 1
            chunk = self.mix.until_frame(self.frame)
            self.buffer.append(chunk)
            self.buffered += chunk.shape[1]
        joined = np.concatenate(self.buffer, axis=1)
        out, rest = joined[:, : b - a], joined[:, b - a :]
        self.buffer, self.buffered, self.at = [rest], rest.shape[1], b
        return out


def _audio_piece_packets(
    audio: list[AudioPiece], joins: Iterator[list[AudioPacket]], shelf: PacketShelf
) -> Iterator[tuple[int, int, Packet]]:
    """(output sample, duration, packet) of every audio piece in order."""
    for piece in audio:
        if isinstance(piece, AudioCopy):
            for at, packet in shelf.audio_packets(piece.clip):
                yield piece.start + at - piece.source, 1024, packet
        else:
            for p in next(joins):
                yield p.pts, p.duration, av.Packet(p.data)
