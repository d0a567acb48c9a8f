"""stitch_clips, the picture: exact frame counts, seams, trims, conforming, reproducibility."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from media_support import ClipFactory, top_level_boxes
from PIL import Image, ImageOps

from cinestitch.errors import MediaError
from cinestitch.media import (
    AudioBed,
    ClipSpec,
    StitchPlan,
    Transition,
    probe_clip,
    psnr,
    read_frames_rgb,
    stitch_clips,
)

FPS, W, H = 12, 64, 48
COLORS = [(200, 40, 40), (40, 200, 40), (40, 40, 200)]
TONES = [440.0, 660.0, 880.0]


@pytest.fixture
def clips(tmp_path: Path, make_clip: ClipFactory) -> list[Path]:
    """Three 1 s clips (12 frames each): red/440 Hz, green/660 Hz, blue/880 Hz."""
    return [
        make_clip(
            tmp_path / f"clip{i}.mp4", seconds=1, fps=FPS, width=W, height=H, color=c, tone_hz=t
        )
        for i, (c, t) in enumerate(zip(COLORS, TONES, strict=True))
    ]


def plan_of(*specs: ClipSpec, bed: AudioBed | None = None) -> StitchPlan:
    return StitchPlan(clips=specs, width=W, height=H, fps=FPS, audio_bed=bed)


def frames(path: Path, count: int) -> list[np.ndarray]:
    return read_frames_rgb(path, list(range(count)))


def assert_output(path: Path, frame_count: int) -> None:
    """The plan's size and fps, H.264 yuv420p + AAC, and exactly ``frame_count`` frames."""
    info = probe_clip(path)
    assert (info.width, info.height, info.fps) == (W, H, Fraction(FPS))
    assert (info.video_codec, info.pixel_format, info.audio_codec) == ("h264", "yuv420p", "aac")
    assert info.frame_count == frame_count
    assert abs(info.duration - frame_count / FPS) <= 1 / FPS


def test_cut_plays_the_clips_back_to_back(tmp_path: Path, clips: list[Path]) -> None:
    """Cuts give 36 frames; frames match their sources (same index in each clip)."""
    out = tmp_path / "out.mp4"
    info = stitch_clips(plan_of(*(ClipSpec(c) for c in clips)), out)
    assert info == probe_clip(out)
    assert_output(out, 36)
    got = frames(out, 36)
    for k, clip in enumerate(clips):
        source = frames(clip, 12)
        for i in (0, 5, 11):
            assert psnr(got[12 * k + i], source[i]) > 30, (k, i)


def test_crossfade_blends_the_overlap(tmp_path: Path, clips: list[Path]) -> None:
    """A 0.25 s crossfade removes 3 frames; its middle is the average of both sources."""
    a, b, _ = clips
    out = tmp_path / "out.mp4"
    stitch_clips(
        plan_of(ClipSpec(a, transition_out=Transition("crossfade", 0.25)), ClipSpec(b)), out
    )
    assert_output(out, 21)
    got, sa, sb = frames(out, 21), frames(a, 12), frames(b, 12)
    average = ((sa[10].astype(np.float64) + sb[1]) / 2).round().astype(np.uint8)
    assert psnr(got[10], average) > 30
    assert psnr(got[10], sa[10]) < 20 and psnr(got[10], sb[1]) < 20
    assert psnr(got[4], sa[4]) > 30 and psnr(got[15], sb[6]) > 30


def test_fade_dips_to_black_between_clips(tmp_path: Path, clips: list[Path]) -> None:
    """A 0.5 s fade keeps all 24 frames; a's last frame is black, b ramps back up."""
    a, b, _ = clips
    out = tmp_path / "out.mp4"
    stitch_clips(plan_of(ClipSpec(a, transition_out=Transition("fade", 0.5)), ClipSpec(b)), out)
    assert_output(out, 24)
    got, sb = frames(out, 24), frames(b, 12)
    brightness = [float(f.mean()) for f in got]
    assert brightness[11] < 3
    assert brightness[8] > brightness[9] > brightness[10] > brightness[11]
    assert brightness[11] < brightness[12] < brightness[13] < brightness[14]
    assert psnr(got[14], sb[2]) > 30 and psnr(got[5], frames(a, 12)[5]) > 30


def test_fade_on_the_last_clip_ends_in_black(tmp_path: Path, clips: list[Path]) -> None:
    """Fade on the last clip darkens its last 0.25 s to black."""
    out = tmp_path / "out.mp4"
    stitch_clips(plan_of(ClipSpec(clips[0], transition_out=Transition("fade", 0.5))), out)
    assert_output(out, 12)
    got = frames(out, 12)
    assert got[-1].mean() < 3 and got[-2].mean() > 20 and psnr(got[5], frames(clips[0], 12)[5]) > 30


def test_trims_remove_the_right_frames(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Head 0.25 s and tail 0.5 s of a 2 s clip keep its source frames 3..17, in order."""
    clip = make_clip(tmp_path / "long.mp4", seconds=2, fps=FPS, width=W, height=H)
    out = tmp_path / "out.mp4"
    stitch_clips(plan_of(ClipSpec(clip, head_trim=0.25, tail_trim=0.5)), out)
    assert_output(out, 15)
    got, source = frames(out, 15), frames(clip, 24)
    for i in (0, 7, 14):
        scores = [psnr(got[i], s) for s in source]
        assert int(np.argmax(scores)) == i + 3, (i, scores)


def test_mismatched_clips_are_conformed(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A 96x54 24 fps clip is cover-fitted to 64x48 and shows every other frame at 12 fps."""

    def sweep(i: int) -> np.ndarray:
        x = np.linspace(0, 1, 96)[None, :, None]
        image = (40 + 150 * x + np.zeros((54, 96, 3))).astype(np.uint8)
        image[:, (4 * i) % 80 : (4 * i) % 80 + 16] = (250, 200, 0)
        return image

    big = make_clip(tmp_path / "big.mp4", seconds=1, fps=24, width=96, height=54, pattern=sweep)
    small = make_clip(tmp_path / "small.mp4", seconds=1, fps=FPS, width=W, height=H)
    out = tmp_path / "out.mp4"
    stitch_clips(plan_of(ClipSpec(big), ClipSpec(small)), out)
    assert_output(out, 24)
    got, source = frames(out, 24), frames(big, 24)
    for i in (1, 5, 9):
        fits = [np.asarray(ImageOps.fit(Image.fromarray(s), (W, H))) for s in source]
        scores = [psnr(got[i], f) for f in fits]
        assert int(np.argmax(scores)) == 2 * i and scores[2 * i] > 20, (i, scores)
    assert psnr(got[12], frames(small, 1)[0]) > 30


def test_same_plan_gives_identical_bytes(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Two stitches of one plan (crossfade, fade, trim, bed) are byte-identical.

    At 128x72: below about 100 px wide libx264 itself is not repeatable (it reads memory it
    never wrote in motion search), whatever the thread count."""
    a, b, c = (
        make_clip(tmp_path / f"{i}.mp4", seconds=1, fps=FPS, width=128, height=72, color=color)
        for i, color in enumerate(COLORS)
    )
    plan = StitchPlan(
        clips=(
            ClipSpec(a, transition_out=Transition("crossfade", 0.25)),
            ClipSpec(b, head_trim=0.1, transition_out=Transition("fade", 0.5)),
            ClipSpec(c, transition_out=Transition("fade", 0.5)),
        ),
        width=128,
        height=72,
        fps=FPS,
        audio_bed=AudioBed(a, volume=0.5, fade_in=0.2, fade_out=0.3, loop=True),
    )
    stitch_clips(plan, tmp_path / "one.mp4")
    stitch_clips(plan, tmp_path / "two.mp4")
    assert (tmp_path / "one.mp4").read_bytes() == (tmp_path / "two.mp4").read_bytes()


def test_output_is_faststart(tmp_path: Path, clips: list[Path]) -> None:
    """The moov box comes before mdat, so browsers can start playing before the download ends."""
    out = tmp_path / "out.mp4"
    stitch_clips(plan_of(*(ClipSpec(c) for c in clips)), out)
    boxes = top_level_boxes(out)
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")


def test_progress_counts_every_frame(tmp_path: Path, clips: list[Path]) -> None:
    """progress is called once per written frame with the running and the total count."""
    calls: list[tuple[int, int]] = []
    plan = plan_of(
        ClipSpec(clips[0], transition_out=Transition("crossfade", 0.5)), ClipSpec(clips[1])
    )
    stitch_clips(plan, tmp_path / "out.mp4", lambda done, total: calls.append((done, total)))
    assert calls == [(n, 18) for n in range(1, 19)]


def test_too_long_transition_fails_before_writing(tmp_path: Path, clips: list[Path]) -> None:
    """A crossfade longer than a clip raises MediaError and leaves no output behind."""
    out = tmp_path / "out.mp4"
    plan = plan_of(
        ClipSpec(clips[0], transition_out=Transition("crossfade", 1.5)), ClipSpec(clips[1])
    )
    with pytest.raises(MediaError, match="crossfade needs 18 frames"):
        stitch_clips(plan, out)
    assert not out.exists()


def test_non_video_input_fails_naming_it(tmp_path: Path, clips: list[Path]) -> None:
    """A clip that is not a video raises MediaError naming its path; nothing is written."""
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"garbage" * 50)
    out = tmp_path / "out.mp4"
    with pytest.raises(MediaError, match=r"broken\.mp4: not a readable video"):
        stitch_clips(plan_of(ClipSpec(clips[0]), ClipSpec(bad)), out)
    assert list(tmp_path.glob("*out*")) == []
