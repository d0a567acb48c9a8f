"""How reasons, prices, the plan table and ``doit why`` are worded (``explain``, ``report``):
table-driven over the decider's forecasts, pure and fast."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cinestitch.explain import SENTENCES, Reason, describe, dollars
from cinestitch.forecast import Forecast
from cinestitch.lock import Lock
from cinestitch.manifest import Budget
from cinestitch.plan import BuildPlan
from cinestitch.report import format_forecast, format_seconds, format_why
from tests.unit.test_forecast import View, built_world, decide, plan  # noqa: F401 (fixture)


@pytest.mark.parametrize(
    ("reasons", "said"),
    [
        ([], ""),
        ([Reason("new")], "new, not in cache"),
        ([Reason("prompt_changed")], "prompt changed"),
        ([Reason("reference_changed", "after 'b'")], "reference frame changed (after 'b')"),
        (
            [Reason("settings_changed", "seconds"), Reason("new_take", "2")],
            "settings changed (seconds); new take (2)",
        ),
        ([Reason("some_future_code")], "some future code"),
    ],
)
def test_reasons_read_as_sentences(reasons: list[Reason], said: str) -> None:
    assert describe(reasons) == said


def test_every_reason_code_has_its_own_sentence() -> None:
    assert len(set(SENTENCES.values())) == len(SENTENCES)
    assert all(code == code.lower() and " " not in code for code in SENTENCES)


@pytest.mark.parametrize(
    ("amount", "said"),
    [(None, "?"), (0, "$0.00"), (0.004, "$0.00"), (1.2, "$1.20"), (1234.5, "$1,234.50")],
)
def test_dollars(amount: float | None, said: str) -> None:
    assert dollars(amount) == said


def test_seconds() -> None:
    assert [format_seconds(s) for s in (0, 1.25, 61)] == ["0.0 s", "1.2 s", "61.0 s"]


NO_BUDGET = Budget(None, None)


def table(forecast: Forecast, budget: Budget = NO_BUDGET, spent: float = 0.0) -> list[str]:
    return format_forecast(forecast, budget, spent).splitlines()


def test_first_build_table(plan: BuildPlan) -> None:  # noqa: F811
    """Every segment generated, each new, priced; takes counted; the totals and the price's
    source; budgets shown when set."""
    lines = table(decide(plan, Lock(), View()), Budget(20.0, 50.0), 7.5)
    assert lines[0].split() == ["segment", "status", "why", "est.", "cost"]
    rows = {line.split()[0]: line for line in lines[1:5]}
    assert list(rows) == ["a", "b", "c", "d"]
    assert all("new, not in cache" in row for row in rows.values())
    assert rows["a"].endswith("$1.00") and rows["d"].endswith("$2.00")
    assert "generate (2 takes)" in rows["d"]
    assert lines[5].split()[:6] == ["total", "4", "to", "generate,", "10", "s"]  # d: 2 takes
    assert lines[5].endswith("$5.00")
    assert lines[6] == "prices: test price  build budget $20.00  project budget left $42.50"


def test_nothing_to_do_table(plan: BuildPlan) -> None:  # noqa: F811
    lock, view = built_world(plan)
    lines = table(decide(plan, lock, view))
    assert [line.split(None, 1)[1] for line in lines[1:5]] == ["up to date"] * 4, lines
    assert lines[5].split()[:4] == ["total", "0", "to", "generate,"]
    assert lines[5].endswith("$0.00") and len(lines) == 6  # no price line: nothing to pay


def test_why_of_a_chained_segment_after_an_edit(plan: BuildPlan) -> None:  # noqa: F811
    lock, view = built_world(plan)
    edited = replace(plan, steps=(plan.steps[0], replace(plan.steps[1], prompt="Shot b, redone."),
                                  *plan.steps[2:]))  # fmt: skip
    forecast = decide(edited, lock, view)
    text = format_why(forecast, "c", lock.entry("c"), ["a", "b", "c"])
    lines = text.splitlines()
    assert lines[0] == "c: generate"
    assert lines[1].startswith("  why:        reference frame changed")
    assert lines[2].startswith("  generates:  take 1, 2 s, est. $1.00")
    assert lines[3].startswith("  key:        known once its reference exists")
    assert lines[4].startswith("  lock:       take 1, key ")
    assert lines[5] == "  chain:      a → b → c"


def test_why_of_a_segment_never_built(plan: BuildPlan) -> None:  # noqa: F811
    forecast = decide(plan, Lock(), View())
    lines = format_why(forecast, "a", None, ["a"]).splitlines()
    assert lines[0] == "a: generate" and lines[1] == "  why:        new, not in cache"
    assert lines[3].startswith("  key:        ") and "known once" not in lines[3]
    assert lines[4] == "  lock:       no entry yet (never built here)"
    assert len(lines) == 5  # a chain of one is not shown
