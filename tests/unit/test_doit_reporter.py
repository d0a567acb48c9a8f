"""A failed build's console lines: cinestitch's one-line failures named by their task, the
steps they held back in one line, and any other failure as doit shows it."""

from __future__ import annotations

import io

from doit.exceptions import TaskError, TaskFailed, UnmetDependency
from doit.task import Task

from cinestitch.doit_reporter import BuildReporter


def step(name: str) -> Task:
    return Task(name, [(lambda: None, [])])


def test_failures_and_what_they_held_back() -> None:
    out = io.StringIO()
    reporter = BuildReporter(out, {})
    reporter.add_failure(step("generate:look"), TaskFailed("generate FAILED  refused\n"))
    for name in ("frame:look", "generate:leave"):
        reporter.add_failure(step(name), UnmetDependency("generate:look"))
    reporter.add_failure(Task("conform", None), UnmetDependency("conform:look"))  # a group
    reporter.teardown_task(step("budget"))
    reporter.complete_run()
    assert out.getvalue().splitlines() == [
        "generate:look FAILED  refused",
        "not run: 2 steps that need what failed (frame:look, generate:leave)",
    ]


def test_another_failure_is_shown_as_doit_shows_it() -> None:
    """A Python error in a task (not one of cinestitch's worded failures) keeps doit's
    report, traceback included."""
    out = io.StringIO()
    reporter = BuildReporter(out, {})
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = TaskError("Python Task error", exc)
    reporter.add_failure(step("custom"), error)
    reporter.complete_run()
    text = out.getvalue()
    assert text.startswith("TaskError - taskid:custom\nPython Task error\n")
    assert "ValueError: boom" in text and "not run" not in text
