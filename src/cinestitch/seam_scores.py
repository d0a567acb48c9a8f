"""A project's seam scores: measured from its conformed clips, kept in
``build/seam-scores.json`` with a signature of what they were measured from, and printed by
``doit seams`` (a doit command plugin, like ``doit plan``).
"""

from __future__ import annotations

import hashlib
import itertools
import os

from cinestitch.atomic import write_text_atomic
from cinestitch.doit_commands import _ProjectCommand
from cinestitch.errors import CinestitchError
from cinestitch.plan import BuildPlan, canonical_json, stitch_settings
from cinestitch.seam_report import (
    Measures,
    build_seam_report,
    format_seam_table,
    measures_from_json,
    measures_to_json,
)


def measured_from(plan: BuildPlan) -> str:
    """What the scores depend on: the stitch settings and each clip's size and time."""
    parts = [canonical_json(stitch_settings(plan.stitch, plan.project.root))]
    for clip in plan.stitch.clips:
        try:
            st = os.stat(clip.path)
            parts.append(f"{clip.path.name} {st.st_size} {st.st_mtime_ns}")
        except OSError:
            parts.append(f"{clip.path.name} missing")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def measure_project(plan: BuildPlan) -> Measures:
    """Measure the built clips (decodes three frames of each)."""
    from cinestitch.media.seam_scores import measure_stitch

    looks, seams = measure_stitch(plan.stitch)
    ids = [s.id for s in plan.project.segments]
    return Measures(
        lab={sid: look.lab for sid, look in zip(ids, looks, strict=True)},
        starts={sid: look.start for sid, look in zip(ids, looks, strict=True)},
        seams=dict(zip(itertools.pairwise(ids), [(s.ssim, s.psnr) for s in seams], strict=True)),
    )


def write_measures(plan: BuildPlan, measures: Measures) -> None:
    write_text_atomic(plan.paths.seam_scores, measures_to_json(measures, measured_from(plan)))


def current_measures(plan: BuildPlan) -> Measures | None:
    """The kept scores if they describe the clips as they are, else measured now (and kept);
    ``None`` when the clips are not all built."""
    try:
        found = measures_from_json(plan.paths.seam_scores.read_text(encoding="utf-8"))
    except OSError:
        found = None
    signature = measured_from(plan)
    if found is not None and found.signature == signature:
        return found
    if not all(c.path.is_file() for c in plan.stitch.clips):
        return None
    measures = measure_project(plan)
    write_measures(plan, measures)
    return measures


def seams_text(plan: BuildPlan) -> str:
    measures = current_measures(plan)
    if measures is None:
        return "no seam scores yet — run `doit` to build the clips first"
    return format_seam_table(build_seam_report(plan, measures))


class SeamsCommand(_ProjectCommand):
    """Print each seam's continuity and each segment's colour drift."""

    name = "seams"
    doc_purpose = "show each seam's continuity and colour drift, and which are flagged"
    doc_usage = ""
    doc_description = None
    cmd_options = ()

    def _execute(self, pos_args: list[str] | None = None) -> int:
        plans = self._plans()
        for plan in plans:
            if len(plans) > 1:
                self.outstream.write(f"{plan.project.name}:\n")
            try:
                self.outstream.write(seams_text(plan) + "\n")
            except CinestitchError as exc:
                self.outstream.write(f"doit seams: {exc}\n")
                return 1
        return 0
