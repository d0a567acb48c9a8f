"""What the next build will do for each segment, why, and what it will cost (pure).

The build, ``doit plan``, ``doit why`` and the budget check all read this one function, so
what is announced is what happens. It decides from the lock (what was built) and a view of
the cache (what was paid for), never from doit's database: a fresh clone with the lock and
a shared cache plans zero generations.

A chained segment's key needs its reference frame's pixel digest. When the upstream segment
stays as it is (or comes from the cache) the digest is known from the cache's frame records
or the lock; when the upstream segment is regenerated, its frame is not known yet, so the
segment is counted as regenerated too ("reference frame changed").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cinestitch.explain import Reason, dollars
from cinestitch.keys import IDENTITY_SETTINGS, reference_identity, take_keys
from cinestitch.lock import Lock, LockEntry
from cinestitch.manifest import Budget
from cinestitch.plan import BuildPlan, SegmentStep
from cinestitch.prices import Price


class Status(enum.Enum):
    UP_TO_DATE = "up to date"
    RESTORE = "from cache"
    RESUME = "resume job"
    """A job an interrupted build submitted (already paid) will be polled and downloaded."""
    GENERATE = "generate"
    FOOTAGE = "footage"
    """An existing clip of the project (``clip:``): never generated, costs nothing."""


class CacheView(Protocol):
    """What the forecast may ask about paid-for generations."""

    def available(self, key: str) -> bool:
        """A clip for ``key`` can be had without a provider call."""
        ...

    def output_of(self, key: str) -> str | None:
        """The clip digest that ``key`` produced, if known."""
        ...

    def frame_of(self, output: str, sharpest_of: int) -> str | None:
        """The pixel digest of the reference frame taken from clip ``output``, if known."""
        ...

    def in_flight(self, key: str) -> str | None:
        """The id of a submitted job for ``key`` that the next build will resume, if any."""
        ...

    def damaged(self, key: str) -> str | None:
        """The digest of a cached clip for ``key`` whose bytes no longer match, if any."""
        ...

    def built(self, segment_id: str, output: str) -> bool:
        """build/ holds clip ``output`` for the segment."""
        ...


@dataclass(frozen=True)
class SegmentForecast:
    segment_id: str
    status: Status
    reasons: tuple[Reason, ...]
    takes_to_generate: tuple[int, ...]
    seconds: float
    """Seconds of video to generate (and pay for)."""
    cost: float | None
    """Estimated USD; ``None`` when the price is unknown."""
    key: str | None
    """The selected take's request key, when it can be known before building."""


@dataclass(frozen=True)
class Forecast:
    segments: tuple[SegmentForecast, ...]
    price: Price | None
    """The project's price (for the plan's note); segments may use their own."""

    @property
    def to_generate(self) -> list[SegmentForecast]:
        return [s for s in self.segments if s.status is Status.GENERATE]

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.segments)

    @property
    def cost(self) -> float | None:
        costs = [s.cost for s in self.to_generate]
        return None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)

    def segment(self, segment_id: str) -> SegmentForecast:
        return next(s for s in self.segments if s.segment_id == segment_id)

    def is_up_to_date(self, segment_id: str) -> bool:
        return self.segment(segment_id).status is Status.UP_TO_DATE


def forecast_build(
    plan: BuildPlan,
    lock: Lock,
    cache: CacheView,
    image_digests: Mapping[str, str],
    price: Price | None,
    step_prices: Mapping[str, Price | None] | None = None,
    end_digests: Mapping[str, str] | None = None,
    footage: Mapping[str, str] | None = None,
) -> Forecast:
    """Per segment: up to date, restored from the cache, or generated; with reasons.
    ``step_prices`` holds a segment's own price where it differs from ``price``;
    ``end_digests`` the pixel digests of the segments' end frames; ``footage`` the file
    digests of the existing clips that ``clip:`` segments play."""
    outputs: dict[str, str | None] = {}
    changing: set[str] = set()
    results = []
    prices = step_prices or {}
    for step in plan.steps:
        sid = step.segment.id
        if step.footage is not None:
            results.append(_footage(step))
            clip = (footage or {}).get(sid)
            # its frame is known once the build extracted it; until then, what starts
            # from it waits for it as for a segment being generated
            known = clip is not None and cache.frame_of(clip, step.segment.sharpest_of)
            outputs[sid] = clip if known else None
            if not known:
                changing.add(sid)
            continue
        reference, blocked_by = _reference(step, lock, cache, outputs, changing, image_digests)
        if (step.end_image is not None or step.extend) and reference is not _UNKNOWN:
            end = (end_digests or {}).get(sid) if step.end_image is not None else None
            start = reference if isinstance(reference, str) else None
            if step.end_image is not None and end is None:
                reference = _UNKNOWN
            else:
                reference = reference_identity(start, end, step.extend)
        own = prices.get(sid, price)
        result = _forecast_segment(step, lock.entry(sid), cache, reference, blocked_by, own)
        results.append(result)
        if result.status is Status.RESUME or (
            result.status is Status.GENERATE and step.segment.take in result.takes_to_generate
        ):
            outputs[sid] = None
            changing.add(sid)
        elif result.status is Status.UP_TO_DATE:
            entry = lock.entry(sid)
            outputs[sid] = entry.output if entry else None
        else:
            outputs[sid] = cache.output_of(result.key) if result.key else None
    return Forecast(tuple(results), price)


_UNKNOWN = object()


def _reference(
    step: SegmentStep,
    lock: Lock,
    cache: CacheView,
    outputs: Mapping[str, str | None],
    changing: set[str],
    image_digests: Mapping[str, str],
) -> tuple[str | object | None, str | None]:
    """The reference's pixel digest (``None``: no reference; ``_UNKNOWN``: not knowable yet)
    and the upstream segment that makes it unknowable, if any."""
    upstream = step.reference_segment
    if step.reference is None:
        return None, None
    if upstream is None:
        return image_digests.get(step.segment.id, _UNKNOWN), None
    output = outputs.get(upstream)
    if output is None:
        return _UNKNOWN, upstream if upstream in changing else None
    known = cache.frame_of(output, step.upstream_sharpest_of)
    entry = lock.entry(step.segment.id)
    if known is None and entry is not None and entry.reference_source == output:
        known = entry.reference
    return (_UNKNOWN if known is None else known), None


def _forecast_segment(
    step: SegmentStep,
    entry: LockEntry | None,
    cache: CacheView,
    reference: str | object | None,
    blocked_by: str | None,
    price: Price | None,
) -> SegmentForecast:
    s = step.segment
    takes = tuple(range(1, s.takes + 1))
    if reference is _UNKNOWN:
        if entry is None:
            why = Reason("new")
        elif blocked_by:
            why = Reason("reference_changed", f"after '{blocked_by}'")
        else:
            why = Reason("not_cached")
        return _generate(step, takes, (why,), None, price)
    ref = reference if isinstance(reference, str) else None
    keys = take_keys(step.prompt, step.settings, s.takes, ref)
    selected = keys[s.take]
    missing = tuple(n for n in takes if not cache.available(keys[n]))
    jobs = [job for n in missing if (job := cache.in_flight(keys[n])) is not None]
    if jobs and len(jobs) == len(missing):
        reason = Reason("job_in_flight", ", ".join(jobs))
        return SegmentForecast(s.id, Status.RESUME, (reason,), (), 0.0, 0.0, selected)
    if missing:
        reasons = _why(step, entry, ref, missing)
        damaged = [d for n in missing if (d := cache.damaged(keys[n])) is not None]
        if damaged:
            reasons = (Reason("cache_damaged", ", ".join(d[:12] for d in damaged)), *reasons)
        return _generate(step, missing, reasons, selected, price)
    if entry is not None and entry.key == selected:
        if cache.built(s.id, entry.output):
            return SegmentForecast(s.id, Status.UP_TO_DATE, (), (), 0.0, 0.0, selected)
        reason = Reason("not_in_build")
        return SegmentForecast(s.id, Status.RESTORE, (reason,), (), 0.0, 0.0, selected)
    if entry is not None and entry.take != s.take:
        reason = Reason("take_switched", f"{entry.take} → {s.take}")
    else:
        reason = Reason("cached")
    return SegmentForecast(s.id, Status.RESTORE, (reason,), (), 0.0, 0.0, selected)


def _footage(step: SegmentStep) -> SegmentForecast:
    clip = step.segment.clip or ""
    return SegmentForecast(
        step.segment.id, Status.FOOTAGE, (Reason("footage", clip),), (), 0.0, 0.0, None
    )


def _generate(
    step: SegmentStep,
    takes: tuple[int, ...],
    reasons: tuple[Reason, ...],
    key: str | None,
    price: Price | None,
) -> SegmentForecast:
    seconds = step.segment.seconds * len(takes)
    cost = None if price is None else round(seconds * price.per_second, 6)
    return SegmentForecast(step.segment.id, Status.GENERATE, reasons, takes, seconds, cost, key)


def _why(
    step: SegmentStep, entry: LockEntry | None, ref: str | None, missing: tuple[int, ...]
) -> tuple[Reason, ...]:
    """Compare with what the lock says was built last time."""
    if entry is None:
        return (Reason("new"),)
    reasons = []
    if entry.prompt != step.prompt:
        reasons.append(Reason("prompt_changed", step.template))
    changed = [k for k in IDENTITY_SETTINGS if entry.settings.get(k) != step.settings.get(k)]
    if changed:
        reasons.append(Reason("settings_changed", ", ".join(changed)))
    if entry.reference != ref:
        reasons.append(Reason("reference_changed"))
    if not reasons:
        known = set(entry.takes) | {entry.take}
        new = [n for n in missing if n not in known]
        if new:
            reasons.append(Reason("new_take", ", ".join(map(str, new))))
    return tuple(reasons) or (Reason("not_cached"),)


def check_budget(forecast: Forecast, budget: Budget, spent: float) -> str | None:
    """Why the build must not start (one line), or ``None`` when it fits its budgets."""
    if (budget.build is None and budget.total is None) or not forecast.to_generate:
        return None
    cost = forecast.cost
    if cost is None:
        return (
            "budget: the price of this provider and model is unknown, so the plan cannot be "
            "checked — set provider.price_per_second; nothing was submitted"
        )
    if budget.build is not None and cost > budget.build + 1e-9:
        return (
            f"budget: this build would cost {dollars(cost)}, {dollars(cost - budget.build)} "
            f"over the build budget of {dollars(budget.build)} — raise budget.build or "
            "generate fewer segments; nothing was submitted"
        )
    if budget.total is not None and spent + cost > budget.total + 1e-9:
        over = spent + cost - budget.total
        return (
            f"budget: {dollars(spent)} spent so far plus this build's {dollars(cost)} is "
            f"{dollars(over)} over the project budget of {dollars(budget.total)} — raise "
            "budget.total; nothing was submitted"
        )
    return None
