"""Seam scores as a user reads them (pure): which seams jump, which segments drift in colour.

The ``scores`` step measures the built clips (``media.seam_scores``) and keeps the numbers in
``build/seam-scores.json``; this module turns them into a report with the manifest's current
thresholds (``review:``), so changing a threshold needs no new measurement. The build lists
the flagged seams at its end, ``doit seams`` prints the table, and the storyboard marks them.

Continuity is the SSIM of the last kept frame before a seam and the first kept frame after it
(1 for the same picture; a chained shot starts from the previous shot's last frame, so its
seam scores near 1, while a fresh shot scores near 0). Colour drift is the CIE76 Delta E
between a segment's mean colour and that of the first segment of its chain (about 2 is just
noticeable side by side).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinestitch.plan import BuildPlan

SCORES_VERSION = 1


@dataclass(frozen=True)
class Measures:
    """What the scores step measured, by segment id (``build/seam-scores.json``)."""

    lab: Mapping[str, tuple[float, float, float]]
    """Each segment's mean L*a*b* colour."""
    starts: Mapping[str, float]
    """Seconds into the video where each segment's first kept frame shows."""
    seams: Mapping[tuple[str, str], tuple[float, float]]
    """(before, after) -> (SSIM, PSNR in dB)."""
    signature: str = ""
    """What they were measured from (``seam_scores.measured_from``)."""


@dataclass(frozen=True)
class SeamScore:
    before: str
    after: str
    transition: str
    """How the video passes it: ``cut``, ``crossfade 0.5 s``, ``fade 1 s``."""
    ssim: float
    psnr: float
    at: float
    """Seconds into the video where the segment after it begins."""
    fresh: bool
    """The segment after it does not start from the last frame of the one before (nor from
    the keyframe the one before ends on)."""
    flagged: bool
    pinned: bool = False
    """The segment after it is pinned: it kept its clip when what it starts from changed,
    so this seam measures how far the two now differ."""


@dataclass(frozen=True)
class DriftScore:
    segment: str
    chain_start: str
    delta_e: float
    flagged: bool


@dataclass(frozen=True)
class SeamReport:
    seams: tuple[SeamScore, ...]
    drift: tuple[DriftScore, ...]
    seam_threshold: float
    drift_threshold: float

    def seam_after(self, segment_id: str) -> SeamScore | None:
        """The seam from ``segment_id`` into the next segment."""
        return next((s for s in self.seams if s.before == segment_id), None)

    def drift_of(self, segment_id: str) -> DriftScore | None:
        return next((d for d in self.drift if d.segment == segment_id), None)

    @property
    def flagged_seams(self) -> list[SeamScore]:
        return [s for s in self.seams if s.flagged]

    @property
    def flagged_drift(self) -> list[DriftScore]:
        return [d for d in self.drift if d.flagged]


def chain_start(plan: BuildPlan, segment_id: str) -> str:
    """The first segment of the chain ``segment_id`` continues (itself if it starts one); a
    segment between keyframes continues the earlier one that ends on its first keyframe."""
    current = segment_id
    while (upstream := _continues(plan, current)) is not None:
        current = upstream
    return current


def _continues(plan: BuildPlan, segment_id: str) -> str | None:
    step = plan.step(segment_id)
    if step.reference_segment is not None or not step.keyframes:
        return step.reference_segment
    start, index = step.keyframes[0], step.segment.index
    earlier = [s.segment for s in plan.steps if s.segment.index < index]
    return next((s.id for s in reversed(earlier) if s.end_keyframe == start), None)


def _joined(plan: BuildPlan, before: str, after: str) -> bool:
    """The segment after starts where the one before ends: from its last frame, or on the
    keyframe it ends on."""
    step, prior = plan.step(after), plan.step(before)
    if step.reference_segment == before:
        return True
    return bool(step.keyframes) and prior.segment.end_keyframe == step.keyframes[0]


def delta_e(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """CIE76 colour difference of two L*a*b* colours."""
    return math.dist(a, b)


def describe_transition(kind: str, seconds: float) -> str:
    return kind if kind == "cut" else f"{kind} {seconds:g} s"


def build_seam_report(plan: BuildPlan, measures: Measures) -> SeamReport:
    """The report for the project as planned now, from what was measured (seams or segments
    not measured, say after an edit, are left out)."""
    review = plan.project.review
    segments = plan.project.segments
    seams = []
    for before, after in itertools.pairwise(segments):
        found = measures.seams.get((before.id, after.id))
        if found is None:
            continue
        ssim, psnr = found
        t = before.transition
        seams.append(
            SeamScore(
                before.id,
                after.id,
                describe_transition(t.kind, t.seconds),
                ssim,
                psnr,
                measures.starts.get(after.id, 0.0),
                not _joined(plan, before.id, after.id),
                ssim < review.seam_threshold,
                after.pin,
            )
        )
    drift = []
    for segment in segments:
        root = chain_start(plan, segment.id)
        if segment.id in measures.lab and root in measures.lab:
            distance = delta_e(measures.lab[segment.id], measures.lab[root])
            drift.append(DriftScore(segment.id, root, distance, distance > review.drift_threshold))
    return SeamReport(tuple(seams), tuple(drift), review.seam_threshold, review.drift_threshold)


def format_seam_table(report: SeamReport) -> str:
    """What ``doit seams`` prints: one line per seam, then the thresholds."""
    if not report.seams:
        if report.drift:
            return "no seams: the video has one segment"
        return "no seam scores yet — run `doit` to build the video first"
    rows = [("seam", "transition", "continuity", "PSNR", "drift after", "")]
    for s in report.seams:
        d = report.drift_of(s.after)
        drift = "" if d is None else f"{d.delta_e:.1f} vs {d.chain_start}"
        if d is not None and d.chain_start == s.after:
            drift = "0.0 (starts a chain)"
        notes = [n for n in ("JUMP" if s.flagged else "", "DRIFT" if d and d.flagged else "") if n]
        if s.pinned:
            notes.append(f"{s.after} is pinned")
        elif s.fresh:
            notes.append(f"{s.after} starts fresh")
        rows.append(
            (
                f"{s.before} → {s.after}",
                s.transition,
                f"{s.ssim:.3f}",
                f"{s.psnr:.1f} dB",
                drift,
                ", ".join(notes),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(
        f"continuity: SSIM of the frames either side (1 = the same picture), flagged below "
        f"{report.seam_threshold:g} (review.seam_threshold)"
    )
    lines.append(
        f"drift: Delta E of the segment's colour from its chain's first segment, flagged above "
        f"{report.drift_threshold:g} (review.drift_threshold)"
    )
    return "\n".join(lines)


def format_flags(report: SeamReport) -> str | None:
    """The lines the build ends with when a seam jumps or a segment drifts; ``None`` if none."""
    seams, drift = report.flagged_seams, report.flagged_drift
    if not seams and not drift:
        return None
    out = []
    if seams:
        noun = "seam jumps" if len(seams) == 1 else "seams jump"
        out.append(f"{len(seams)} {noun} (continuity below {report.seam_threshold:g}):")
        for s in seams:
            why = f" — {s.after} starts fresh" if s.fresh else ""
            if s.pinned:
                why = f" — {s.after} is pinned: it kept its clip when what it starts from changed"
            seam = f"{s.before} → {s.after}"
            out.append(
                f"   {seam:<22} SSIM {s.ssim:.3f}, {s.psnr:.1f} dB "
                f"at {s.at:.2f} s ({s.transition}){why}"
            )
    if drift:
        noun = "segment drifts" if len(drift) == 1 else "segments drift"
        out.append(f"{len(drift)} {noun} in colour (Delta E above {report.drift_threshold:g}):")
        for d in drift:
            out.append(f"   {d.segment:<22} Delta E {d.delta_e:.1f} from {d.chain_start}")
    if any(s.pinned for s in seams):
        out.append("   → unpin a pinned shot (remove pin) to make it again from its new start;")
    out.append("   → chain the shot (reference: previous), cover the seam with a crossfade,")
    out.append("     or set review: thresholds in the manifest; `doit seams` shows every seam")
    return "\n".join(out)


def measures_to_json(measures: Measures, signature: str = "") -> str:
    data = {
        "version": SCORES_VERSION,
        "measured_from": signature or measures.signature,
        "segments": {
            sid: {"lab": [round(v, 4) for v in lab], "start": round(measures.starts[sid], 6)}
            for sid, lab in measures.lab.items()
        },
        "seams": [
            {"before": b, "after": a, "ssim": round(s, 6), "psnr": round(p, 4)}
            for (b, a), (s, p) in measures.seams.items()
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def measures_from_json(text: str) -> Measures | None:
    """The measures in a scores file; ``None`` if it is not one (an old or damaged file)."""
    try:
        data: Any = json.loads(text)
        if data.get("version") != SCORES_VERSION:
            return None
        segments = data["segments"]
        lab = {str(k): _triple(v["lab"]) for k, v in segments.items()}
        starts = {str(k): float(v["start"]) for k, v in segments.items()}
        seams = {
            (str(s["before"]), str(s["after"])): (float(s["ssim"]), float(s["psnr"]))
            for s in data["seams"]
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return Measures(lab, starts, seams, str(data.get("measured_from", "")))


def _triple(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c


def read_measures(path: Path) -> Measures | None:
    try:
        return measures_from_json(path.read_text(encoding="utf-8"))
    except OSError:
        return None
