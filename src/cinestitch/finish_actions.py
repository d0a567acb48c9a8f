"""The effectful finishing steps doit calls: conform with a speed change or a colour anchor,
and write the subtitle files beside the video.

Like ``actions``, each returns ``None`` or a doit failure with one readable line; PyAV,
numpy and Pillow are imported only when a step runs.
"""

from __future__ import annotations

from pathlib import Path

from cinestitch import __version__
from cinestitch.actions import continued_name, extension_head, reported
from cinestitch.cache import GenerationStore, RunRecord, file_digest
from cinestitch.finish_plan import speed_settings
from cinestitch.keys import conform_key
from cinestitch.media.finish import Speed
from cinestitch.media.fit import FitMode
from cinestitch.media.types import StitchPlan
from cinestitch.report import ProgressReporter


@reported("conform")
def run_finished_conform(
    clip: Path,
    dest: Path,
    stitch: StitchPlan,
    cache_dir: Path,
    fit: FitMode,
    speed: Speed | None,
    anchor: Path | None,
    label: str,
    continued: Path | None = None,
) -> None:
    """Re-encode the clip once with its speed change and its colour matched to ``anchor``
    (its chain's first conformed clip) — cached by the clip's digest, the output settings,
    the speed and the anchor's digest, so a new anchor re-grades and an old one is reused."""
    from cinestitch.media.colour import METHOD, clip_stats, match_grade
    from cinestitch.media.conform import conform_clip

    w, h, fps, enc = stitch.width, stitch.height, stitch.fps, stitch.encoder
    head = extension_head(clip, continued)
    settings: dict[str, object] = {
        "size": f"{w}x{h}", "fps": fps, "crf": enc.crf, "preset": enc.preset, "fit": fit,
        **speed_settings(speed), **({"head": head} if head else {}),
    }  # fmt: skip
    if anchor is not None:
        settings["colour"] = [METHOD, file_digest(anchor)]
    key = conform_key(file_digest(clip), settings)
    store = GenerationStore(cache_dir)
    found = store.lookup(key)
    if found is None or not store.restore(found, dest):
        grade = None
        if anchor is not None:
            grade = match_grade(
                clip_stats(clip, w, h, fps, fit), clip_stats(anchor, w, h, fps, fit)
            )
        conform_clip(clip, dest, w, h, fps, enc, fit=fit, grade=grade, speed=speed, head=head)
        record = RunRecord(
            key, "", "cinestitch", f"conform x264 crf {enc.crf} {enc.preset}", None, None,
            None, 0.0, __version__, label,
        )  # fmt: skip
        store.put(dest, record)
    done = [f"speed {speed.rate:g}"] if speed is not None else []
    if anchor is not None:
        done.append(f"colour matched to '{anchor.stem}'")
    if head:
        done.append(f"without the {head:.2f} s of '{continued_name(continued)}' it extends")
    ProgressReporter(f"conform:{label}").line(f"re-encoded once — {', '.join(done)}")


@reported("stitch")
def run_subtitles(plan: StitchPlan, video: Path, probes: Path | None = None) -> None:
    """Write the captions as ``.srt`` and ``.vtt`` beside the video (or remove stale ones);
    the clips are laid out from what the stitch read of them (``probes``), not opened again."""
    from cinestitch.media.finish import subtitle_paths
    from cinestitch.media.subtitles import write_subtitles

    if not any(c.captions for c in plan.clips):
        for path in subtitle_paths(video):
            path.unlink(missing_ok=True)
        return
    from cinestitch.media.probe import probe_clip
    from cinestitch.media.probe_memo import ProbeMemo
    from cinestitch.media.timeline import plan_timeline

    if probes is None:
        infos = [probe_clip(c.path) for c in plan.clips]
    else:
        memo = ProbeMemo(probes)
        infos = [memo.info(c.path) for c in plan.clips]
        memo.save()
    timeline = plan_timeline(plan, infos)
    written = write_subtitles(plan, timeline, video)
    names = " and ".join(p.name for p in written)
    ProgressReporter("stitch").line(f"captions → {names}")
