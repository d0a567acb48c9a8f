"""Frames out of videos: last-frame PNGs (sharpest of N), frames by index, fitted images, PSNR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from media_support import ClipFactory
from PIL import Image, ImageFilter

from cinestitch.errors import MediaError
from cinestitch.media import extract_last_frame, load_image_rgb, psnr, read_frames_rgb
from cinestitch.media.frames import pick_sharpest

W, H = 64, 48


def textured(seed: int) -> np.ndarray:
    """A detailed picture (random blocks) that survives H.264 as 'sharp'."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (H // 4, W // 4, 3), dtype=np.uint8)
    return blocks.repeat(4, axis=0).repeat(4, axis=1)


def blurred(image: np.ndarray, radius: float) -> np.ndarray:
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))


def scene_changes(i: int) -> np.ndarray:
    """Shifted textures with a cut every 8 frames, so the encoder places later keyframes."""
    return np.roll(textured(i // 8), i, axis=1)


def test_last_frame_png_is_the_decoded_last_frame(tmp_path: Path, make_clip: ClipFactory) -> None:
    """The PNG holds the clip's last frame (as a full decode shows it), at the clip's size."""
    clip = make_clip(
        tmp_path / "a.mp4", seconds=2, fps=24, width=W, height=H, pattern=scene_changes
    )
    dest = tmp_path / "out" / "last.png"
    extract_last_frame(clip, dest)
    png = np.asarray(Image.open(dest).convert("RGB"))
    last, before = read_frames_rgb(clip, [-1, -2])
    assert png.shape == (H, W, 3)
    assert psnr(png, last) > 40
    assert psnr(png, before) < psnr(png, last)


def test_last_frame_png_bytes_are_stable(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Two extractions give identical bytes and leave no temporary files behind."""
    clip = make_clip(tmp_path / "a.mp4", seconds=1, fps=12, width=W, height=H)
    out = tmp_path / "frames"
    extract_last_frame(clip, out / "one.png")
    extract_last_frame(clip, out / "two.png")
    assert (out / "one.png").read_bytes() == (out / "two.png").read_bytes()
    assert sorted(p.name for p in out.iterdir()) == ["one.png", "two.png"]


def test_sharpest_of_prefers_a_sharp_frame_over_blurred_later_ones(
    tmp_path: Path, make_clip: ClipFactory
) -> None:
    """With sharpest_of=3 the sharp third-to-last frame wins over two blurred last frames."""
    sharp = textured(1)
    frames = [blurred(sharp, 3)] * 9 + [sharp, blurred(sharp, 2), blurred(sharp, 3)]
    clip = make_clip(
        tmp_path / "a.mp4", seconds=1, fps=12, width=W, height=H, pattern=lambda i: frames[i]
    )
    extract_last_frame(clip, tmp_path / "sharpest.png", sharpest_of=3)
    extract_last_frame(clip, tmp_path / "last.png", sharpest_of=1)
    decoded_sharp, decoded_last = read_frames_rgb(clip, [-3, -1])
    chosen = np.asarray(Image.open(tmp_path / "sharpest.png"))
    assert psnr(chosen, decoded_sharp) > 40
    assert psnr(np.asarray(Image.open(tmp_path / "last.png")), decoded_last) > 40
    assert psnr(chosen, decoded_last) < 30


def test_pick_sharpest_breaks_ties_toward_the_later_frame() -> None:
    """Equal sharpness picks the later frame; otherwise the highest score wins."""
    assert pick_sharpest([1.0, 1.0, 1.0]) == 2
    assert pick_sharpest([5.0, 5.0, 1.0]) == 1
    assert pick_sharpest([1.0, 9.0, 2.0]) == 1


def test_extract_last_frame_rejects_a_non_video(tmp_path: Path) -> None:
    """A non-video input raises MediaError and writes nothing."""
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\0" * 100)
    with pytest.raises(MediaError, match=r"bad\.mp4"):
        extract_last_frame(bad, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_read_frames_rgb_by_display_index(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Positive and negative indices pick the right frames, in the order asked."""
    clip = make_clip(tmp_path / "a.mp4", seconds=1, fps=12, width=W, height=H, pattern="bars")
    every = read_frames_rgb(clip, list(range(12)))
    picked = read_frames_rgb(clip, [-1, 0, 5, -12])
    assert len(every) == 12 and every[0].shape == (H, W, 3) and every[0].dtype == np.uint8
    for got, index in zip(picked, [11, 0, 5, 0], strict=True):
        assert psnr(got, every[index]) == 99.0
    assert psnr(every[0], every[1]) < 30
    with pytest.raises(MediaError, match="no frame 12 — the video has 12 frames"):
        read_frames_rgb(clip, [12])
    with pytest.raises(MediaError, match="no frame -13"):
        read_frames_rgb(clip, [-13])


def test_psnr_values() -> None:
    """Identical pictures give 99 dB; an error of 1 everywhere gives 48.13 dB."""
    a = np.full((4, 4, 3), 100, dtype=np.uint8)
    assert psnr(a, a) == 99.0
    assert psnr(a, a + 1) == pytest.approx(48.13, abs=0.01)
    with pytest.raises(ValueError, match="shapes"):
        psnr(a, a[:2])


def test_load_image_rgb_cover_fits_and_centre_crops(tmp_path: Path) -> None:
    """A wide image fitted to a square keeps its middle; a tall JPEG fills a wide frame."""
    wide = np.zeros((100, 300, 3), dtype=np.uint8)
    wide[:, :100], wide[:, 100:200], wide[:, 200:] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    square = load_image_rgb(tmp_path / "wide.png", 60, 60)
    assert square.shape == (60, 60, 3) and square.dtype == np.uint8
    assert (square[:, 5:55] == (0, 255, 0)).all()

    tall = np.zeros((300, 100, 3), dtype=np.uint8)
    tall[:100], tall[100:200], tall[200:] = (255, 0, 0), (0, 200, 0), (0, 0, 255)
    Image.fromarray(tall).save(tmp_path / "tall.jpg", quality=95)
    fitted = load_image_rgb(tmp_path / "tall.jpg", 64, 48)
    assert fitted.shape == (48, 64, 3)
    assert np.abs(fitted[10:38].astype(int) - (0, 200, 0)).max() < 20


def test_load_image_rgb_rejects_a_non_image(tmp_path: Path) -> None:
    """A file Pillow cannot read raises MediaError naming it."""
    bad = tmp_path / "ref.png"
    bad.write_text("nope")
    with pytest.raises(MediaError, match=r"ref\.png: not a readable image"):
        load_image_rgb(bad, 64, 48)
