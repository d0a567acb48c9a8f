"""The build's ledger: every clip a build obtained, where from, and what it cost.

Generate actions append one JSON line each (they may run in parallel processes, so a line
is one ``O_APPEND`` write); the build prints the summary at its end, and the lock keeps the
project's running total.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from cinestitch.explain import dollars

PAID_SOURCES = ("generated", "resumed")
"""Sources that mean a provider job ran for this build."""


@dataclass(frozen=True)
class LedgerLine:
    segment: str
    take: int
    source: str
    """generated, resumed (an interrupted job picked up), cache, or kept (already built)."""
    provider: str
    seconds: float
    cost_usd: float | None

    @property
    def paid(self) -> bool:
        return self.source in PAID_SOURCES


def start_ledger(path: Path) -> None:
    """Begin a new build's ledger (the previous build's is dropped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")


def append_ledger(path: Path, line: LedgerLine) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(asdict(line), ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_ledger(path: Path) -> list[LedgerLine]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [LedgerLine(**json.loads(text)) for text in lines if text.strip()]


def format_ledger(lines: Iterable[LedgerLine], spent_total: float | None = None) -> str:
    """Per paid segment a line, then the build's total (and the project's, if known)."""
    lines = list(lines)
    paid = [x for x in lines if x.paid]
    out = [
        f"   {x.segment + (f' take {x.take}' if x.take != 1 else ''):<22} "
        f"{x.provider} {x.seconds:g} s  {dollars(x.cost_usd)}"
        for x in paid
    ]
    spent = sum(x.cost_usd or 0.0 for x in paid)
    reused = len(lines) - len(paid)
    total = f"spent: {dollars(spent)} ({len(paid)} generated, {reused} from cache)"
    if spent_total is not None:
        total += f"; project total {dollars(spent_total)}"
    return "\n".join([*out, total])
