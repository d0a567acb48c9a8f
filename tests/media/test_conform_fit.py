"""Fitting a picture into the output's frame: where pad, crop and stretch put it, and its pixels."""

from __future__ import annotations

import av
import numpy as np
import pytest

from cinestitch.media.conform import fit_frame
from cinestitch.media.fit import Placement, plan_fit
from cinestitch.media.yuv import split_planes

RED, GREY = (220, 30, 30), (150, 150, 150)


def frame_of(width: int, height: int) -> av.VideoFrame:
    """A grey RGB frame with a red stripe down its left eighth."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = GREY
    image[:, : width // 8] = RED
    return av.VideoFrame.from_ndarray(image, format="rgb24")


def luma(width: int, height: int, picture: np.ndarray) -> np.ndarray:
    return split_planes(picture, width, height)[0]


@pytest.mark.parametrize(
    ("src", "out", "fit", "placed"),
    [
        ((1920, 1080), (1280, 720), "pad", Placement(1280, 720, 0, 0)),
        ((1080, 1920), (1280, 720), "pad", Placement(406, 720, 436, 0)),
        ((1920, 1080), (720, 1280), "pad", Placement(720, 406, 0, 436)),
        ((1080, 1920), (1280, 720), "crop", Placement(1280, 2276, 0, -778)),
        ((1920, 1080), (720, 1280), "crop", Placement(2276, 1280, -778, 0)),
        ((1080, 1920), (1280, 720), "stretch", Placement(1280, 720, 0, 0)),
        ((1280, 720), (1280, 720), "crop", Placement(1280, 720, 0, 0)),
    ],
)
def test_plan_fit_places_the_picture(
    src: tuple[int, int], out: tuple[int, int], fit: str, placed: Placement
) -> None:
    """Pad fits inside and centres, crop covers and centres, stretch fills; all even."""
    assert plan_fit(*src, *out, fit) == placed  # type: ignore[arg-type]


def test_pad_pillarboxes_a_tall_picture_in_black() -> None:
    """A 9:16 picture in a 16:9 frame keeps its aspect between two black bars."""
    picture = fit_frame(frame_of(36, 64), 64, 36, "pad")
    y = luma(64, 36, picture)
    assert picture.shape == (54, 64)
    assert (y[:, :22] == 16).all() and (y[:, 42:] == 16).all()
    assert y[:, 25:40].min() > 100


def test_pad_letterboxes_a_wide_picture_in_black() -> None:
    """A 16:9 picture in a 9:16 frame keeps its aspect between black bars above and below."""
    y = luma(36, 64, fit_frame(frame_of(64, 36), 36, 64, "pad"))
    assert (y[:22] == 16).all() and (y[42:] == 16).all()
    assert y[22:42, 8:].min() > 100


def test_crop_fills_the_frame_and_cuts_the_sides() -> None:
    """Crop leaves no black, and cuts a wide picture's sides (its red left edge is gone)."""
    frame = fit_frame(frame_of(64, 36), 36, 64, "crop")
    rgb = av.VideoFrame.from_ndarray(frame, format="yuv420p").to_ndarray(format="rgb24")
    assert luma(36, 64, frame).min() > 100
    assert (rgb[:, :, 0].astype(int) - rgb[:, :, 1]).max() < 40


def test_stretch_fills_the_frame_with_the_whole_picture() -> None:
    """Stretch leaves no black and keeps every edge (the red stripe is at the left)."""
    frame = fit_frame(frame_of(64, 36), 36, 64, "stretch")
    rgb = av.VideoFrame.from_ndarray(frame, format="yuv420p").to_ndarray(format="rgb24")
    assert luma(36, 64, frame).min() > 50
    assert rgb[32, 1, 0] > 180 and rgb[32, 1, 1] < 80


def test_a_fitting_frame_passes_untouched() -> None:
    """A frame already of the output's size and format is not rescaled."""
    frame = frame_of(64, 36).reformat(format="yuv420p")
    assert np.array_equal(fit_frame(frame, 64, 36, "pad"), frame.to_ndarray())
