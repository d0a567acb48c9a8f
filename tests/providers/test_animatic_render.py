"""The animatic renderer's rules, checked in-process on raw frames (before H.264)."""

from __future__ import annotations

import numpy as np
import pytest
from animatic_support import tiny
from PIL import ImageFont

from cinestitch.providers.animatic_art import PALETTES, choose_palette
from cinestitch.providers.animatic_job import PALETTE_NAMES
from cinestitch.providers.animatic_render import (
    SAMPLE_RATE,
    FrameRenderer,
    build_scene,
    render_audio,
    text_strength,
)
from cinestitch.providers.animatic_text import wrap_text


@pytest.mark.parametrize(("frames", "fps"), [(1, 1), (2, 1), (12, 12), (24, 12), (288, 24)])
def test_text_is_absent_on_the_first_and_last_frame(frames: int, fps: int) -> None:
    """Caption opacity is 0 on the first and last frame and full in the middle of long clips."""
    assert text_strength(0, frames, fps) == 0
    assert text_strength(frames - 1, frames, fps) == 0
    if frames >= 24:
        assert text_strength(frames // 2, frames, fps) == 1


@pytest.mark.parametrize(("width", "height"), [(160, 90), (54, 96), (64, 64)])
def test_first_frame_is_the_backdrop_exactly(width: int, height: int) -> None:
    """Frame 0 is the backdrop pixel for pixel (no subject, camera or text), in any shape."""
    scene = build_scene(tiny(width=width, height=height))
    assert np.array_equal(FrameRenderer(scene).frame(0), scene.backdrop)


def test_the_clip_ends_still() -> None:
    """Camera and subject are at rest at the end: the last frames are identical."""
    scene = build_scene(tiny())
    renderer = FrameRenderer(scene)
    last = renderer.frame(scene.frames - 1)
    assert np.array_equal(last, renderer.frame(scene.frames - 2))
    assert not np.array_equal(last, scene.backdrop)  # the subject stands in the picture


def test_composition_does_not_depend_on_size() -> None:
    """The same prompt and seed at two sizes give the same picture, scaled."""
    small = build_scene(tiny(width=96, height=54)).backdrop.astype(float)
    large = build_scene(tiny(width=192, height=108)).backdrop.astype(float)
    halved = large.reshape(54, 2, 96, 2, 3).mean(axis=(1, 3))
    assert np.mean(np.abs(small - halved)) < 3


def test_audio_is_a_quiet_stereo_chord_that_fades() -> None:
    """Audio is (2, n) float32, peaks at 0.2, and starts and ends in silence."""
    audio = render_audio(tiny(), 2 * SAMPLE_RATE)
    assert audio.shape == (2, 2 * SAMPLE_RATE) and audio.dtype == np.float32
    assert np.max(np.abs(audio)) == pytest.approx(0.2, abs=1e-6)
    assert np.max(np.abs(audio[:, :50])) < 0.01 and np.max(np.abs(audio[:, -50:])) < 0.01
    assert not np.array_equal(render_audio(tiny(prompt="another"), 4800), audio[:, :4800])


def test_palette_follows_option_then_prompt_then_hash() -> None:
    """palette option wins; else a keyword in the prompt; else the hash picks one."""
    assert choose_palette("at night", "day", 0) == "day"
    assert choose_palette("the pier at sunset", None, 0) == "dusk"
    assert choose_palette("under the moon", None, 0) == "night"
    assert choose_palette("a kitchen", None, 2) == PALETTE_NAMES[2]
    assert set(PALETTES) == set(PALETTE_NAMES)


def test_long_captions_wrap_and_end_with_an_ellipsis() -> None:
    """Wrapped lines fit the width; text beyond the last line is cut with an ellipsis."""
    font = ImageFont.load_default(size=10)
    lines = wrap_text("word " * 80, font, 120, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 120 for line in lines)
