"""The plan for machines and job summaries: ``doit plan --format json`` and ``markdown``.

Both render the same forecast as the text table (``report.format_forecast``), so a CI bot, a
job summary and a person at a terminal read one answer. Status and reason codes in JSON are
the stable snake_case codes; the sentences beside them may improve freely.
"""

from __future__ import annotations

import json
from typing import Any

from cinestitch.explain import describe, dollars
from cinestitch.forecast import Forecast, Status, check_budget
from cinestitch.manifest import Budget
from cinestitch.report import format_forecast

FORMATS = ("text", "json", "markdown")
STATUS_CODES = {
    Status.UP_TO_DATE: "up_to_date",
    Status.RESTORE: "from_cache",
    Status.RESUME: "resume_job",
    Status.GENERATE: "generate",
    Status.FOOTAGE: "footage",
    Status.PICTURE: "picture",
}


def build_plan_json(
    forecast: Forecast, budget: Budget, spent: float, project: str, title: str
) -> dict[str, Any]:
    """The plan as plain data (pure)."""
    segments = [
        {
            "id": s.segment_id,
            "kind": s.kind,
            "status": STATUS_CODES[s.status],
            "status_text": s.status.value,
            "reasons": [{"code": r.code, "detail": r.detail, "text": str(r)} for r in s.reasons],
            "takes_to_generate": list(s.takes_to_generate),
            "seconds": s.seconds,
            "cost_usd": s.cost if s.status is Status.GENERATE else 0.0,
            "key": s.key,
        }
        for s in forecast.segments
    ]
    return {
        "project": project,
        "title": title,
        "segments": segments,
        "to_generate": [s.segment_id for s in forecast.to_generate],
        "seconds": forecast.seconds,
        "cost_usd": forecast.cost,
        "price_source": forecast.price.source if forecast.price is not None else None,
        "budget": {"build": budget.build, "total": budget.total},
        "spent_usd": spent,
        "frozen_ok": not forecast.to_generate,
    }


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "


def build_plan_markdown(
    forecast: Forecast, budget: Budget, spent: float, project: str, title: str
) -> str:
    """The plan as a GitHub-flavoured Markdown table, for a job summary (pure)."""
    n = len(forecast.to_generate)
    head = f"### cinestitch plan: {title} (`{project}`)"
    verdict = (
        "Nothing to generate: a frozen build makes this video from the cache."
        if not n
        else f"**{n} to generate** ({forecast.seconds:g} s of video, est. "
        f"{dollars(forecast.cost)}): a frozen build stops."
    )
    lines = [head, "", verdict, "", "| segment | status | why | est. cost |", "|---|---|---|--:|"]
    for s in forecast.segments:
        cost = dollars(s.cost) if s.status is Status.GENERATE else ""
        row = (s.segment_id, s.status.value, describe(s.reasons), cost)
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    lines.append(f"| **total** | {n} to generate | | **{dollars(forecast.cost)}** |")
    notes = []
    if forecast.price is not None and n:
        notes.append(f"prices: {forecast.price.source}")
    if budget.build is not None:
        notes.append(f"build budget {dollars(budget.build)}")
    if budget.total is not None:
        notes.append(f"project budget left {dollars(budget.total - spent)}")
    if notes:
        lines += ["", "; ".join(notes)]
    return "\n".join(lines)


def render_plan(
    forecast: Forecast, budget: Budget, spent: float, project: str, title: str, fmt: str
) -> str:
    """The plan in ``fmt`` (one of ``FORMATS``)."""
    if fmt == "json":
        data = build_plan_json(forecast, budget, spent, project, title)
        return json.dumps(data, indent=2, ensure_ascii=False)
    if fmt == "markdown":
        return build_plan_markdown(forecast, budget, spent, project, title)
    text = format_forecast(forecast, budget, spent)
    over = check_budget(forecast, budget, spent)
    if over is not None:  # what `doit` would say and do, said before it is run
        said = over.removeprefix("budget: ").removesuffix("; nothing was submitted")
        text += f"\nover budget: `doit` stops before any call — {said}"
    return text
