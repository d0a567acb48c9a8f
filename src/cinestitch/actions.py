"""The effectful bodies that doit tasks call: write prompts, generate, extract, stitch.

Each returns ``None`` on success or a ``doit`` ``TaskFailed`` carrying one readable line, so a
user error never shows a traceback (set ``CINESTITCH_DEBUG=1`` to see one).
"""

from __future__ import annotations

import functools
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec

from doit.exceptions import TaskFailed

from cinestitch.atomic import write_text_if_changed
from cinestitch.errors import CinestitchError, GenerationFailedError, ProviderError
from cinestitch.media import extract_last_frame, stitch_clips
from cinestitch.media.types import StitchPlan
from cinestitch.plan import canonical_json
from cinestitch.providers import get_provider
from cinestitch.providers.base import GenerationRequest, JobState, Provider
from cinestitch.report import ProgressReporter

P = ParamSpec("P")
POLL_INTERVAL = 0.25
JOB_TIMEOUT = 60 * 60


def reported(label: str) -> Callable[[Callable[P, None]], Callable[P, TaskFailed | None]]:
    """Turn cinestitch errors into doit failures with one line naming ``label``."""

    def wrap(fn: Callable[P, None]) -> Callable[P, TaskFailed | None]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> TaskFailed | None:
            try:
                fn(*args, **kwargs)
            except CinestitchError as exc:
                if os.environ.get("CINESTITCH_DEBUG"):
                    traceback.print_exc()
                return TaskFailed(f"{label} FAILED  {exc}")
            return None

        return run

    return wrap


@reported("render")
def run_render(
    prompt_path: Path, prompt: str, settings_path: Path, settings: dict[str, Any]
) -> None:
    """Write the prompt and settings files only when their text changed (doit hashes them)."""
    write_text_if_changed(prompt_path, prompt + "\n")
    write_text_if_changed(settings_path, canonical_json(settings))


@reported("generate")
def run_generate(
    segment_id: str,
    work_dir: Path,
    settings: dict[str, Any],
    prompt_path: Path,
    reference: Path | None,
    dest: Path,
) -> None:
    provider = get_provider(settings["provider"], work_dir)
    width, _, height = settings["size"].partition("x")
    request = GenerationRequest(
        provider=settings["provider"],
        model=settings["model"],
        prompt=prompt_path.read_text(encoding="utf-8").strip(),
        seconds=float(settings["seconds"]),
        width=int(width),
        height=int(height),
        fps=int(settings["fps"]),
        seed=int(settings["seed"]),
        reference_image=reference,
        options=settings["options"],
    )
    run_job(provider, request, dest, ProgressReporter(f"generate:{segment_id}"), segment_id)


def run_job(
    provider: Provider,
    request: GenerationRequest,
    dest: Path,
    reporter: ProgressReporter,
    segment_id: str,
) -> None:
    """submit -> poll until final -> download; errors name the segment and the provider."""
    where = f"segment '{segment_id}' ({provider.name})"
    try:
        job_id = provider.submit(request)
        detail = f"{provider.name} {request.seconds:g} s"
        deadline = time.monotonic() + JOB_TIMEOUT
        while True:
            status = provider.poll(job_id)
            reporter.job(status, detail)
            if status.state.is_final:
                break
            if time.monotonic() > deadline:
                raise ProviderError(f"job {job_id} still not done after {JOB_TIMEOUT} s")
            time.sleep(POLL_INTERVAL)
        if status.state is not JobState.SUCCEEDED:
            said = status.message or status.state.value
            raise GenerationFailedError(f"job {job_id} {status.state.value}: {said}")
        provider.download(job_id, dest)
    except ProviderError as exc:
        raise type(exc)(f"{where}: {exc}", may_be_billed=exc.may_be_billed) from exc


@reported("frame")
def run_frame(clip: Path, dest: Path, sharpest_of: int) -> None:
    extract_last_frame(clip, dest, sharpest_of=sharpest_of)


@reported("stitch")
def run_stitch(plan: StitchPlan, dest: Path) -> None:
    reporter = ProgressReporter("stitch")
    started = time.monotonic()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if reporter.interactive and (now - last[0] > 0.2 or done == total):
            last[0] = now
            reporter.stream.write(f"\r   {'stitch':<22} {done}/{total} frames")
            reporter.stream.flush()

    info = stitch_clips(plan, dest, progress)
    if reporter.interactive:
        reporter.stream.write("\n")
    n = len(plan.clips)
    joins = [c.transition_out.kind for c in plan.clips[:-1] if c.transition_out.kind != "cut"]
    summary = f"{n} segments, {len(joins)} transitions" if joins else f"{n} segments"
    elapsed = time.monotonic() - started
    reporter.line(f"{summary} → {dest.name} ({info.duration:.1f} s) in {elapsed:.1f} s")
