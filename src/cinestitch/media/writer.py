"""Encode raw frames and samples into a browser-playable H.264/AAC MP4, reproducibly.

The one encoder used by the stitcher and the animatic renderer: yuv420p H.264 (libx264),
stereo AAC, ``movflags=+faststart`` (moov atom first) and bit-exact flags with a fixed thread
count, so equal input gives byte-identical files.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from cinestitch.atomic import atomic_path
from cinestitch.errors import MediaError
from cinestitch.media.types import EncoderSettings

AAC_FRAME = 1024


class Mp4Writer:
    """Write frames (``yuv420p`` planes stacked as one (h*3/2, w) uint8 array, or (h, w, 3)
    RGB) and float32 stereo audio of shape (2, n) in [-1, 1]. Use as a context manager;
    the file appears atomically on a clean exit and not at all on an error."""

    def __init__(
        self,
        dest: Path,
        width: int,
        height: int,
        fps: int,
        encoder: EncoderSettings | None = None,
        audio: bool = True,
        keyint: int | None = None,
    ) -> None:
        self.dest = dest
        self.width, self.height, self.fps = width, height, fps
        self.settings = encoder or EncoderSettings()
        self.with_audio = audio
        self.keyint = keyint if keyint is not None else 2 * fps
        """Frames between keyframes: 2 s by default, so that the smart stitch can copy all
        but about 2 s around each seam (x264's own default, 250 frames, is one keyframe
        per 10 s clip, which makes a crossfade re-encode the whole next clip)."""
        self._frames = 0
        self._samples = 0
        self._pending = np.zeros((2, 0), dtype=np.float32)
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Mp4Writer:
        tmp = self._stack.enter_context(atomic_path(self.dest))
        try:
            self._open(tmp)
        except av.FFmpegError as exc:
            self._stack.close()
            raise MediaError(f"{self.dest}: cannot open for writing — {exc}") from exc
        return self

    def _open(self, tmp: Path) -> None:
        s = self.settings
        self._out = av.open(
            str(tmp),
            "w",
            format="mp4",
            options={"movflags": "+faststart"},
            container_options={"fflags": "+bitexact"},
        )
        self._out.metadata.clear()
        v = self._out.add_stream("libx264", rate=self.fps)
        v.width, v.height, v.pix_fmt = self.width, self.height, "yuv420p"
        v.time_base = Fraction(1, self.fps)
        v.codec_context.thread_count = s.threads
        v.codec_context.flags |= av.codec.context.Flags.bitexact
        v.options = {"crf": str(s.crf), "preset": s.preset, "profile": "high"}
        v.options = {**v.options, "x264-params": f"keyint={self.keyint}"}
        self._video = v
        if self.with_audio:
            a = self._out.add_stream("aac", rate=s.sample_rate, layout="stereo")
            a.bit_rate = s.audio_bitrate
            a.codec_context.flags |= av.codec.context.Flags.bitexact
            self._audio = a

    def write_frame(self, image: npt.NDArray[np.uint8]) -> None:
        fmt = "rgb24" if image.ndim == 3 else "yuv420p"
        frame = av.VideoFrame.from_ndarray(image, format=fmt)
        if fmt != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        frame.pts = self._frames
        frame.time_base = Fraction(1, self.fps)
        self._frames += 1
        self._mux(self._video.encode(frame))

    def write_audio(self, samples: npt.NDArray[np.float32]) -> None:
        """Queue stereo samples; they are encoded in whole AAC frames."""
        if not self.with_audio:
            return
        self._pending = np.concatenate([self._pending, samples.astype(np.float32)], axis=1)
        while self._pending.shape[1] >= AAC_FRAME:
            self._encode_audio(self._pending[:, :AAC_FRAME])
            self._pending = self._pending[:, AAC_FRAME:]

    def _encode_audio(self, chunk: npt.NDArray[np.float32]) -> None:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk), format="fltp", layout="stereo"
        )
        frame.sample_rate = self.settings.sample_rate
        frame.pts = self._samples
        frame.time_base = Fraction(1, self.settings.sample_rate)
        self._samples += chunk.shape[1]
        self._mux(self._audio.encode(frame))

    def _mux(self, packets: list[av.Packet[Any]]) -> None:
        for packet in packets:
            self._out.mux(packet)

    def _finish(self) -> None:
        if self.with_audio and self._pending.shape[1]:
            self._encode_audio(self._pending)
            self._pending = self._pending[:, :0]
        self._mux(self._video.encode(None))
        if self.with_audio:
            self._mux(self._audio.encode(None))
        self._out.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            with contextlib.suppress(Exception):
                self._out.close()
            self._stack.__exit__(exc_type, exc, tb)
            return
        try:
            self._finish()
        except BaseException as err:
            self._stack.__exit__(type(err), err, err.__traceback__)
            if isinstance(err, av.FFmpegError):
                raise MediaError(f"{self.dest}: encoding failed — {err}") from err
            raise
        self._stack.__exit__(None, None, None)
