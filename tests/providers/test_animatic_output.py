"""What an animatic clip contains, checked by decoding clips made through the real protocol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from animatic_support import Decoded, decode, generate, psnr, smooth_image, tiny, wait_final
from PIL import Image

from cinestitch.providers.animatic import AnimaticProvider


@dataclass(frozen=True)
class Clips:
    plain: Path
    plain_again: Path
    referenced: Path
    expected_first: np.ndarray
    """The reference cover-fitted to 160x90, computed independently of the renderer."""


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    root = tmp_path_factory.mktemp("clips")
    provider = AnimaticProvider(root / "animatic")
    reference = root / "hero.png"
    smooth_image(320, 200).save(reference)
    # cover 160x90 from 320x200: scale by 1/2 to 160x100, then crop 5 rows top and bottom
    expected = np.asarray(
        smooth_image(320, 200).resize((160, 100), Image.Resampling.LANCZOS).crop((0, 5, 160, 95))
    )
    job_id = provider.submit(tiny(reference_image=reference), "k")
    Image.new("RGB", (320, 200), "black").save(reference)  # the job uses its own copy
    assert wait_final(provider, job_id).state.value == "succeeded"
    provider.download(job_id, root / "referenced.mp4")
    return Clips(
        plain=generate(provider, tiny(), root / "plain.mp4"),
        plain_again=generate(provider, tiny(), root / "plain_again.mp4"),
        referenced=root / "referenced.mp4",
        expected_first=expected,
    )


@pytest.fixture(scope="module")
def referenced(clips: Clips) -> Decoded:
    return decode(clips.referenced)


def test_clip_is_h264_aac_at_the_requested_size_rate_and_length(clips: Clips) -> None:
    """The clip is H.264 + stereo 48 kHz AAC, 160x90 at 12 fps, 24 frames, 2 s of audio."""
    clip = decode(clips.plain)
    assert (clip.video_codec, clip.audio_codec) == ("h264", "aac")
    assert (clip.width, clip.height, clip.fps) == (160, 90, 12.0)
    assert len(clip.frames) == round(2.0 * 12)
    assert (clip.sample_rate, clip.channels) == (48_000, 2)
    assert abs(clip.samples - 2 * 48_000) <= 1024  # AAC pads the last frame


def test_odd_durations_round_to_whole_frames(make_clip: Callable[..., Path]) -> None:
    """1.3 s at 12 fps gives round(15.6) = 16 frames and matching audio."""
    clip = decode(make_clip(seconds=1.3))
    assert len(clip.frames) == 16
    assert abs(clip.samples - 16 * 4000) <= 1024


def test_first_frame_is_the_cover_fitted_reference(clips: Clips, referenced: Decoded) -> None:
    """A 320x200 reference is scaled to cover 160x90 and centre-cropped into frame one."""
    assert psnr(referenced.frames[0], clips.expected_first) > 35


def test_the_picture_moves(referenced: Decoded) -> None:
    """Camera and subject move between text-free rows: first vs middle, and around the middle."""
    frames = [f[14:56].astype(int) for f in referenced.frames]
    middle = len(frames) // 2
    assert np.mean(np.abs(frames[0] - frames[middle])) > 3
    assert np.mean(np.abs(frames[middle - 3] - frames[middle + 3])) > 0.5


def test_the_subject_stays_in_view_at_the_end(clips: Clips, referenced: Decoded) -> None:
    """The last frame differs from the reference only where the subject stands."""
    diff = np.abs(referenced.frames[-1].astype(int) - clips.expected_first.astype(int)).sum(2)
    changed = diff > 60
    assert 0.003 < changed.mean() < 0.2
    rows = np.nonzero(changed.any(axis=1))[0]
    assert rows.min() > 90 * 0.3 and rows.max() < 90 * 0.85


def _caption_region(frame: np.ndarray) -> np.ndarray:
    return frame[78:85].astype(int)


def _label_region(frame: np.ndarray) -> np.ndarray:
    return frame[4:11, 4:40].astype(int)


def test_text_shows_only_in_the_middle(clips: Clips, referenced: Decoded) -> None:
    """Caption band and corner label darken the middle frame but not the first or last."""
    expected = clips.expected_first
    for region in (_caption_region, _label_region):
        for frame in (referenced.frames[0], referenced.frames[-1]):
            assert np.mean(np.abs(region(frame) - region(expected))) < 4
        middle = referenced.frames[len(referenced.frames) // 2]
        assert np.mean(region(expected) - region(middle)) > 25


def test_same_request_gives_identical_bytes(clips: Clips) -> None:
    """Two submits of one request produce byte-identical files (the job id plays no part)."""
    assert clips.plain.read_bytes() == clips.plain_again.read_bytes()


def test_seed_and_prompt_change_the_clip(clips: Clips, make_clip: Callable[..., Path]) -> None:
    """Another seed, or another prompt, gives a different clip."""
    plain = clips.plain.read_bytes()
    assert make_clip(seed=8).read_bytes() != plain
    assert make_clip(prompt="a lighthouse in a storm").read_bytes() != plain


def test_generated_scene_without_reference_is_not_flat(clips: Clips) -> None:
    """Without a reference the first frame is a scene: sky above, ground below, colours."""
    first = decode(clips.plain).frames[0].astype(float)
    top, bottom = first[:20].mean(axis=(0, 1)), first[-20:].mean(axis=(0, 1))
    assert np.abs(top - bottom).sum() > 60
    assert first.std() > 15
