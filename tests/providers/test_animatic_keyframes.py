"""The animatic for keyframe builds: stills, clips that end on a given frame, and characters'
pictures — made through the real protocol and decoded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from animatic_support import decode, generate, psnr, smooth_image, tiny, wait_final
from PIL import Image

from cinestitch.errors import GenerationFailedError
from cinestitch.providers.animatic import AnimaticProvider
from cinestitch.providers.animatic_render import END_BLEND, end_weight
from cinestitch.providers.base import GenerationRequest


def still(**changes: object) -> GenerationRequest:
    """The tiny request as a still: no length, no rate."""
    return tiny(kind="image", seconds=0.0, fps=0, **changes)  # type: ignore[arg-type]


def _fitted(image: Image.Image, width: int, height: int) -> np.ndarray:
    from PIL import ImageOps

    return np.asarray(ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS))


def _dark(width: int, height: int) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    picture = np.stack([30 + 40 * x / width, 40 + 20 * y / height, 90 + 0 * x], axis=2)
    return Image.fromarray(picture.clip(0, 255).astype(np.uint8))


def test_a_clip_with_an_end_image_ends_on_it(provider: AnimaticProvider, tmp_path: Path) -> None:
    """The first frame is the reference and the last frame the end image (both fitted), the
    frames between turning from one to the other."""
    start, end = tmp_path / "a.png", tmp_path / "b.png"
    smooth_image(320, 180).save(start)
    _dark(320, 180).save(end)
    clip = generate(provider, tiny(reference_image=start, end_image=end), tmp_path / "c.mp4")
    frames = decode(clip).frames
    want_start, want_end = (
        _fitted(smooth_image(320, 180), 160, 90),
        _fitted(_dark(320, 180), 160, 90),
    )
    assert psnr(frames[0], want_start) > 35
    assert psnr(frames[-1], want_end) > 35
    assert psnr(frames[len(frames) // 4], want_end) < 25  # not there yet a quarter in


def test_end_weight_is_zero_then_eases_to_exactly_one() -> None:
    """The end image is absent until the last part of the clip and whole on its last frame."""
    assert end_weight(0.0) == 0.0 and end_weight(1 - END_BLEND) == 0.0
    assert 0 < end_weight(1 - END_BLEND / 2) < 1
    assert end_weight(1.0) == 1.0


def test_a_still_is_a_png_of_the_size_made_the_same_every_time(
    provider: AnimaticProvider, tmp_path: Path
) -> None:
    """A still request gives a PNG of exactly the size; equal requests equal bytes, another
    prompt another picture."""
    first = generate(provider, still(), tmp_path / "one.png")
    again = generate(provider, still(), tmp_path / "two.png")
    other = generate(provider, still(prompt="a lighthouse at night"), tmp_path / "three.png")
    with Image.open(first) as image:
        assert (image.format, image.size) == ("PNG", (160, 90))
        pixels = np.asarray(image.convert("RGB"))
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    assert float(pixels.std()) > 5  # a scene, not a flat fill


def test_a_still_is_the_end_of_its_scene(provider: AnimaticProvider, tmp_path: Path) -> None:
    """A still of a prompt shows the scene the clip of that prompt ends on (no text, the
    camera at rest), so a keyframe reads as the same sketch."""
    picture = generate(provider, still(), tmp_path / "k.png")
    clip = generate(provider, tiny(), tmp_path / "k.mp4")
    with Image.open(picture) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert psnr(decode(clip).frames[-1], pixels) > 30


def test_characters_show_mid_clip_and_never_on_the_ends(
    provider: AnimaticProvider, tmp_path: Path
) -> None:
    """Reference images reach the job (copied), show as portraits in the middle of the clip,
    and leave the first and last frame as they are."""
    hero = tmp_path / "hero.png"
    Image.new("RGB", (40, 60), (250, 30, 200)).save(hero)
    start = tmp_path / "start.png"
    smooth_image(320, 180).save(start)
    handle = provider.submit(tiny(reference_image=start, reference_images=(hero,)), "k")
    assert wait_final(provider, handle).state.value == "succeeded"
    job_dir = provider.work_dir / "jobs" / handle.job_id
    sent = json.loads((job_dir / "request.json").read_text())
    assert sent["reference_images"] == ["cast-1.png"]
    assert (job_dir / "cast-1.png").read_bytes() == hero.read_bytes()
    provider.download(handle, tmp_path / "cast.mp4")
    plain = decode(generate(provider, tiny(reference_image=start), tmp_path / "plain.mp4"))
    cast = decode(tmp_path / "cast.mp4")
    middle = len(cast.frames) // 2
    corner = (slice(60, 88), slice(120, 158))
    assert psnr(cast.frames[0], plain.frames[0]) > 40
    assert psnr(cast.frames[middle][corner], plain.frames[middle][corner]) < 30


def test_too_many_reference_images_are_refused(provider: AnimaticProvider, tmp_path: Path) -> None:
    """More characters' pictures than the animatic takes is refused before any job."""
    hero = tmp_path / "hero.png"
    Image.new("RGB", (8, 8), "red").save(hero)
    with pytest.raises(GenerationFailedError, match="at most 4"):
        provider.submit(tiny(reference_images=(hero,) * 5), "k")


def test_capabilities_take_an_end_frame_and_four_characters(provider: AnimaticProvider) -> None:
    """The animatic says it ends on a given frame and takes up to four reference images."""
    caps = provider.capabilities("sketch")
    assert caps.accepts_end_image and caps.max_reference_images == 4
