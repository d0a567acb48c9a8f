"""A native extension's clip that begins by replaying the clip it continues (Veo, Wan) is
told from one that holds only new footage, and conforming it leaves the replay out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from media_support import ClipFactory, Rgb

from cinestitch.media import EncoderSettings
from cinestitch.media.conform import conform_clip
from cinestitch.media.extension import repeated_head
from cinestitch.media.frames import psnr, read_frames_rgb
from cinestitch.media.probe import probe_clip

W, H, FPS = 64, 36, 12


def shot(offset: int) -> Callable[[int], Rgb]:
    """Frame i shows a gradient that brightens frame by frame, from frame ``offset`` on: a
    shot whose first and last pictures differ, continued exactly by a larger offset."""

    def frame(i: int) -> Rgb:
        level = 20 + 9 * (i + offset)
        ramp = np.linspace(0, 40, W, dtype=np.float32)[None, :, None]
        return np.clip(level + ramp + np.zeros((H, W, 3), np.float32), 0, 255).astype(np.uint8)

    return frame


def clips(make_clip: ClipFactory, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The upstream clip (2 s), its merged extension (the 2 s again, then 1 s more) and a
    continuation of new footage only (3 s from where the upstream ends)."""
    kw = {"fps": FPS, "width": W, "height": H}
    up = make_clip(tmp_path / "up.mp4", seconds=2, pattern=shot(0), **kw)
    merged = make_clip(tmp_path / "merged.mp4", seconds=3, pattern=shot(0), **kw)
    fresh = make_clip(tmp_path / "fresh.mp4", seconds=3, pattern=shot(2 * FPS - 1), **kw)
    return up, merged, fresh


def test_the_replay_is_found_only_where_it_is(make_clip: ClipFactory, tmp_path: Path) -> None:
    up, merged, fresh = clips(make_clip, tmp_path)
    assert repeated_head(merged, up) == probe_clip(up).duration == 2.0
    assert repeated_head(fresh, up) == 0.0  # opens on the upstream's last picture
    assert repeated_head(up, up) == 0.0  # no longer than the clip it continues


def test_conforming_leaves_the_replay_out(make_clip: ClipFactory, tmp_path: Path) -> None:
    """The conformed extension is the new second, opening on the merged clip's frame at 2 s,
    with as much sound as picture."""
    up, merged, _ = clips(make_clip, tmp_path)
    dest = tmp_path / "conformed.mp4"
    conform_clip(merged, dest, W, H, FPS * 2, EncoderSettings(), head=repeated_head(merged, up))
    info = probe_clip(dest)
    assert info.duration == 1.0 and info.has_audio
    (opening,) = read_frames_rgb(dest, [0])
    at_two, at_zero = read_frames_rgb(merged, [2 * FPS, 0])
    assert psnr(opening, at_two) > 35 > psnr(opening, at_zero)
