"""doit's console output, with a failed build said in a few lines.

doit's console reporter writes each failure as ``TaskFailed - taskid:…`` followed by its
message, and then one ``UnmetDependency`` block per task that did not run because of it: a
segment that fails in a 3-segment project wrote some fifty lines before cinestitch's own
summary. This reporter writes a failed step as the one line cinestitch's action gave it,
named by its task (``generate:look FAILED  …``), and the steps it held back as one line at
the end. Any other failure (a Python error in a dodo file, say) is written as doit writes it.
"""

from __future__ import annotations

from typing import Any

from doit.exceptions import BaseFail, TaskFailed, UnmetDependency
from doit.reporter import ConsoleReporter

FAILED = " FAILED  "
"""What ``actions.reported`` puts between a step's label and its reason."""
SHOWN_SKIPPED = 8
"""Held-back steps named before the rest are counted."""


class BuildReporter(ConsoleReporter):  # type: ignore[misc]
    """``ConsoleReporter`` with one line per failed step and one for what it held back."""

    desc = "console output, a failed step in one line"

    def __init__(self, outstream: Any, options: dict[str, Any]) -> None:
        super().__init__(outstream, options)
        self.skipped: list[str] = []

    def add_failure(self, task: Any, fail: BaseFail) -> None:
        if isinstance(fail, UnmetDependency):
            if task.actions and not task.name.startswith("_"):
                self.skipped.append(task.name)
            return
        label, found, reason = str(fail.message).partition(FAILED)
        if isinstance(fail, TaskFailed) and found and not fail.traceback and label.strip():
            self.failures.append({"task": task, "exception": fail})
            self.write(f"{task.name}{FAILED}{reason.rstrip()}\n")
            return
        super().add_failure(task, fail)

    def teardown_task(self, task: Any) -> None:
        """The build's summary is a teardown (``budget``): what was held back comes first."""
        self._write_skipped()
        super().teardown_task(task)

    def complete_run(self) -> None:
        self._write_skipped()
        super().complete_run()

    def _write_skipped(self) -> None:
        if not self.skipped:
            return
        named = ", ".join(self.skipped[:SHOWN_SKIPPED])
        more = len(self.skipped) - SHOWN_SKIPPED
        rest = f" and {more} more" if more > 0 else ""
        steps = "step" if len(self.skipped) == 1 else "steps"
        self.write(f"not run: {len(self.skipped)} {steps} that need what failed ({named}{rest})\n")
        self.skipped = []
