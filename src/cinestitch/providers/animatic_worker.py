"""The animatic job worker: ``python -m cinestitch.providers.animatic_worker <job_dir>``.

Started detached by ``AnimaticProvider.submit``; reads the job's request.json, honours the
``delay`` and ``fail`` options, renders output.mp4 (output.png for a still) and reports
through status.json. Any error becomes a ``failed`` status with a one-line message (the
traceback goes to worker.log).
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from cinestitch.providers.animatic_job import OUTPUT_FILE, STILL_FILE, load_request, write_status
from cinestitch.providers.base import JobState

PROGRESS_INTERVAL = 0.25
"""Seconds between progress writes (at most four a second)."""


def run_worker(job_dir: Path) -> None:
    request = load_request(job_dir)
    delay = float(request.options.get("delay", 0))
    if delay > 0:
        write_status(job_dir, JobState.QUEUED, 0.0, f"waiting {delay:g} s (delay option)")
        time.sleep(delay)
    fail = request.options.get("fail")
    if fail:
        write_status(job_dir, JobState.FAILED, None, str(fail))
        return
    write_status(job_dir, JobState.RUNNING, 0.0, "rendering")
    from cinestitch.providers.animatic_render import render_animatic, render_still

    if request.kind == "image":
        render_still(request, job_dir / STILL_FILE)
        write_status(job_dir, JobState.SUCCEEDED, 1.0, None)
        return

    last = [time.monotonic()]

    def progress(done: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_INTERVAL:
            last[0] = now
            write_status(job_dir, JobState.RUNNING, round(done, 3), "rendering")

    render_animatic(request, job_dir / OUTPUT_FILE, progress)
    write_status(job_dir, JobState.SUCCEEDED, 1.0, None)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"[:500]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m cinestitch.providers.animatic_worker <job_dir>", file=sys.stderr)
        return 2
    job_dir = Path(args[0])
    try:
        run_worker(job_dir)
    except Exception as exc:
        traceback.print_exc()
        print(f"error: {one_line(exc)}", flush=True)  # the last log line says it plainly
        try:
            write_status(job_dir, JobState.FAILED, None, one_line(exc))
        except OSError as status_exc:  # e.g. the same full disk: the log line stays
            print(f"error: cannot record the failure: {one_line(status_exc)}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
