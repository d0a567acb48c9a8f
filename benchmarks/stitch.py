"""Stitching speed: cinestitch's smart render against ffmpeg and MoviePy on the same inputs.

    python benchmarks/stitch.py            # 5 x 12 s at 720p and 1080p, 2 s and long GOPs
    python benchmarks/stitch.py --quick    # 5 x 4 s at 720p, one run each

Both also time a cut-only stitch of 100 one-second clips at 320x180 against ffmpeg's concat
demuxer (many joins: what a long video of short segments costs).

Inputs are generated first (moving texture and gradients, a tone with tremolo; H.264 High and
AAC by the same encoder the animatic provider uses). Each cinestitch run happens in a child
process that times the stitch itself and reports its peak RSS; ffmpeg (from imageio-ffmpeg)
and MoviePy are the optional baselines, installed with ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cinestitch.media import ClipSpec, EncoderSettings, Mp4Writer, StitchPlan, Transition
from cinestitch.media.remux import smart_stitch

FPS, RATE, FADE = 24, 48_000, 0.5
ONE_KEYFRAME = 10_000
"""A keyframe interval longer than any segment: one keyframe per clip, as many generators
deliver."""


def texture(width: int, height: int, seed: int) -> np.ndarray:
    """Blurred noise twice the frame size, to pan across (detail that does not compress away)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (height // 4 + 1, width // 4 + 1), dtype=np.uint8)
    big = np.kron(noise, np.ones((8, 8), dtype=np.uint8))
    return big[: 2 * height, : 2 * width]


def write_segment(
    path: Path, width: int, height: int, seconds: float, seed: int, keyint: int | None
) -> None:
    tex = texture(width, height, seed)
    ramp = np.linspace(40, 200, width, dtype=np.float32)[None, :]
    frames = round(seconds * FPS)
    t = np.arange(round(seconds * RATE)) / RATE
    wave = (
        0.25 * np.sin(2 * np.pi * (330 + 110 * seed) * t) * (0.7 + 0.3 * np.sin(2 * np.pi * 3 * t))
    )
    with Mp4Writer(path, width, height, FPS, keyint=keyint) as writer:
        for i in range(frames):
            x, y = (7 * i + 50 * seed) % width, (3 * i) % height
            luma = tex[y : y + height, x : x + width].astype(np.float32) * 0.5 + ramp * 0.5
            luma[:, (9 * i) % (width - 80) : (9 * i) % (width - 80) + 80] = 235
            picture = np.empty((height * 3 // 2, width), dtype=np.uint8)
            picture[:height] = luma.astype(np.uint8)
            picture[height:] = 128 + 20 * ((seed + i // 48) % 3 - 1)
            writer.write_frame(picture)
        writer.write_audio(np.stack([wave, wave]).astype(np.float32))


def plan_for(clips: list[Path], width: int, height: int, kind: str) -> StitchPlan:
    seconds = FADE if kind != "cut" else 0.0
    specs = [ClipSpec(c, transition_out=Transition(kind, seconds)) for c in clips[:-1]]  # type: ignore[arg-type]
    return StitchPlan(
        clips=(*specs, ClipSpec(clips[-1])),
        width=width,
        height=height,
        fps=FPS,
        encoder=EncoderSettings(crf=20, preset="veryfast"),
    )


def child(args: argparse.Namespace) -> None:
    """One stitch in this process: print its seconds and the process's peak RSS as JSON."""
    clips = [Path(p) for p in args.clips]
    plan = plan_for(clips, args.width, args.height, args.kind)
    started = time.perf_counter()
    result = smart_stitch(plan, Path(args.dest), Path(args.work))
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_mb": rss,
                "encoded": result.encoded_frames,
                "frames": result.info.frame_count,
            }
        )
    )


def run_child(
    clips: list[Path], size: tuple[int, int], kind: str, dest: Path, work: Path
) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--kind",
        kind,
        "--width",
        str(size[0]),
        "--height",
        str(size[1]),
        "--dest",
        str(dest),
        "--work",
        str(work),
        *map(str, clips),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def seam_psnr(clips: list[Path], size: tuple[int, int], output: Path) -> float:
    """Worst PSNR of the re-encoded frames in ``output`` against their exact pictures."""
    import av

    from cinestitch.media import psnr
    from cinestitch.media.pictures import render_range
    from cinestitch.media.source import scan_source
    from cinestitch.media.splice import VideoEncode, plan_video
    from cinestitch.media.timeline import plan_timeline

    plan = plan_for(clips, *size, "crossfade")
    sources = [scan_source(c, *size, FPS) for c in clips]
    timeline = plan_timeline(plan, [s.info for s in sources])
    indexes = [s.index for s in sources]
    want = {}
    for piece in plan_video(timeline, indexes):
        if isinstance(piece, VideoEncode):
            pictures = render_range(timeline, piece.start, piece.stop, indexes)
            want.update(zip(range(piece.start, piece.stop), pictures, strict=True))
    with av.open(str(output)) as container:
        frames = enumerate(container.decode(container.streams.video[0]))
        return min(psnr(f.to_ndarray(), want[i]) for i, f in frames if i in want)


def ffmpeg_binary() -> str | None:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:
        return None


def ffmpeg_concat(ffmpeg: str, clips: list[Path], dest: Path) -> None:
    listing = dest.with_suffix(".txt")
    listing.write_text("".join(f"file '{c}'\n" for c in clips))
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-c",
            "copy",
            str(dest),
        ],
        check=True,
    )


def ffmpeg_xfade(ffmpeg: str, clips: list[Path], seconds: float, dest: Path) -> None:
    parts, v, a = [], "[0:v]", "[0:a]"
    for i in range(1, len(clips)):
        offset = i * (seconds - FADE)
        parts.append(f"{v}[{i}:v]xfade=transition=fade:duration={FADE}:offset={offset:.3f}[v{i}]")
        parts.append(f"{a}[{i}:a]acrossfade=d={FADE}[a{i}]")
        v, a = f"[v{i}]", f"[a{i}]"
    inputs = [x for c in clips for x in ("-i", str(c))]
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            *inputs,
            "-filter_complex",
            ";".join(parts),
            "-map",
            v,
            "-map",
            a,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-b:a",
            "160k",
            str(dest),
        ],
        check=True,
    )


def moviepy_crossfade(clips: list[Path], dest: Path) -> None:
    from moviepy import VideoFileClip, afx, concatenate_videoclips, vfx

    opened = [VideoFileClip(str(c)) for c in clips]
    faded = [opened[0]] + [
        c.with_effects([vfx.CrossFadeIn(FADE), afx.AudioFadeIn(FADE)]) for c in opened[1:]
    ]
    video = concatenate_videoclips(faded, method="compose", padding=-FADE)
    video.write_videofile(
        str(dest), codec="libx264", preset="veryfast", audio_codec="aac", fps=FPS, logger=None
    )
    for c in opened:
        c.close()


def timed(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_set(
    root: Path,
    label: str,
    size: tuple[int, int],
    seconds: float,
    keyint: int | None,
    runs: int,
    baselines: bool,
) -> dict[str, float]:
    """Every measurement on one input set; returns medians (seconds) and peak RSS (MB)."""
    gop = "one keyframe" if keyint == ONE_KEYFRAME else f"keyint {keyint}"
    print(f"\n== {label}: 5 x {seconds:g} s at {size[0]}x{size[1]}, {gop}")
    clips = [root / f"{label}-{i}.mp4" for i in range(5)]
    for i, clip in enumerate(clips):
        write_segment(clip, *size, seconds, i, keyint)
    out: dict[str, float] = {}
    ffmpeg = ffmpeg_binary()

    def ours(kind: str, work: Path | None = None) -> dict[str, float]:
        w = work or Path(tempfile.mkdtemp(dir=root))
        result = run_child(clips, size, kind, root / f"{label}-{kind}.mp4", w)
        if work is None:
            shutil.rmtree(w)
        return result

    cut = [ours("cut") for _ in range(runs)]
    out["cut"] = statistics.median(r["seconds"] for r in cut)
    cross = [ours("crossfade") for _ in range(runs)]
    out["crossfade"] = statistics.median(r["seconds"] for r in cross)
    out["rss_mb"] = max(r["rss_mb"] for r in cut + cross)
    out["encoded"] = cross[0]["encoded"]
    out["frames"] = cross[0]["frames"]
    out["psnr"] = seam_psnr(clips, size, root / f"{label}-crossfade.mp4")
    work = root / f"{label}-seams"
    ours("crossfade", work)
    write_segment(clips[2], *size, seconds, 7, keyint)
    out["restitch"] = ours("crossfade", work)["seconds"]
    write_segment(clips[2], *size, seconds, 2, keyint)
    if ffmpeg and baselines:
        out["ffmpeg_concat"] = timed(lambda: ffmpeg_concat(ffmpeg, clips, root / "c.mp4"), runs)
        out["ffmpeg_xfade"] = timed(
            lambda: ffmpeg_xfade(ffmpeg, clips, seconds, root / "x.mp4"), max(1, runs // 2)
        )
    if baselines and label.startswith("720") and not args_quick():
        with contextlib.suppress(ImportError):
            out["moviepy"] = timed(lambda: moviepy_crossfade(clips, root / "m.mp4"), 1)
    report(out)
    return out


MANY, MANY_SIZE, MANY_RUNS = 100, (320, 180), 5


def bench_many(root: Path, baselines: bool) -> dict[str, float]:
    """A cut-only stitch of 100 one-second clips, against ffmpeg concat ``-c copy``, the two
    timed in turn (medians of five runs each)."""
    print(f"\n== many: {MANY} x 1 s at {MANY_SIZE[0]}x{MANY_SIZE[1]}, cut only")
    clips = [root / f"many-{i:03d}.mp4" for i in range(MANY)]
    for i, clip in enumerate(clips):
        write_segment(clip, *MANY_SIZE, 1, i % 7, 48)
    ffmpeg = ffmpeg_binary() if baselines else None
    ours, theirs, rss = [], [], 0.0
    for _ in range(MANY_RUNS):
        work = Path(tempfile.mkdtemp(dir=root))
        got = run_child(clips, MANY_SIZE, "cut", root / "many.mp4", work)
        shutil.rmtree(work)
        ours.append(got["seconds"])
        rss = max(rss, got["rss_mb"])
        if ffmpeg:
            theirs.append(timed(lambda: ffmpeg_concat(ffmpeg, clips, root / "c.mp4"), 1))
    out = {"cut": statistics.median(ours), "rss_mb": rss}
    line = "  {:<24} {:7.2f} s   {}"
    print(line.format("cinestitch cut-only", out["cut"], f"peak RSS {rss:.0f} MB"))
    if theirs:
        out["ffmpeg_concat"] = statistics.median(theirs)
        ratio = out["cut"] / out["ffmpeg_concat"]
        print(line.format("ffmpeg concat -c copy", out["ffmpeg_concat"], f"{ratio:.2f}x (<= 2x)"))
    return out


def args_quick() -> bool:
    return "--quick" in sys.argv


def report(m: dict[str, float]) -> None:
    """Medians, and the ratios the targets name."""
    line = "  {:<24} {:7.2f} s   {}"
    share = f"{m['encoded']:.0f} of {m['frames']:.0f} frames re-encoded"
    print(line.format("cinestitch cut-only", m["cut"], f"peak RSS {m['rss_mb']:.0f} MB"))
    print(line.format("cinestitch crossfade", m["crossfade"], share))
    print(f"  {'':<24} {'':>9}   worst re-encoded frame {m['psnr']:.1f} dB (>= 40 dB)")
    print(line.format("restitch, 1 changed", m["restitch"], ""))
    if "ffmpeg_concat" in m:
        ratio = m["cut"] / m["ffmpeg_concat"]
        print(
            line.format("ffmpeg concat -c copy", m["ffmpeg_concat"], f"cut {ratio:.2f}x (<= 1.5x)")
        )
        x = m["ffmpeg_xfade"]
        faster = f"crossfade {x / m['crossfade']:.1f}x faster (>= 5x)"
        print(line.format("ffmpeg xfade veryfast", x, faster))
        print(line.format("", x, f"restitch {x / m['restitch']:.1f}x faster (>= 12x)"))
    if "moviepy" in m:
        faster = f"crossfade {m['moviepy'] / m['crossfade']:.1f}x faster (>= 15x)"
        print(line.format("MoviePy crossfade", m["moviepy"], faster))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="720p, 4 s segments, one run")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="cut", help=argparse.SUPPRESS)
    parser.add_argument("--width", type=int, default=1280, help=argparse.SUPPRESS)
    parser.add_argument("--height", type=int, default=720, help=argparse.SUPPRESS)
    parser.add_argument("--dest", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("clips", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    baselines = not args.no_baselines
    if baselines and ffmpeg_binary() is None:
        print("(no imageio-ffmpeg: pip install -e '.[bench]' for the ffmpeg baselines)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench_many(root, baselines)
        if args.quick:
            bench_set(root, "720g2", (1280, 720), 4, 48, 1, baselines)
            return
        bench_set(root, "720g2", (1280, 720), 12, 48, 3, baselines)
        bench_set(root, "720ginf", (1280, 720), 12, ONE_KEYFRAME, 1, baselines)
        bench_set(root, "1080g2", (1920, 1080), 12, 48, 1, baselines)


if __name__ == "__main__":
    main()
