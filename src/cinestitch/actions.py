"""The effectful bodies that doit tasks call: write prompts, generate, extract, stitch.

Each returns ``None`` on success or a ``doit`` ``TaskFailed`` carrying one readable line, so a
user error never shows a traceback (set ``CINESTITCH_DEBUG=1`` to see one). Media modules
(PyAV, numpy, Pillow) are imported inside the steps that use them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

from doit.exceptions import TaskFailed

from cinestitch import __version__
from cinestitch.atomic import link_or_copy, write_text_if_changed
from cinestitch.cache import GenerationStore, RunRecord, file_digest
from cinestitch.errors import BudgetError, CinestitchError, ProviderError
from cinestitch.forecast import Status, check_budget
from cinestitch.frozen import stop_if_frozen
from cinestitch.keys import conform_key
from cinestitch.ledger import (
    Approved,
    append_ledger,
    failure_line,
    format_ledger,
    read_ledger,
    start_ledger,
)
from cinestitch.lock import merge_pending
from cinestitch.media.fit import FitMode
from cinestitch.media.types import StitchPlan
from cinestitch.oserrors import describe_os_error
from cinestitch.plan import BuildPlan, FrameView, canonical_json
from cinestitch.report import ProgressReporter, format_forecast
from cinestitch.state import current_forecast, load_current_lock, scoped_forecast

if TYPE_CHECKING:
    from cinestitch.generation import SegmentJob

P = ParamSpec("P")


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
            except OSError as exc:
                if os.environ.get("CINESTITCH_DEBUG"):
                    traceback.print_exc()
                return TaskFailed(f"{label} FAILED  {describe_os_error(exc)}")
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
def run_generate(job: SegmentJob | Callable[[], SegmentJob], contact_sheet: Path) -> None:
    """Obtain the segment's takes, paying at most once each (see ``generation``); ``job``
    may be the function that makes it (so that a build that generates nothing makes none)."""
    from cinestitch.generation import run_segment
    from cinestitch.media.contact import write_contact_sheet

    if callable(job):
        job = job()
    label = job.task
    provider = str(job.settings["provider"])
    try:
        run_segment(job, ProgressReporter(label))
    except ProviderError as exc:
        billed = (
            "; it may have been billed" if exc.may_be_billed and "billed" not in str(exc) else ""
        )
        _note_failure(job, provider, str(exc), exc.may_be_billed)
        raise type(exc)(
            f"{job.what} ({provider}): {exc}{billed}",
            may_be_billed=exc.may_be_billed,
        ) from exc
    except CinestitchError as exc:
        _note_failure(job, provider, str(exc), False)
        raise
    except OSError as exc:
        _note_failure(job, provider, describe_os_error(exc), False)
        raise
    if job.takes > 1:
        write_contact_sheet(list(job.take_clips), job.take, contact_sheet)
        ProgressReporter(label).line(f"{job.takes} takes → {contact_sheet.name}")


def _note_failure(job: SegmentJob, provider: str, message: str, billed: bool) -> None:
    """Keep the failure for the digest printed at the end of the build (best effort)."""
    with contextlib.suppress(OSError):
        append_ledger(
            job.state_dir, job.build_id, failure_line(job.segment_id, provider, message, billed)
        )


@reported("frame")
def run_frame(clip: Path, dest: Path, sharpest_of: int, cache_dir: Path, view: FrameView) -> None:
    """Extract the reference frame as the viewer sees it (fitted to the output) and note its
    pixel digest in the cache, so that plans can compute downstream keys without decoding."""
    from cinestitch.media import pixel_digest
    from cinestitch.media.reference import extract_reference_frame

    w, h, fps, fit = view.width, view.height, view.fps, view.fit
    extract_reference_frame(clip, dest, w, h, fps, fit=fit, sharpest_of=sharpest_of)
    store = GenerationStore(cache_dir)
    store.put_frame_digest(file_digest(clip), view.name, pixel_digest(dest))


@reported("conform")
def run_conform(
    clip: Path,
    dest: Path,
    stitch: StitchPlan,
    cache_dir: Path,
    fit: FitMode = "pad",
    continued: Path | None = None,
) -> None:
    """Hand the clip to the stitcher as it is (a hard link), or re-encode it once — cached by
    the clip's digest and the output settings — when its packets could not be copied or it
    is not in the output's size, rate or sound layout. A native extension's clip
    (``continued``: the clip it extends) is re-encoded without the replay of that clip it
    begins with (``media.extension``)."""
    from cinestitch.media.conform import conform_clip, conform_reason

    w, h, fps = stitch.width, stitch.height, stitch.fps
    head = extension_head(clip, continued)
    reason = conform_reason(clip, w, h, fps)
    if head:
        reason = f"it begins with the {head:.2f} s of '{continued_name(continued)}' it extends"
    if reason is None:
        link_or_copy(clip, dest)
        return
    store = GenerationStore(cache_dir)
    digest = file_digest(clip)
    enc = stitch.encoder
    settings: dict[str, object] = {
        "size": f"{w}x{h}", "fps": fps, "crf": enc.crf, "preset": enc.preset, "fit": fit,
        **({"head": head} if head else {}),
    }  # fmt: skip
    key = conform_key(digest, settings)
    found = store.lookup(key)
    if found is None or not store.restore(found, dest):
        conform_clip(clip, dest, w, h, fps, enc, fit=fit, head=head)
        record = RunRecord(
            key, "", "cinestitch", f"conform x264 crf {enc.crf} {enc.preset}", None, None,
            None, 0.0, __version__, clip.stem,
        )  # fmt: skip
        store.put(dest, record)
    ProgressReporter(f"conform:{clip.stem}").line(f"re-encoded once — {reason}")


def extension_head(clip: Path, continued: Path | None) -> float:
    """The seconds of ``continued`` that ``clip``, its native extension, replays first."""
    if continued is None:
        return 0.0
    from cinestitch.media.extension import repeated_head

    return round(repeated_head(clip, continued), 6)


def continued_name(continued: Path | None) -> str:
    return continued.stem if continued is not None else ""


@reported("budget")
def run_budget(plan: BuildPlan, build_id: str) -> None:
    """Print what this build will generate and what it costs; stop it, before any provider
    call, if that would exceed a budget. Starts the build's ledger with what it approved
    (and first clears what a killed build left half-written)."""
    from cinestitch.state import cache_dir
    from cinestitch.sweep import begin_build

    begin_build(plan, cache_dir(plan), build_id)
    merge_pending(plan.paths.lock, plan.paths.lock_pending, plan.paths.lock_mutex)
    from cinestitch.wall_time import wall_text

    forecast, lock = current_forecast(plan)
    forecast = scoped_forecast(forecast, sys.argv)
    stream = sys.stdout
    if forecast.to_generate:
        stream.write(format_forecast(forecast, plan.project.budget, lock.spent_usd) + "\n")
        stream.write((wall_text(plan, forecast) or "") + "\n")
    else:
        stream.write("   plan: nothing to generate\n")
    stream.flush()
    stop_if_frozen(forecast)
    over = check_budget(forecast, plan.project.budget, lock.spent_usd)
    if over:
        raise BudgetError(over)
    missing = missing_keys(plan, [s.segment_id for s in forecast.to_generate])
    if missing:
        raise ProviderError(missing)
    takes = frozenset(
        (s.segment_id, n)
        for s in forecast.segments
        if s.status is Status.GENERATE
        for n in s.takes_to_generate
    )
    start_ledger(plan.paths.state, build_id, Approved(takes, forecast.cost or 0.0))


def missing_keys(plan: BuildPlan, segment_ids: list[str]) -> str | None:
    """One line naming every key variable the segments to generate need and lack, so a
    build stops before any work rather than after the first paid segment."""
    if not segment_ids:
        return None  # nothing to generate: no HTTP layer (httpx) to load
    from cinestitch.providers import provider_info
    from cinestitch.providers._http import find_key

    lacking: dict[str, list[str]] = {}
    for sid in segment_ids:
        spec = plan.provider_of(sid)
        env = spec.key_env or provider_info(spec.name).key_env
        if env and find_key(env, plan.project.root) is None:
            lacking.setdefault(env, []).append(sid)
    if not lacking:
        return None
    parts = [f"{env} (for {', '.join(ids)})" for env, ids in lacking.items()]
    return (
        f"no API key: set {'; '.join(parts)} in the environment or the project's .env, "
        "which git ignores — nothing was submitted"
    )


def print_ledger(plan: BuildPlan, build_id: str) -> None:
    """At the end of every build: fold this build's lock entries into the lock, and print
    what it generated, from where, and what it cost."""
    from cinestitch.sweep import end_build

    try:
        paths = plan.paths
        end_build(plan, build_id)
        merged = merge_pending(paths.lock, paths.lock_pending, paths.lock_mutex)
        lines = read_ledger(paths.state, build_id)
        lock = merged or current_forecast(plan)[1]
        text = format_ledger(lines, lock.spent_usd)
        if any(x.paid for x in lines):  # what the video has cost, per second it keeps
            from cinestitch.take_yield import build_yield, format_yield

            text += "\n" + format_yield(build_yield(plan.project, lock))
    except CinestitchError as exc:
        text = f"   ledger: {exc}"
    except OSError as exc:
        text = f"   ledger: {describe_os_error(exc)}"
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@reported("stitch")
def run_stitch(
    plan: StitchPlan,
    dest: Path,
    titles: Sequence[tuple[str, str]] | None = None,
    probes: Path | None = None,
) -> None:
    """Stitch the video, with one chapter per segment (``titles``: each one's id and
    title) written as it is muxed; keep what it read of each clip in ``probes``."""
    from cinestitch.media.probe_memo import ProbeMemo
    from cinestitch.media.remux import smart_stitch

    reporter = ProgressReporter("stitch")
    started = time.monotonic()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if reporter.interactive and (now - last[0] > 0.2 or done == total):
            last[0] = now
            reporter.stream.write(f"\r   {'stitch':<22} {done}/{total} frames")
            reporter.stream.flush()

    def note(text: str) -> None:
        if reporter.interactive:
            reporter.stream.write("\n")
        reporter.line(text)

    # Seam pieces are cached beside the segments (build/segments -> build/seams).
    work_dir = plan.clips[0].path.parent.parent / "seams"
    result = smart_stitch(plan, dest, work_dir, progress, note, titles)
    if probes is not None:
        memo = ProbeMemo(probes)
        memo.remember(result.clips)
        memo.save()
    if reporter.interactive:
        reporter.stream.write("\n")
    n = len(plan.clips)
    joins = [c.transition_out.kind for c in plan.clips[:-1] if c.transition_out.kind != "cut"]
    segments = f"{n} segment{'s' if n != 1 else ''}"
    transitions = f"{len(joins)} transition{'s' if len(joins) != 1 else ''}"
    summary = f"{segments}, {transitions}" if joins else segments
    elapsed = time.monotonic() - started
    info = result.info
    total = max(1, info.frame_count)
    how = f"{100 * result.copied_frames // total}% copied"
    if result.pieces_reused:
        how += f", {result.pieces_reused} seam{'s' if result.pieces_reused != 1 else ''} reused"
    reporter.line(f"{summary} → {dest.name} ({info.duration:.1f} s) in {elapsed:.1f} s ({how})")


def probes_path(plan: BuildPlan) -> Path:
    """Where the stitch keeps what it read of each clip (``media.probe_memo``)."""
    return plan.paths.state / "probes.json"


def chapter_titles(plan: BuildPlan) -> list[tuple[str, str]]:
    """(segment id, chapter title) of every segment, in order."""
    return [(s.id, s.chapter_title) for s in plan.project.segments]


def stitch_timeline(plan: BuildPlan) -> Any:
    """The stitch laid out in frames, from the conformed clips as the stitch read them
    (remembered by each file's signature; a clip it did not read is probed, not decoded)."""
    from cinestitch.media import plan_timeline
    from cinestitch.media.probe_memo import ProbeMemo

    memo = ProbeMemo(probes_path(plan))
    infos = [memo.info(c.path) for c in plan.stitch.clips]
    memo.save()
    return plan_timeline(plan.stitch, infos)


@reported("chapters")
def run_chapters(plan: BuildPlan) -> None:
    """Give the final video one chapter per segment, titled as the manifest says now, and
    write the WebVTT chapters file beside it. The stitch wrote them as it muxed the video:
    after a restitch this only reads them back; a new title copies the video's packets
    into a file with the new chapters (nothing is encoded)."""
    from cinestitch.chapters import plan_chapters, render_vtt
    from cinestitch.media.chapters import read_chapters, retitled, write_chapters
    from cinestitch.storyboard import chapters_path

    titles = chapter_titles(plan)
    stored = read_chapters(plan.output)
    chapters = retitled(stored, titles) or plan_chapters(stitch_timeline(plan), titles)
    if [c.title for c in stored] != [c.title for c in chapters]:
        write_chapters(plan.output, chapters)
    write_text_if_changed(chapters_path(plan), render_vtt(chapters))
    ProgressReporter("chapters").line(f"{len(chapters)} chapters → {plan.output.name}")


@reported("scores")
def run_scores(plan: BuildPlan) -> None:
    """Measure each seam's continuity and each segment's colour into build/seam-scores.json."""
    from cinestitch.seam_report import build_seam_report
    from cinestitch.seam_scores import measure_project, write_measures

    measures = measure_project(plan)
    write_measures(plan, measures)
    report = build_seam_report(plan, measures)
    flagged = len(report.flagged_seams)
    said = f"{len(measures.seams)} seams scored" + (f", {flagged} flagged" if flagged else "")
    ProgressReporter("scores").line(said)


@reported("handoff")
def run_handoff(plan: BuildPlan) -> None:
    """Write the OpenTimelineIO timeline of the stitch (and a CMX 3600 EDL) for an editor."""
    from cinestitch.handoff import handoff_paths
    from cinestitch.media.lengths import sound_seconds
    from cinestitch.otio_timeline import build_handoff, write_handoff

    sounds: dict[Path, float] = {}
    if plan.stitch.audio_bed is not None:
        sounds[plan.stitch.audio_bed.path] = sound_seconds(plan.stitch.audio_bed.path)
    for clip in plan.stitch.clips:
        sfx = getattr(clip.transition_out, "sfx", None)
        if sfx is not None and sfx.path not in sounds:
            sounds[sfx.path] = sound_seconds(sfx.path)
    timeline = stitch_timeline(plan)
    otio_path, edl_path = handoff_paths(plan)
    result = build_handoff(plan, timeline, sounds, load_current_lock(plan.paths))
    wrote_edl = write_handoff(result, otio_path, edl_path, timeline.fps)
    names = otio_path.name + (f", {edl_path.name}" if wrote_edl else "")
    note = "" if wrote_edl else f" (no EDL: {timeline.fps} fps has no SMPTE timecode)"
    ProgressReporter("handoff").line(f"editor's timeline → {names}{note}")


@reported("storyboard")
def run_storyboard(plan: BuildPlan, build_id: str) -> None:
    """Write build/storyboard.html (and the thumbnails it lacks)."""
    from cinestitch.storyboard import write_storyboard

    write_storyboard(plan, build_id)
    rel = plan.paths.storyboard.relative_to(plan.project.root)
    ProgressReporter("storyboard").line(f"→ {rel}")


def finish_review(plan: BuildPlan, build_id: str) -> None:
    """At the end of every build: bring the storyboard up to date when its step did not
    run (a failed or skipped step upstream, so the page shows what failed), and list the
    seams and segments the scores flag."""
    from cinestitch.seam_report import build_seam_report, format_flags, read_measures
    from cinestitch.storyboard import found_current, is_current, write_storyboard

    try:
        built = plan.paths.build.is_dir()
        if built and not (found_current(plan, build_id) or is_current(plan, build_id)):
            write_storyboard(plan, build_id)
        measures = read_measures(plan.paths.seam_scores)
        flags = format_flags(build_seam_report(plan, measures)) if measures else None
    except CinestitchError as exc:
        flags = f"   storyboard: {exc}"
    except OSError as exc:
        flags = f"   storyboard: {describe_os_error(exc)}"
    if flags:
        sys.stdout.write(flags + "\n")
        sys.stdout.flush()
