"""What a user sees while a build runs: job states, progress, one line per step.

On a terminal a job's progress redraws one line; elsewhere (CI, logs) a line is printed only
when the state changes, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from cinestitch.explain import describe, dollars
from cinestitch.forecast import Forecast, Status
from cinestitch.keys import short
from cinestitch.lock import LockEntry
from cinestitch.manifest import Budget
from cinestitch.providers.base import JobState, JobStatus

BAR_WIDTH = 12


class ProgressReporter:
    """Reports one task's progress to an injected stream."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty()
        self._last_state: JobState | None = None
        self._started = time.monotonic()

    def job(self, status: JobStatus, detail: str = "") -> None:
        if self.interactive:
            self._draw(status, detail, end="\n" if status.state.is_final else "")
        elif status.state != self._last_state:
            self._draw(status, detail, end="\n")
        self._last_state = status.state

    def line(self, text: str) -> None:
        self.stream.write(f"   {self.label:<22} {text}\n")
        self.stream.flush()

    def _draw(self, status: JobStatus, detail: str, end: str) -> None:
        elapsed = time.monotonic() - self._started
        state = status.state.value
        bar = ""
        if status.progress is not None and self.interactive:
            filled = round(status.progress * BAR_WIDTH)
            bar = "█" * filled + "░" * (BAR_WIDTH - filled) + " "
        prefix = "\r" if self.interactive else ""
        text = f"{prefix}   {self.label:<22} {detail} {bar}{state} {elapsed:.1f} s"
        self.stream.write(text + end)
        self.stream.flush()


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s"


def format_forecast(forecast: Forecast, budget: Budget, spent: float) -> str:
    """The plan as a table: segment, status, why, estimated cost; then the totals."""
    rows = [("segment", "status", "why", "est. cost")]
    for s in forecast.segments:
        cost = dollars(s.cost) if s.status is Status.GENERATE else ""
        status = s.status.value
        if s.status is Status.GENERATE and len(s.takes_to_generate) > 1:
            status += f" ({len(s.takes_to_generate)} takes)"
        rows.append((s.segment_id, status, describe(s.reasons), cost))
    n = len(forecast.to_generate)
    stills = sum(1 for s in forecast.to_generate if s.kind == "keyframe")
    what = f" ({stills} {'still' if stills == 1 else 'stills'})" if stills else ""
    total = f"{n} to generate{what}, {forecast.seconds:g} s of video"
    rows.append(("total", total, "", dollars(forecast.cost)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [
        f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
        for r in rows
    ]
    notes = []
    if forecast.price is not None and forecast.to_generate:
        notes.append(f"prices: {forecast.price.source}")
    if budget.build is not None:
        notes.append(f"build budget {dollars(budget.build)}")
    if budget.total is not None:
        notes.append(f"project budget left {dollars(budget.total - spent)}")
    return "\n".join(lines + (["  ".join(notes)] if notes else []))


def format_why(
    forecast: Forecast, segment_id: str, entry: LockEntry | None, chain: list[str]
) -> str:
    """One segment in detail: what the build will do with it and why, against the lock."""
    s = forecast.segment(segment_id)
    lines = [f"{segment_id}: {s.status.value}"]
    if s.reasons:
        lines.append(f"  why:        {describe(s.reasons)}")
    if s.status is Status.FOOTAGE:  # an existing clip: no request, no key, no lock entry
        return "\n".join([*lines, *([f"  chain:      {' → '.join(chain)}"] if chain[1:] else [])])
    if s.status is Status.GENERATE:
        takes = ", ".join(map(str, s.takes_to_generate))
        lines.append(f"  generates:  take {takes}, {s.seconds:g} s, est. {dollars(s.cost)}")
    lines.append(f"  key:        {short(s.key) if s.key else 'known once its reference exists'}")
    if entry is None:
        lines.append("  lock:       no entry yet (never built here)")
    else:
        lines.append(
            f"  lock:       take {entry.take}, key {short(entry.key)}, clip {short(entry.output)}"
            f", {entry.provider}/{entry.model}, job {entry.job_id or '-'}, "
            f"cost {dollars(entry.cost_usd)}"
        )
    if len(chain) > 1:
        lines.append(f"  chain:      {' → '.join(chain)}")
    return "\n".join(lines)
