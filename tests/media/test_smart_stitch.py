"""smart_stitch: copied frames are the sources' own, re-encoded seams match an exact render,
the sound is continuous and in place, pieces are cached, and odd clips fall back."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from media_support import RATE, ClipFactory, rms

from cinestitch.media import (
    AudioBed,
    ClipSpec,
    StitchPlan,
    Transition,
    plan_timeline,
    probe_clip,
    psnr,
    read_audio,
    stitch_clips,
)
from cinestitch.media.remux import SmartResult, smart_stitch
from cinestitch.media.stitch import render_frames

FPS, W, H = 12, 128, 72
COLORS = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40)]
TONES = [440.0, 660.0, 880.0, 550.0]
SHORT_GOP, LONG_GOP = 6, 250


def chirp(low: float, high: float, seconds: float = 2.0) -> np.ndarray:
    """A stereo sweep: unlike a steady tone, it lines up with itself at one lag only."""
    t = np.arange(round(seconds * RATE)) / RATE
    phase = 2 * np.pi * (low * t + (high - low) * t * t / (2 * seconds))
    wave = (0.3 * np.sin(phase)).astype(np.float32)
    return np.stack([wave, wave])


def make_clips(
    make: ClipFactory, root: Path, keyint: int | None, n: int = 3, sweeps: bool = False
) -> list[Path]:
    """``n`` 2 s clips (24 frames) with a moving bar, each its own colour and tone (or a
    frequency sweep)."""
    return [
        make(
            root / f"clip{i}.mp4",
            seconds=2,
            fps=FPS,
            width=W,
            height=H,
            color=COLORS[i],
            tone_hz=TONES[i],
            audio=chirp(200 + 100 * i, 3000 - 300 * i) if sweeps else None,
            keyint=keyint,
        )
        for i in range(n)
    ]


def plan_of(clips: list[Path], kind: str, seconds: float = 0.5, **kw: object) -> StitchPlan:
    specs = [ClipSpec(c, transition_out=Transition(kind, seconds)) for c in clips[:-1]]  # type: ignore[arg-type]
    return StitchPlan(clips=(*specs, ClipSpec(clips[-1])), width=W, height=H, fps=FPS, **kw)  # type: ignore[arg-type]


def exact_pictures(plan: StitchPlan) -> list[np.ndarray]:
    """What every output frame should show before encoding (yuv420p planes)."""
    timeline = plan_timeline(plan, [probe_clip(c.path) for c in plan.clips])
    return list(render_frames(timeline))


def all_frames(path: Path) -> list[np.ndarray]:
    """Every decoded frame as yuv420p planes, compared without any colour conversion."""
    with av.open(str(path)) as container:
        return [f.to_ndarray() for f in container.decode(container.streams.video[0])]


def smart(plan: StitchPlan, dest: Path, work: Path, notes: list[str] | None = None) -> SmartResult:
    return smart_stitch(plan, dest, work, note=None if notes is None else notes.append)


@pytest.mark.parametrize("keyint", [SHORT_GOP, LONG_GOP], ids=["short-gop", "long-gop"])
@pytest.mark.parametrize("kind", ["cut", "fade", "crossfade"])
def test_frames_match_the_full_reencode(
    tmp_path: Path, make_clip: ClipFactory, kind: str, keyint: int | None
) -> None:
    """Every frame is the one the reference shows: exact count, none repeated or dropped at
    a seam, re-encoded frames >= 40 dB against the exact picture, all >= 40 dB against the
    reference path's own output."""
    clips = make_clips(make_clip, tmp_path, keyint)
    plan = plan_of(clips, kind)
    result = smart(plan, tmp_path / "smart.mp4", tmp_path / "seams")
    stitch_clips(plan, tmp_path / "ref.mp4")
    got, ref = all_frames(tmp_path / "smart.mp4"), all_frames(tmp_path / "ref.mp4")
    exact = exact_pictures(plan)
    assert len(got) == len(ref) == len(exact) == result.info.frame_count
    probed = probe_clip(tmp_path / "smart.mp4")
    assert (probed.frame_count, probed.duration) == (result.info.frame_count, result.info.duration)
    for i, (g, r, e) in enumerate(zip(got, ref, exact, strict=True)):
        assert psnr(g, e) >= 40, (i, psnr(g, e))
        assert psnr(g, r) >= 40, (i, psnr(g, r))
    if kind != "cut" or keyint == SHORT_GOP:
        assert result.copied_frames > 0


def test_cut_path_copies_every_frame(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Cuts between short-GOP clips encode no frame: each output frame is its source frame."""
    clips = make_clips(make_clip, tmp_path, SHORT_GOP)
    result = smart(plan_of(clips, "cut"), tmp_path / "out.mp4", tmp_path / "seams")
    assert (result.copied_frames, result.encoded_frames) == (72, 0)
    got = all_frames(tmp_path / "out.mp4")
    for k, clip in enumerate(clips):
        for i, frame in enumerate(all_frames(clip)):
            assert psnr(got[24 * k + i], frame) == 99, (k, i)


def test_timestamps_are_monotonic_and_durations_exact(
    tmp_path: Path, make_clip: ClipFactory
) -> None:
    """Video pts rise by one frame each, and audio lasts as long as the video (one packet)."""
    clips = make_clips(make_clip, tmp_path, SHORT_GOP)
    out = tmp_path / "out.mp4"
    smart(plan_of(clips, "crossfade"), out, tmp_path / "seams")
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        pts = [f.pts for f in container.decode(stream)]
        step = round(1 / (FPS * stream.time_base))
    assert pts == [pts[0] + step * i for i in range(len(pts))] and len(pts) == 60
    audio = read_audio(out, RATE)
    assert abs(audio.shape[1] - 60 * RATE // FPS) <= 1024


def lag_of(got: np.ndarray, want: np.ndarray, reach: int = 700) -> int:
    """How many samples ``got`` plays later than ``want`` (both mono, same length)."""
    scores = [
        float(np.dot(got[reach + d : -reach + d or None], want[reach:-reach]))
        for d in range(-reach, reach + 1)
    ]
    return int(np.argmax(scores)) - reach


@pytest.mark.parametrize("kind", ["cut", "crossfade"])
def test_audio_stays_in_place_and_continuous(
    tmp_path: Path, make_clip: ClipFactory, kind: str
) -> None:
    """Each clip's sound is within half an AAC packet (10.7 ms) of its exact place, so there
    is no drift, and the level never dips or spikes at a join."""
    clips = make_clips(make_clip, tmp_path, SHORT_GOP, n=4, sweeps=True)
    plan = plan_of(clips, kind)
    smart(plan, tmp_path / "smart.mp4", tmp_path / "seams")
    stitch_clips(plan, tmp_path / "ref.mp4")
    got, ref = (
        read_audio(tmp_path / "smart.mp4", RATE)[0],
        read_audio(tmp_path / "ref.mp4", RATE)[0],
    )
    assert got.shape == ref.shape
    step = (24 - (6 if kind == "crossfade" else 0)) * RATE // FPS
    for k in range(4):
        middle = slice(k * step + 42_000, k * step + 54_000)
        assert abs(lag_of(got[middle], ref[middle])) <= 512, k
    window = 480
    for at in range(0, got.shape[0] - window, window):
        a, b = rms(got[at : at + window]), rms(ref[at : at + window])
        assert abs(a - b) <= 0.1 * max(b, 0.05), (at, a, b)


def test_music_bed_gives_the_reference_sound(tmp_path: Path, make_clip: ClipFactory) -> None:
    """With a music bed the whole sound is re-encoded from the reference mix."""
    clips = make_clips(make_clip, tmp_path, SHORT_GOP)
    plan = plan_of(clips, "crossfade", audio_bed=AudioBed(clips[0], volume=0.5, loop=True))
    smart(plan, tmp_path / "smart.mp4", tmp_path / "seams")
    stitch_clips(plan, tmp_path / "ref.mp4")
    got, ref = read_audio(tmp_path / "smart.mp4", RATE), read_audio(tmp_path / "ref.mp4", RATE)
    assert got.shape == ref.shape and np.abs(got - ref).max() < 0.02


def test_same_bytes_fresh_or_from_cached_pieces(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Two fresh stitches and a restitch from cached pieces are byte-identical."""
    clips = make_clips(make_clip, tmp_path, SHORT_GOP)
    plan = plan_of(clips, "crossfade")
    first = smart(plan, tmp_path / "a.mp4", tmp_path / "seams-a")
    smart(plan, tmp_path / "b.mp4", tmp_path / "seams-b")
    again = smart(plan, tmp_path / "c.mp4", tmp_path / "seams-a")
    assert first.pieces_encoded > 0 and (again.pieces_encoded, again.pieces_reused) == (
        0,
        first.pieces_encoded,
    )
    data = (tmp_path / "a.mp4").read_bytes()
    assert data == (tmp_path / "b.mp4").read_bytes() == (tmp_path / "c.mp4").read_bytes()


def test_changed_segment_reencodes_only_its_seams(tmp_path: Path, make_clip: ClipFactory) -> None:
    """Regenerating the last of four clips re-encodes the one seam it touches, not the others;
    a changed transition re-encodes only its own seam."""
    clips = make_clips(make_clip, tmp_path, SHORT_GOP, n=4)
    work = tmp_path / "seams"
    assert smart(plan_of(clips, "crossfade"), tmp_path / "a.mp4", work).pieces_encoded == 3
    make_clip(clips[3], seconds=2, fps=FPS, width=W, height=H, color=(9, 9, 9), keyint=6)
    result = smart(plan_of(clips, "crossfade"), tmp_path / "b.mp4", work)
    assert (result.pieces_encoded, result.pieces_reused) == (1, 2)
    specs = list(plan_of(clips, "crossfade").clips)
    specs[0] = ClipSpec(clips[0], transition_out=Transition("crossfade", 0.25))
    plan = StitchPlan(clips=tuple(specs), width=W, height=H, fps=FPS)
    result = smart(plan, tmp_path / "c.mp4", work)
    assert (result.pieces_encoded, result.pieces_reused) == (1, 2)


def test_mismatched_clip_is_reencoded_with_a_note(tmp_path: Path, make_clip: ClipFactory) -> None:
    """A clip of another size is rendered into the seams, with one note saying why."""
    clips = make_clips(make_clip, tmp_path, SHORT_GOP)
    clips[1] = make_clip(tmp_path / "big.mp4", seconds=2, fps=FPS, width=192, height=108)
    plan = plan_of(clips, "cut")
    notes: list[str] = []
    result = smart(plan, tmp_path / "smart.mp4", tmp_path / "seams", notes)
    assert notes == ["big.mp4 re-encoded — 192x108 differs from the output's 128x72"]
    stitch_clips(plan, tmp_path / "ref.mp4")
    got, ref = all_frames(tmp_path / "smart.mp4"), all_frames(tmp_path / "ref.mp4")
    assert len(got) == len(ref) == 72 and result.encoded_frames >= 24
    assert min(psnr(g, r) for g, r in zip(got, ref, strict=True)) >= 40


def test_no_copyable_clip_uses_the_reference(tmp_path: Path, make_clip: ClipFactory) -> None:
    """When no clip can be copied the full re-encode runs and every clip gets a note."""
    clip = make_clip(tmp_path / "c.mp4", seconds=1, fps=24, width=W, height=H)
    plan = StitchPlan(clips=(ClipSpec(clip),), width=W, height=H, fps=FPS)
    notes: list[str] = []
    result = smart(plan, tmp_path / "out.mp4", tmp_path / "seams", notes)
    assert notes == ["c.mp4 re-encoded — 24 fps differs from the output's 12"]
    assert result.info.frame_count == 12


def test_each_clip_is_opened_once(
    tmp_path: Path, make_clip: ClipFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cut-only stitch of small clips opens each clip once (its scan keeps the packets the
    copies and the audio joins need), plus the first clip once more as the track's template."""
    clips = make_clips(make_clip, tmp_path, SHORT_GOP, n=4)
    opened: list[str] = []
    real_open = av.open

    def counting(file: object, *args: object, **kwargs: object) -> object:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(av, "open", counting)
    result = smart(plan_of(clips, "cut"), tmp_path / "out.mp4", tmp_path / "seams")
    assert result.encoded_frames == 0
    counts = {str(c): opened.count(str(c)) for c in clips}
    assert counts == {str(c): 2 if c == clips[0] else 1 for c in clips}, opened
