"""Conform across providers: clips at 25 or 30 fps, 16:9 or 9:16, mono 44.1 kHz or silent come
out at the output's size, rate and stereo 48 kHz sound, in sync, and stitch by copying."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from media_support import ClipFactory, tone
from PIL import Image

from cinestitch.media import extract_last_frame, psnr, read_frames_rgb
from cinestitch.media.conform import conform_clip, conform_reason
from cinestitch.media.fit import FitMode
from cinestitch.media.reference import extract_reference_frame
from cinestitch.media.remux import smart_stitch
from cinestitch.media.types import ClipSpec, EncoderSettings, StitchPlan, Transition

W, H, FPS, RATE = 64, 36, 24, 48_000
"""The output: 1280x720's shape at a tiny size, 24 fps, stereo 48 kHz."""
AAC_FRAME = 1024
ONSET = 0.4
"""Seconds into each test clip where its tone starts (a whole frame at 24, 25 and 30 fps)."""
Audio = tuple[int, int] | None
"""A test clip's sound: (sample rate, channels), or None for no audio track."""


def colour(k: int) -> tuple[int, int, int]:
    """The colour of a test clip's k-th frame: each frame tells its own index (up to 29) in
    steps that survive compression."""
    return 40 + 40 * (k % 5), 40 + 40 * (k // 5), 120


def provider_clip(
    path: Path, *, fps: int, width: int, height: int, audio: Audio, seconds: float = 1.0
) -> Path:
    """An H.264 MP4 as a provider might return it: frames whose colour tells their index (a
    red stripe down the left eighth), and silence, then a tone from ``ONSET``."""
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = None
        if audio is not None:
            rate, channels = audio
            sound = out.add_stream("aac", rate=rate, layout="mono" if channels == 1 else "stereo")
        for k in range(round(seconds * fps)):
            image = np.empty((height, width, 3), dtype=np.uint8)
            image[:] = colour(k)
            image[:, : width // 8] = (220, 30, 30)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = k, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None and audio is not None:
            _write_tone(out, sound, *audio, seconds)
    return path


def _write_tone(out: av.container.OutputContainer, stream: av.AudioStream, rate: int,
                channels: int, seconds: float) -> None:  # fmt: skip
    t = np.arange(round(seconds * rate)) / rate
    wave = np.where(t >= ONSET, 0.5 * np.sin(2 * np.pi * 440 * (t - ONSET)), 0.0)
    samples = np.tile(wave.astype(np.float32), (channels, 1))
    layout = "mono" if channels == 1 else "stereo"
    for at in range(0, samples.shape[1], AAC_FRAME):
        chunk = np.ascontiguousarray(samples[:, at : at + AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


@dataclass
class Decoded:
    """A file as PyAV decodes it: its video's size, rate and RGB frames; its sound."""

    width: int
    height: int
    fps: Fraction
    frames: list[np.ndarray]
    audio_codec: str | None
    rate: int
    channels: int
    audio_start: float
    """Seconds: the first decoded audio frame's timestamp."""
    samples: np.ndarray

    @property
    def seconds(self) -> float:
        return len(self.frames) / float(self.fps)

    def onset(self, after: float = 0.0) -> float:
        """When the sound first rises above a tenth of full scale, from ``after`` seconds."""
        skip = round(after * self.rate)
        loud = np.flatnonzero(np.abs(self.samples[0, skip:]) > 0.1)
        return self.audio_start + (skip + int(loud[0])) / self.rate


def decode(path: Path) -> Decoded:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        ctx = video.codec_context
        fps = Fraction(video.average_rate or 0)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video)]
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return Decoded(ctx.width, ctx.height, fps, frames, None, 0, 0, 0.0, np.zeros((0, 0)))
        stream = container.streams.audio[0]
        chunks, start = [], None
        for frame in container.decode(stream):
            if start is None and frame.pts is not None and frame.time_base is not None:
                start = float(frame.pts * frame.time_base)
            chunks.append(frame.to_ndarray())
        a = stream.codec_context
        samples = np.concatenate(chunks, axis=1)
        return Decoded(ctx.width, ctx.height, fps, frames, a.name, a.sample_rate,
                       a.layout.nb_channels, start or 0.0, samples)  # fmt: skip


def shown_index(rgb: np.ndarray) -> int:
    """Which test-clip frame a decoded picture shows, from the colour at its centre."""
    h, w = rgb.shape[:2]
    r, g, _ = rgb[h // 2 - 2 : h // 2 + 2, w // 2 - 2 : w // 2 + 2].mean(axis=(0, 1))
    return int(round((r - 40) / 40) + 5 * round((g - 40) / 40))


def conformed(tmp_path: Path, source: Path, fit: FitMode = "pad", fps: int = FPS) -> Path:
    dest = tmp_path / f"{source.stem}.conformed.mp4"
    conform_clip(source, dest, W, H, fps, EncoderSettings(), fit=fit)
    return dest


@pytest.mark.parametrize(
    ("fps", "size", "audio", "why"),
    [
        (25, (W, H), (RATE, 2), "25 fps differs"),
        (30, (W, H), (RATE, 2), "30 fps differs"),
        (FPS, (H, W), (RATE, 2), "36x64 differs from the output's 64x36"),
        (FPS, (W, H), (RATE, 1), "its audio is mono"),
        (FPS, (W, H), (44_100, 2), "its audio is 44.1 kHz, not 48 kHz"),
        (FPS, (W, H), None, "it has no audio"),
    ],
    ids=["25fps", "30fps", "9:16", "mono", "44.1k", "silent"],
)
def test_reason_names_what_differs(
    tmp_path: Path, fps: int, size: tuple[int, int], audio: Audio, why: str
) -> None:
    """Another rate, size, channel layout or sample rate, or no sound, needs conforming, and
    the reason says which in a short phrase."""
    clip = provider_clip(tmp_path / "c.mp4", fps=fps, width=size[0], height=size[1], audio=audio)
    reason = conform_reason(clip, W, H, FPS)
    assert reason is not None and why in reason


def test_a_clip_in_the_output_format_needs_nothing(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A clip at the output's size and rate with stereo 48 kHz AAC-LC is handed over as is."""
    clip = make_clip(tmp_path / "ok.mp4", seconds=1, fps=FPS, width=W, height=H)
    assert conform_reason(clip, W, H, FPS) is None


@pytest.mark.parametrize(
    ("fps", "size", "audio", "out_fps"),
    [
        (25, (1920 // 30, 1080 // 30), (44_100, 1), FPS),
        (30, (1080 // 30, 1920 // 30), None, FPS),
        (25, (1080 // 30, 1920 // 30), (44_100, 2), FPS),
        (30, (1920 // 30, 1080 // 30), (RATE, 1), FPS),
        (FPS, (1920 // 30, 1080 // 30), (44_100, 1), 30),
    ],
    ids=["25fps-16:9-mono44k", "30fps-9:16-silent", "25fps-9:16-44k", "30fps-mono", "24-to-30"],
)
def test_conformed_clip_is_in_the_output_format(
    tmp_path: Path, fps: int, size: tuple[int, int], audio: Audio, out_fps: int
) -> None:
    """The conformed clip has the output's size and rate, duration x fps frames each showing
    the source frame on screen at its time, and stereo 48 kHz sound as long as the video,
    whose tone starts within one AAC packet of the picture's; it needs no further conforming."""
    source = provider_clip(
        tmp_path / "src.mp4", fps=fps, width=size[0], height=size[1], audio=audio
    )
    out = decode(conformed(tmp_path, source, fps=out_fps))
    assert (out.width, out.height, out.fps, len(out.frames)) == (W, H, Fraction(out_fps), out_fps)
    assert [shown_index(f) for f in out.frames] == [n * fps // out_fps for n in range(out_fps)]
    assert (out.audio_codec, out.rate, out.channels) == ("aac", RATE, 2)
    assert abs(out.samples.shape[1] / RATE + out.audio_start - out.seconds) <= AAC_FRAME / RATE
    assert conform_reason(tmp_path / "src.conformed.mp4", W, H, out_fps) is None
    if audio is None:
        assert float(np.abs(out.samples).max()) < 1e-3
        return
    picture = math.ceil(ONSET * out_fps) / out_fps
    assert abs(out.onset() - ONSET) <= 0.005
    assert abs(out.onset() - picture) <= AAC_FRAME / RATE
    tone = out.samples[:, round(0.6 * RATE) : round(0.9 * RATE)]
    assert np.allclose(tone[0], tone[1], atol=1e-4)
    assert float(np.sqrt(np.mean(tone**2))) == pytest.approx(0.5 / math.sqrt(2), rel=0.1)


def bars(rgb: np.ndarray) -> tuple[bool, bool]:
    """Whether the picture has black bars at its sides, and above and below."""
    dark = rgb.max(axis=2) < 12
    return bool(dark[:, 0].all() and dark[:, -1].all()), bool(dark[0].all() and dark[-1].all())


@pytest.mark.parametrize(
    ("size", "fit", "expected"),
    [
        ((H, W), "pad", (True, False)),
        ((H, W), "crop", (False, False)),
        ((H, W), "stretch", (False, False)),
        ((W, H), "pad", (False, False)),
        ((W * 2, H), "pad", (False, True)),
        ((W * 2, H), "crop", (False, False)),
    ],
    ids=["9:16-pad", "9:16-crop", "9:16-stretch", "16:9-pad", "32:9-pad", "32:9-crop"],
)
def test_fit_mode_decides_the_bars(
    tmp_path: Path, size: tuple[int, int], fit: FitMode, expected: tuple[bool, bool]
) -> None:
    """Pad pillarboxes a tall clip and letterboxes a wide one in black, keeping its aspect;
    crop and stretch fill the frame; a clip of the output's shape gets no bars."""
    source = provider_clip(tmp_path / "src.mp4", fps=30, width=size[0], height=size[1], audio=None)
    frames = decode(conformed(tmp_path, source, fit)).frames
    assert all(bars(f) == expected for f in frames)
    middle = frames[12]
    assert shown_index(middle) == 15
    if fit == "pad" and size == (H, W):
        picture = middle[:, (W - 20) // 2 + 2 : (W + 20) // 2 - 2]
        assert middle[:, : (W - 20) // 2 - 1].max() < 12 and picture.max(axis=2).min() > 100


def test_conform_pads_by_default(tmp_path: Path) -> None:
    """Without a fit mode, a 9:16 clip is pillarboxed rather than cut."""
    source = provider_clip(tmp_path / "src.mp4", fps=30, width=H, height=W, audio=None)
    dest = tmp_path / "out.mp4"
    conform_clip(source, dest, W, H, FPS, EncoderSettings())
    assert bars(decode(dest).frames[0]) == (True, False)


def test_mixed_providers_stitch_by_copying_in_sync(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Three providers' clips (25 fps 16:9 mono 44.1 kHz; 30 fps 9:16 silent; one already in
    the output's format), conformed and smart-stitched with a cut and a crossfade, give one
    video at the output's size and rate with every frame in place and each tone where its
    clip's picture is, within one AAC packet; no clip needs re-encoding at stitch time."""
    first = provider_clip(tmp_path / "a.mp4", fps=25, width=W, height=H, audio=(44_100, 1))
    second = provider_clip(tmp_path / "b.mp4", fps=30, width=H, height=W, audio=None)
    late = tone(660, RATE) * (np.arange(RATE) >= ONSET * RATE)
    third = make_clip(tmp_path / "c.mp4", seconds=1, fps=FPS, width=W, height=H, audio=late)
    clips = [conformed(tmp_path, first), conformed(tmp_path, second), third]
    assert all(conform_reason(c, W, H, FPS) is None for c in clips)
    specs = (
        ClipSpec(clips[0]),
        ClipSpec(clips[1], transition_out=Transition("crossfade", 0.25)),
        ClipSpec(clips[2]),
    )
    notes: list[str] = []
    dest = tmp_path / "stitched.mp4"
    smart_stitch(StitchPlan(specs, W, H, FPS), dest, tmp_path / "seams", note=notes.append)
    assert not [n for n in notes if "re-encoded" in n]
    out = decode(dest)
    assert (out.width, out.height, out.fps, len(out.frames)) == (W, H, Fraction(FPS), 3 * FPS - 6)
    assert (out.audio_codec, out.rate, out.channels) == ("aac", RATE, 2)
    assert abs(out.samples.shape[1] / RATE + out.audio_start - out.seconds) <= AAC_FRAME / RATE
    assert [shown_index(f) for f in out.frames[:FPS]] == [n * 25 // FPS for n in range(FPS)]
    assert [shown_index(f) for f in out.frames[FPS : 2 * FPS - 6]] == [
        n * 30 // FPS for n in range(FPS - 6)
    ]
    assert bars(out.frames[FPS + 3]) == (True, False)
    assert abs(out.onset() - ONSET) <= AAC_FRAME / RATE
    quiet = out.samples[:, round(1.05 * RATE) : round(1.7 * RATE)]
    assert float(np.abs(quiet).max()) < 0.02
    assert abs(out.onset(after=1.05) - ((2 * FPS - 6) / FPS + ONSET)) <= AAC_FRAME / RATE


def test_reference_frame_is_the_last_picture_the_viewer_sees(tmp_path: Path) -> None:
    """A 9:16 clip at 30 fps hands on its picture as a 24 fps, pillarboxed output last shows
    it: source frame 28 (at 0.933 s), fitted, the same picture the conformed clip ends on."""
    source = provider_clip(tmp_path / "src.mp4", fps=30, width=H, height=W, audio=None)
    png = tmp_path / "last.png"
    extract_reference_frame(source, png, W, H, FPS, fit="pad")
    with Image.open(png) as image:
        reference = np.asarray(image.convert("RGB"))
    assert reference.shape == (H, W, 3)
    assert shown_index(reference) == 28 and bars(reference) == (True, False)
    (last,) = read_frames_rgb(conformed(tmp_path, source), [-1])
    assert psnr(reference, last) > 30


def test_reference_of_a_fitting_clip_is_its_last_frame(
    tmp_path: Path, make_clip: ClipFactory
) -> None:
    """A clip already at the output's size and rate hands on exactly its last frame's PNG."""
    clip = make_clip(tmp_path / "ok.mp4", seconds=1, fps=FPS, width=W, height=H)
    extract_reference_frame(clip, tmp_path / "ref.png", W, H, FPS, sharpest_of=3)
    extract_last_frame(clip, tmp_path / "last.png", sharpest_of=3)
    assert (tmp_path / "ref.png").read_bytes() == (tmp_path / "last.png").read_bytes()
