"""The real price of a finished minute (pure): what the project has paid for generation per
second the final video keeps, and how many paid takes each segment in it took.

A build's ledger says what that build spent; this says what the video cost, counting every
regeneration, every take not chosen, every keyframe drawn again, against what survives the
trims and the crossfades. It reads the lock (spend and paid takes over all builds) and the
manifest (what the video keeps), so it needs no decoding.
"""

from __future__ import annotations

from dataclasses import dataclass

from cinestitch.explain import dollars
from cinestitch.lock import Lock
from cinestitch.manifest.model import Project, Segment


@dataclass(frozen=True)
class TakeYield:
    spent: float
    """USD paid for generation over all builds (clips and keyframes)."""
    kept_seconds: float
    """Seconds the final video shows."""
    paid_takes: int
    """Takes that cost something over all builds, of the generated segments in the video."""
    segments: int
    """Generated segments in the video (existing clips are not generated)."""

    @property
    def per_second(self) -> float | None:
        return self.spent / self.kept_seconds if self.kept_seconds > 0 else None

    @property
    def takes_per_segment(self) -> float | None:
        return self.paid_takes / self.segments if self.segments else None


def kept_seconds(segment: Segment) -> float:
    """What the video shows of a segment: its (retimed) length less its trims."""
    length = segment.seconds
    if segment.speed is not None:
        length = segment.speed.output_time(length, length)
    return max(0.0, length - segment.head_trim - segment.tail_trim)


def build_yield(project: Project, lock: Lock) -> TakeYield:
    segments = project.segments
    overlaps = sum(s.transition.seconds for s in segments[:-1] if s.transition.kind == "crossfade")
    generated = [s for s in segments if s.clip is None]
    entries = [lock.entry(s.id) for s in generated]
    return TakeYield(
        spent=lock.spent_usd,
        kept_seconds=max(0.0, sum(kept_seconds(s) for s in segments) - overlaps),
        paid_takes=sum(e.paid_takes for e in entries if e is not None),
        segments=len(generated),
    )


def format_yield(found: TakeYield) -> str:
    """One line for the end of the ledger."""
    rate = found.per_second
    cost = f"{dollars(rate)} per second kept" if rate is not None else "nothing kept yet"
    line = f"yield: {cost} ({dollars(found.spent)} for {found.kept_seconds:.1f} s in the video)"
    takes = found.takes_per_segment
    if takes is not None and found.paid_takes:
        line += (
            f"; {takes:.1f} paid takes per segment kept ({found.paid_takes} for {found.segments})"
        )
    return line
