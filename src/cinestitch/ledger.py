"""A build's ledger: every clip it obtained, where from, and what it cost.

Each build has its own ledger file under ``.cinestitch/builds/<build id>.jsonl`` (so two
builds at once never print each other's lines); generate steps append one JSON line each
(they may run in parallel processes, so a line is one ``O_APPEND`` write) and the build
prints the summary at its end. Beside it, ``<build id>.plan.json`` holds what the budget step
approved: the takes the plan announced and their estimated cost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from cinestitch.atomic import file_mode, write_text_atomic
from cinestitch.explain import dollars
from cinestitch.labels import keyframe_of

PAID_SOURCES = ("generated", "resumed")
"""Sources that mean a provider job ran for this build."""
KEEP_BUILDS = 20
"""How many past builds' ledgers are kept."""


@dataclass(frozen=True)
class LedgerLine:
    segment: str
    take: int
    source: str
    """generated, resumed (an interrupted job picked up), cache, or kept (already built)."""
    provider: str
    seconds: float
    cost_usd: float | None
    planned: bool = True
    """The budget step announced this take (False: found necessary only while building)."""
    message: str = ""
    """For a failed segment: what went wrong, in the provider's words."""
    billed: bool = False
    """For a failed segment: the failed job may have been billed."""

    @property
    def paid(self) -> bool:
        return self.source in PAID_SOURCES


@dataclass(frozen=True)
class Approved:
    """What the budget step let this build generate."""

    takes: frozenset[tuple[str, int]]
    cost: float


def ledger_path(state_dir: Path, build_id: str) -> Path:
    return state_dir / "builds" / f"{build_id}.jsonl"


def start_ledger(state_dir: Path, build_id: str, approved: Approved) -> None:
    """Begin a build's ledger and record its approved plan; drop old builds' files."""
    directory = state_dir / "builds"
    directory.mkdir(parents=True, exist_ok=True)
    data = {"takes": sorted(approved.takes), "cost": approved.cost}
    write_text_atomic(directory / f"{build_id}.plan.json", json.dumps(data) + "\n")
    ledgers = sorted(
        (mtime, path) for path in directory.glob("*.jsonl") if (mtime := _mtime(path)) is not None
    )  # another build may be dropping the same old files: one gone is no matter
    for _, old in ledgers[:-KEEP_BUILDS]:
        old.unlink(missing_ok=True)
        old.with_suffix(".plan.json").unlink(missing_ok=True)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def read_approved(state_dir: Path, build_id: str) -> Approved | None:
    try:
        data = json.loads((state_dir / "builds" / f"{build_id}.plan.json").read_text("utf-8"))
        takes = frozenset((str(s), int(n)) for s, n in data["takes"])
        return Approved(takes, float(data["cost"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def append_ledger(state_dir: Path, build_id: str, line: LedgerLine) -> None:
    path = ledger_path(state_dir, build_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    approved = read_approved(state_dir, build_id)
    if line.paid and approved is not None:
        line = LedgerLine(
            **{**asdict(line), "planned": (line.segment, line.take) in approved.takes}
        )
    data = (json.dumps(asdict(line), ensure_ascii=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode())
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_ledger(state_dir: Path, build_id: str) -> list[LedgerLine]:
    try:
        lines = ledger_path(state_dir, build_id).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for text in lines:
        try:
            found.append(LedgerLine(**json.loads(text)))
        except (ValueError, TypeError):
            continue  # a line cut short by a full disk or a kill
    return found


def build_spend(state_dir: Path, build_id: str, unplanned_only: bool = False) -> float:
    lines = read_ledger(state_dir, build_id)
    return sum(x.cost_usd or 0.0 for x in lines if x.paid and (not unplanned_only or not x.planned))


def failure_line(segment: str, provider: str, message: str, billed: bool) -> LedgerLine:
    return LedgerLine(segment, 0, "failed", provider, 0.0, None, True, message, billed)


def _made(line: LedgerLine) -> str:
    """What a take made: seconds of video, or a still (a keyframe)."""
    return "still" if keyframe_of(line.segment) is not None else f"{line.seconds:g} s"


def format_ledger(lines: Iterable[LedgerLine], spent_total: float | None = None) -> str:
    """Per paid segment a line, then the build's total (and the project's, if known), then
    every failure with what to do about it."""
    lines = list(lines)
    paid = [x for x in lines if x.paid]
    failed = [x for x in lines if x.source == "failed"]
    out = [
        f"   {x.segment + (f' take {x.take}' if x.take != 1 else ''):<22} "
        f"{x.provider} {_made(x)}  {dollars(x.cost_usd)}"
        for x in paid
    ]
    spent = sum(x.cost_usd or 0.0 for x in paid)
    reused = len(lines) - len(paid) - len(failed)
    total = f"spent: {dollars(spent)} ({len(paid)} generated, {reused} from cache)"
    if spent_total is not None:
        total += f"; project total {dollars(spent_total)}"
    out.append(total)
    if failed:
        noun = "segment" if len(failed) == 1 else "segments"
        out.append(f"{len(failed)} {noun} failed:")
        for x in failed:
            billed = "may have been billed" if x.billed else "not billed"
            out.append(f"   {x.segment:<22} {x.provider}: {x.message} [{billed}]")
        out.append("   → fix what each says, then run again; `doit plan` shows what remains")
    return "\n".join(out)
