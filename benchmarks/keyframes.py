"""Keyframe builds against chained ones: wall time of generation, in generations' latencies.

    python benchmarks/keyframes.py             # 20 segments, 8 s a generation (about 7 min)
    python benchmarks/keyframes.py --quick     # 20 segments, 3 s a generation (about 3 min)
    python benchmarks/keyframes.py --segments 10 --latency 4 --work DIR

The providers are the test fakes of fal's queue (``tests/providers``), served from this
process on 127.0.0.1 with a set latency: a job is done ``--latency`` seconds after it was
submitted, like a remote job that is mostly queue. Clips go to the Wan 2.7 fake (which takes
a first and a last frame), stills to the FLUX fake (``fal-image``); here each answer's picture
is drawn from its request (its prompt and frames), so an edit changes what follows it, as a
real model's would. Each project is built
from nothing (no cache) with ``doit -n N``, N one more than the segments, and timed as a
whole: loading, every generation, conforming, the stitch and the review steps. The builds:

- **one segment**: the baseline, one generation and the fixed cost of a build;
- **chained**: N segments, each starting from the last frame of the one before, so each
  waits for the one before it (``-n`` cannot help);
- **keyframes**: N segments between N + 1 generated keyframes; the stills are made at once,
  then every segment at once;
- **one shot's prompt edited** (the sixth) in each: chained, it and every shot after it are
  made again one after another; between keyframes, that shot alone.

Ratios are to the latency; ``doit plan``'s estimate for each is printed beside it (from the
static latencies of ``data/latency.json``, not the fake's, so it is about the shape). Load
on the machine changes the fixed part, not the shape: chained grows with N, keyframes does
not.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DODO = '''"""`doit` here builds this cinestitch project."""

from cinestitch.tasks import DOIT_CONFIG, project_tasks  # noqa: F401


def task_cinestitch():  # type: ignore[no-untyped-def]
    return project_tasks(__file__)
'''
HEAD = """schema_version: 1
title: Bench
output: {{size: 128x72, fps: 12}}
provider: {{name: fal, base_url: "{clips}", poll_interval: 0.1}}
keyframe_provider: {{name: fal-image, model: fal-ai/flux/schnell, base_url: "{stills}",
                    poll_interval: 0.1}}
defaults: {{seconds: 2}}
"""
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "providers"))


def chained(n: int, urls: dict[str, str]) -> str:
    shots = [f'  - {{id: s{i:02d}, prompt: "Shot {i}."}}' for i in range(1, n)]
    first = '  - {id: s00, reference: none, prompt: "Shot 0."}'
    return HEAD.format(**urls) + "segments:\n" + "\n".join([first, *shots]) + "\n"


def keyframed(n: int, urls: dict[str, str]) -> str:
    stills = [f'  - {{id: k{i:02d}, prompt: "Still {i}."}}' for i in range(n + 1)]
    shots = [
        f'  - {{id: s{i:02d}, between: [k{i:02d}, k{i + 1:02d}], prompt: "Shot {i}."}}'
        for i in range(n)
    ]
    body = "keyframes:\n" + "\n".join(stills) + "\nsegments:\n" + "\n".join(shots) + "\n"
    return HEAD.format(**urls) + body


def write(root: Path, manifest: str) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    (root / "cinestitch.yaml").write_text(manifest)
    (root / "dodo.py").write_text(DODO)
    return root


def env() -> dict[str, str]:
    from fake_http import KEY

    clean = {k: v for k, v in os.environ.items() if not k.startswith("CINESTITCH_")}
    clean.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**clean, "FAL_KEY": KEY}


def estimate(root: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "doit", "plan"], cwd=root, env=env(), capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    found = next((x for x in done.stdout.splitlines() if x.startswith("wall time:")), "")
    return found.removeprefix("wall time: ").split(" (")[0].split(";")[0] or "-"


def build(root: Path, processes: int) -> float:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "doit", "-n", str(processes)], cwd=root, env=env(),
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"build of {root.name} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--latency", type=float, default=None, help="seconds per generation")
    parser.add_argument("--quick", action="store_true", help="3 s a generation")
    parser.add_argument("--work", type=Path, help="keep the projects in this directory")
    args = parser.parse_args()
    latency = args.latency or (3.0 if args.quick else 8.0)
    work = args.work or Path(tempfile.mkdtemp(prefix="cinestitch-keyframes-"))
    with contextlib.ExitStack() as stack:
        urls = serve(stack, work / "servers", latency)
        rows = run(args.segments, latency, urls, work)
    report(rows, args.segments, latency)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def serve(stack: contextlib.ExitStack, scratch: Path, latency: float) -> dict[str, str]:
    """The fal fakes for clips and stills, a job done ``latency`` s after its submission,
    each answer a picture made from its request (so an edit changes what follows it)."""
    from fake_fal import FakeFal
    from fake_fal_image import FakeFalImage
    from fake_veo import StorageServer

    class Clips(FakeFal):  # type: ignore[misc]
        def _output(self, request: Any) -> dict[str, Any]:
            found: dict[str, Any] = super()._output(request)
            data = varied_clip(request.body, float(str(request.body.get("duration", 2))))
            self.cdn.blobs[request.file_id] = data
            found["video"]["file_size"] = len(data)
            return found

    class Stills(FakeFalImage):  # type: ignore[misc]
        def _output(self, request: Any) -> dict[str, Any]:
            found: dict[str, Any] = super()._output(request)
            image = found["images"][0]
            size = (int(image["width"]), int(image["height"]))
            self.cdn.blobs[request.file_id] = varied_picture(request.body, size)
            image["content_type"] = "image/png"
            return found

    scratch.mkdir(parents=True, exist_ok=True)
    cdn = stack.enter_context(StorageServer(scratch))
    clips = stack.enter_context(Clips(scratch, cdn))
    stills = stack.enter_context(Stills(scratch, cdn))
    for server in (clips, stills):
        server.latency = latency
        server.polls_to_finish = 1
    return {"clips": clips.url, "stills": stills.url}


def _tint(body: dict[str, Any]) -> tuple[int, int, int]:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest()
    return digest[0], digest[1], digest[2]


def varied_picture(body: dict[str, Any], size: tuple[int, int]) -> bytes:
    """A PNG whose colour is drawn from the request (its prompt and pictures)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, _tint(body)).save(buffer, format="PNG")
    return buffer.getvalue()


def varied_clip(body: dict[str, Any], seconds: float) -> bytes:
    """A clip in the output's format (128x72, 12 fps, stereo: conformed by a link) whose
    colour is drawn from the request, so a new first frame makes another clip."""
    import numpy as np

    from cinestitch.media.writer import Mp4Writer

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        frames = round(seconds * 12)
        with Mp4Writer(path, 128, 72, 12) as writer:
            for k in range(frames):
                picture = np.full((72, 128, 3), _tint(body), dtype=np.uint8)
                picture[:, : 4 + k] = (230, 230, 230)
                writer.write_frame(picture)
            writer.write_audio(np.zeros((2, frames * 4000), dtype=np.float32))
        return path.read_bytes()


Row = tuple[str, str, float]


def run(n: int, latency: float, urls: dict[str, str], work: Path) -> list[Row]:
    processes = n + 1
    print(f"latency {latency:g} s a generation (fal fakes on 127.0.0.1); {n} segments of 2 s; "
          f"doit -n {processes}; no cache", flush=True)  # fmt: skip
    rows = []
    one = write(work / "one", chained(1, urls))
    rows.append(("one segment (baseline)", estimate(one), build(one, processes)))
    chain = write(work / "chained", chained(n, urls))
    rows.append((f"{n} chained segments", estimate(chain), build(chain, processes)))
    keys = write(work / "keyframes", keyframed(n, urls))
    rows.append((f"{n} segments between {n + 1} keyframes", estimate(keys), build(keys, processes)))
    shot = min(5, n - 1)
    for name, root in (("chained", chain), ("keyframes", keys)):
        manifest = root / "cinestitch.yaml"
        manifest.write_text(
            manifest.read_text().replace(f'"Shot {shot}."', f'"Shot {shot}, again."')
        )
        label = f"{name}: after editing s{shot:02d}'s prompt"
        rows.append((label, estimate(root), build(root, processes)))
    return rows


def report(rows: list[Row], n: int, latency: float) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"{'build':<{width}}  {'wall time':>9}  {'/ latency':>9}  doit plan's estimate*")
    for name, guess, seconds in rows:
        print(f"{name:<{width}}  {seconds:8.1f}s  {seconds / latency:8.1f}x  {guess}")
    print(f"keyframe mode is {rows[1][2] / rows[2][2]:.1f}x faster than chained at {n} segments")
    print(f"overhead of a build (the baseline less one latency): {rows[0][2] - latency:.1f} s")
    print(
        "* from data/latency.json's typical figures (Wan 120 s, FLUX schnell 3 s), not the fake's"
    )


if __name__ == "__main__":
    sys.exit(main())
