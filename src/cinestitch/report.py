"""What a user sees while a build runs: job states, progress, one line per step.

On a terminal a job's progress redraws one line; elsewhere (CI, logs) a line is printed only
when the state changes, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

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
