"""The packets a smart render copies, read from each clip in one pass.

A clip's video and audio packets are copied into different places of the output, and the
muxer interleaves the two tracks, so the video of one clip is wanted while the audio of the
previous one is still being written. ``PacketShelf`` opens each copied clip once, demuxes
both of its streams together and keeps the packets it will copy until both tracks have
taken them: one open per clip, and only the clips between the two tracks' positions (one or
two) in memory. Clips whose packets the scan kept (small inputs) are not opened at all.
A clip may be copied in several runs (text burned into frames between them): its video
packets are then handed out run by run, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinestitch.media.source import Demuxed, open_packets, to_samples
from cinestitch.media.splice import AudioCopy, VideoCopy

if TYPE_CHECKING:
    import av

    Packet = av.Packet[Any]
else:
    Packet = Any


@dataclass
class Shelved:
    """One clip's copied packets: video in decode order, audio as (first sample, packet)."""

    video: list[list[Packet]] | None = None
    """Per copied run of the clip, in order, the runs not yet taken."""
    audio: list[tuple[int, Packet]] | None = None


@dataclass
class PacketShelf:
    """Copied packets by clip, each clip demuxed once when a track first asks for it."""

    paths: list[Path]
    video: dict[int, list[VideoCopy]]
    audio: dict[int, AudioCopy]
    scanned: dict[int, Demuxed]
    """Packets the scan kept, by clip: used instead of opening it (and then dropped)."""
    _shelf: dict[int, Shelved] = field(default_factory=dict)

    @classmethod
    def of(
        cls, paths: list[Path], pieces: list[object], scanned: list[Demuxed | None]
    ) -> PacketShelf:
        video: dict[int, list[VideoCopy]] = {}
        for p in pieces:
            if isinstance(p, VideoCopy):
                video.setdefault(p.clip, []).append(p)
        audio = {p.clip: p for p in pieces if isinstance(p, AudioCopy)}
        kept = {i: d for i, d in enumerate(scanned) if d is not None}
        return cls(paths, video, audio, kept)

    def video_packets(self, clip: int) -> list[Packet]:
        """The packets of the clip's next video copy, in decode order (taken off the shelf)."""
        shelved = self._load(clip)
        packets = shelved.video.pop(0) if shelved.video else []
        if not shelved.video:
            shelved.video = None
            self._forget(clip)
        return packets

    def audio_packets(self, clip: int) -> list[tuple[int, Packet]]:
        """(first sample, packet) for the packets of the clip's audio copy."""
        packets = self._load(clip).audio
        self._load(clip).audio = None
        self._forget(clip)
        return packets or []

    def _forget(self, clip: int) -> None:
        shelved = self._shelf[clip]
        if shelved.video is None and shelved.audio is None:
            del self._shelf[clip]

    def _load(self, clip: int) -> Shelved:
        if clip not in self._shelf:
            self._shelf[clip] = self._read(clip)
        return self._shelf[clip]

    def _read(self, clip: int) -> Shelved:
        """Demux the clip once (or take what the scan kept), keeping the packets its copies
        use."""
        video, audio = self.video.get(clip), self.audio.get(clip)
        scanned = self.scanned.pop(clip, None)
        if scanned is not None:
            return Shelved(
                [list(scanned.video[v.first_packet : v.stop_packet]) for v in video]
                if video
                else None,
                [(at, p) for at, p in scanned.audio if _within(audio, at)] if audio else None,
            )
        pictures: list[list[Packet]] = [[] for _ in video or ()]
        sounds: list[tuple[int, Packet]] = []
        with open_packets(self.paths[clip]) as container:
            streams: list[Any] = [container.streams.video[0]]
            per_sample = Fraction(0)
            if audio is not None:
                sound = container.streams.audio[0]
                per_sample = Fraction(sound.time_base or 0) * sound.codec_context.sample_rate
                streams.append(sound)
            num, den = per_sample.numerator, per_sample.denominator
            n = -1
            for packet in container.demux(streams):
                if packet.size == 0 or packet.pts is None:
                    continue
                if packet.stream_index == streams[0].index:
                    n += 1
                    for run, v in enumerate(video or ()):
                        if v.first_packet <= n < v.stop_packet:
                            pictures[run].append(packet)
                elif audio is not None:
                    at = to_samples(packet.pts, num, den)
                    if _within(audio, at):
                        sounds.append((at, packet))
        return Shelved(pictures if video else None, sounds if audio else None)


def _within(copy: AudioCopy, at: int) -> bool:
    """Whether the packet starting on clip sample ``at`` is one the audio copy lays down."""
    return copy.source <= at < copy.source + copy.stop - copy.start
