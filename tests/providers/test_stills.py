"""Stills as keyframes need them: any picture becomes a PNG of exactly the asked size, scaled
to cover it and centre-cropped; a picture that does not decode whole is refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fake_images import LEFT, RIGHT, opened, picture_bytes
from PIL import Image

from cinestitch.errors import MediaError
from cinestitch.providers._stills import fit_png, mime_of, prepare_reference, write_png


def test_a_portrait_picture_covers_a_landscape_frame() -> None:
    """A 400x800 picture for 320x180 is scaled to 320 wide and its middle rows kept."""
    tall = Image.new("RGB", (400, 800), (0, 0, 0))
    tall.paste((250, 250, 0), (0, 350, 400, 450))  # a yellow band across the middle
    buffer = io.BytesIO()
    tall.save(buffer, format="JPEG", quality=95)
    with Image.open(io.BytesIO(fit_png(buffer.getvalue(), 320, 180))) as fitted:
        assert fitted.format == "PNG" and fitted.size == (320, 180)
        r, g, b = fitted.convert("RGB").getpixel((160, 90))
        assert r > 200 and g > 200 and b < 60


def test_a_picture_of_the_asked_size_keeps_its_pixels() -> None:
    """No scaling when the size already matches: the halves stay exactly their colours."""
    with Image.open(io.BytesIO(fit_png(picture_bytes(64, 36, "image/webp"), 64, 36))) as same:
        rgb = same.convert("RGB")
        assert rgb.getpixel((0, 0)) != rgb.getpixel((63, 0))
    with Image.open(io.BytesIO(fit_png(picture_bytes(64, 36), 64, 36))) as png:
        assert png.convert("RGB").getpixel((0, 0)) == LEFT
        assert png.convert("RGB").getpixel((63, 35)) == RIGHT


@pytest.mark.parametrize("mime", ["image/png", "image/jpeg", "image/webp"])
def test_a_truncated_picture_is_refused_and_nothing_is_written(tmp_path: Path, mime: str) -> None:
    """Half a picture is not a picture: a MediaError naming the type, and no file left."""
    data = picture_bytes(256, 144, mime)
    assert mime_of(data) == mime
    with pytest.raises(MediaError, match=f"not a whole image \\({mime}"):
        write_png(data[: len(data) // 2], tmp_path / "key.mp4", 64, 36)
    assert list(tmp_path.iterdir()) == []


def test_a_reference_can_be_sent_at_the_keyframes_size(tmp_path: Path) -> None:
    """A reference cropped to the keyframe's size is a PNG of that size, within the byte limit."""
    path = tmp_path / "hero.jpg"
    path.write_bytes(picture_bytes(300, 400, "image/jpeg"))
    sent = prepare_reference(path, 10_000_000, (128, 72))
    assert (sent.mime_type, sent.width, sent.height) == ("image/png", 128, 72)
    assert prepare_reference(path, 10_000_000).mime_type == "image/jpeg"
    (tmp_path / "out.png").write_bytes(sent.data)
    assert opened(tmp_path / "out.png").size == (128, 72)
