"""Conform: long-GOP or mismatched clips are re-encoded once (and cached); others pass."""

from __future__ import annotations

import itertools
from pathlib import Path

from media_support import ClipFactory

from cinestitch.actions import run_conform
from cinestitch.cache import GenerationStore
from cinestitch.media import probe_clip, psnr, read_frames_rgb
from cinestitch.media.conform import conform_clip, conform_reason
from cinestitch.media.source import scan_source
from cinestitch.media.types import ClipSpec, EncoderSettings, StitchPlan

W, H, FPS = 128, 72, 12


def test_clip_with_short_gops_needs_nothing(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A clip of the output's size and rate with 2 s keyframes is used as it is."""
    clip = make_clip(tmp_path / "ok.mp4", seconds=3, fps=FPS, width=W, height=H)
    assert conform_reason(clip, W, H, FPS) is None


def test_other_size_is_named(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A clip of another size must be conformed, and the reason says so."""
    clip = make_clip(tmp_path / "big.mp4", seconds=1, fps=FPS, width=160, height=96)
    reason = conform_reason(clip, W, H, FPS)
    assert reason is not None and "160x96" in reason


def test_long_gop_is_reencoded_with_short_gops(tmp_path: Path, make_clip: ClipFactory) -> None:
    """One keyframe in 3 s is a long GOP: the conformed clip has keyframes 2 s apart at most, the
    same frames (within 35 dB) and its audio, and needs no further conforming."""
    clip = make_clip(tmp_path / "long.mp4", seconds=3, fps=FPS, width=W, height=H, keyint=250)
    reason = conform_reason(clip, W, H, FPS)
    assert reason is not None and "3.0 s apart" in reason
    out = tmp_path / "conformed.mp4"
    info = conform_clip(clip, out, W, H, FPS, EncoderSettings())
    assert info.frame_count == probe_clip(clip).frame_count == 36
    assert info.has_audio
    index = scan_source(out, W, H, FPS).index
    assert index is not None
    keys = [*index.clean_keyframes, len(index)]
    assert keys[0] == 0 and max(b - a for a, b in itertools.pairwise(keys)) <= 2 * FPS
    assert conform_reason(out, W, H, FPS) is None
    for i in (0, 17, 35):
        (a,) = read_frames_rgb(clip, [i])
        (b,) = read_frames_rgb(out, [i])
        assert psnr(a, b) > 35, i


def test_conform_action_links_or_caches(tmp_path: Path, make_clip: ClipFactory) -> None:
    """The conform step links a fitting clip, and re-encodes a long-GOP clip once: a second
    run restores the same bytes from the cache."""
    stitch = StitchPlan((ClipSpec(tmp_path / "x.mp4"),), W, H, FPS)
    cache = tmp_path / "cache"
    ok = make_clip(tmp_path / "ok.mp4", seconds=1, fps=FPS, width=W, height=H)
    assert run_conform(ok, tmp_path / "out" / "ok.mp4", stitch, cache) is None
    assert (tmp_path / "out" / "ok.mp4").read_bytes() == ok.read_bytes()
    long = make_clip(tmp_path / "long.mp4", seconds=3, fps=FPS, width=W, height=H, keyint=250)
    first, second = tmp_path / "out" / "first.mp4", tmp_path / "out" / "second.mp4"
    assert run_conform(long, first, stitch, cache) is None
    records = list((cache / "runs").rglob("*.json"))
    assert len(records) == 1
    assert run_conform(long, second, stitch, cache) is None
    assert second.read_bytes() == first.read_bytes()
    store = GenerationStore(cache)
    record = store.lookup(records[0].stem)
    assert record is not None and record.model.startswith("conform")
