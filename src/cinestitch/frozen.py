"""Frozen builds: build only from what is already paid for, and stop rather than spend.

``CINESTITCH_FROZEN=1 doit`` (or ``cinestitch build --frozen``) is what CI runs on pull
requests, like ``npm ci`` or ``uv sync --locked``. If the plan has anything to generate, the
budget step prints the plan and which segments would be generated, why and at what cost, and
stops the build before any task runs, with exit status 4 (``EXIT_FROZEN``). Restoring from the
cache and resuming a job an interrupted build already paid for are allowed: they submit
nothing.

As a second guard the generate step calls ``guard_submit`` just before a submission: a frozen
build stops there too (exit 4), and any build refuses to pay for a clip that the plan
promised from the remote cache when that remote could not be reached.

The stop is a ``SystemExit`` subclass whose code is fixed, because doit's process pool
(``doit -n``) re-raises a worker's exit in the main process as ``cls(str(exc))``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

from cinestitch.errors import CinestitchError
from cinestitch.explain import describe, dollars
from cinestitch.forecast import Forecast

if TYPE_CHECKING:
    from cinestitch.cache.store import GenerationStore
    from cinestitch.generation import SegmentJob

FROZEN_ENV = "CINESTITCH_FROZEN"
EXIT_FROZEN = 4


def is_frozen() -> bool:
    return os.environ.get(FROZEN_ENV, "").strip().lower() not in ("", "0", "false", "no")


class FrozenStop(SystemExit):
    """A frozen build would have had to generate: exit ``EXIT_FROZEN``, whatever it is
    constructed with."""

    def __init__(self, *_: object) -> None:
        super().__init__(EXIT_FROZEN)


def build_frozen_report(forecast: Forecast) -> str | None:
    """What a frozen build refuses to generate, one line per segment; ``None`` when the
    plan generates nothing (pure)."""
    todo = forecast.to_generate
    if not todo:
        return None
    noun = "segment" if len(todo) == 1 else "segments"
    width = max(len(s.segment_id) for s in todo)
    lines = [
        f"frozen build: {len(todo)} {noun} would be generated, est. {dollars(forecast.cost)} "
        "— nothing was submitted"
    ]
    for s in todo:
        lines.append(f"   {s.segment_id:<{width}}  {describe(s.reasons)}  {dollars(s.cost)}")
    lines.append(
        f"   → generate them where spending is allowed (without --frozen or {FROZEN_ENV}, "
        "the shared cache set), then commit the lock"
    )
    return "\n".join(lines)


def stop_if_frozen(forecast: Forecast, stream: TextIO | None = None) -> None:
    """In a frozen build whose plan generates something: say what and stop (exit 4)."""
    if not is_frozen():
        return
    report = build_frozen_report(forecast)
    if report is None:
        return
    out = stream or sys.stderr
    out.write(report + "\n")
    out.flush()
    raise FrozenStop()


class UnplannedSpendError(CinestitchError):
    """A submission the plan did not announce, refused before it is sent."""


def guard_submit(job: SegmentJob, store: GenerationStore, take: int, key: str) -> None:
    """The last check before take ``take`` of the job is submitted: a frozen build stops
    (exit 4); a take the plan meant to restore from an unreachable remote is refused."""
    from cinestitch.cache.tiers import TieredStore
    from cinestitch.keys import short
    from cinestitch.ledger import read_approved

    if is_frozen():
        sys.stderr.write(
            f"   generate:{job.segment_id:<13} frozen build: take {take} (key {short(key)}) "
            "is not in the cache and would be submitted — nothing was submitted\n"
        )
        sys.stderr.flush()
        raise FrozenStop()
    if not isinstance(store, TieredStore) or key not in store.unasked or store.remote is None:
        return
    approved = read_approved(job.state_dir, job.build_id)
    if approved is not None and (job.segment_id, take) in approved.takes:
        return  # the plan announced it as generated, and said the remote could not be asked
    raise UnplannedSpendError(
        f"cache {store.remote.shown}: could not be reached to restore take {take}, which the "
        "plan took from it — nothing was submitted; run again when it is back (or "
        "`doit plan` to see what a build without it would pay for)"
    )
