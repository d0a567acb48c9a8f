"""What the next build will do for each segment, why, and what it will cost (pure).

The build, ``doit plan``, ``doit why`` and the budget check all read this one function, so
what is announced is what happens. It decides from the lock (what was built) and a view of
the cache (what was paid for), never from doit's database: a fresh clone with the lock and
a shared cache plans zero generations.

A chained segment's key needs its reference frame's pixel digest. When the upstream segment
stays as it is (or comes from the cache) the digest is known from the cache's frame records
or the lock; when the upstream segment is regenerated, its frame is not known yet, so the
segment is counted as regenerated too ("reference frame changed").

Keyframes are decided first, each like a one-take segment (a row labelled ``keyframe:<id>``,
priced per picture). A segment between keyframes needs both stills' pixel digests: known
from the lock or the cache when the keyframe stays, unknown ("keyframe changed") when it is
drawn again — and only the segments touching that keyframe are affected. A pinned segment
keeps its locked clip while it can be had (built or cached), whatever changed upstream.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cinestitch.explain import Reason, dollars
from cinestitch.keys import IDENTITY_SETTINGS, reference_identity, take_keys
from cinestitch.labels import keyframe_label, keyframe_of
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
    PICTURE = "picture"
    """A keyframe that is a picture of the project: never generated, costs nothing."""


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
        """build/ holds clip ``output`` for the segment (or still, for a keyframe's label)."""
        ...

    def still_of(self, output: str) -> str | None:
        """The pixel digest of still ``output`` (a keyframe), if known."""
        ...


@dataclass(frozen=True)
class Pictures:
    """Pixel digests of the project's pictures the keys need, beside the reference images:
    keyframes that are pictures, and characters' pictures per segment id or keyframe label
    (``None``: one could not be read, so the key is not knowable)."""

    keyframe_images: Mapping[str, str] = field(default_factory=dict)
    cast: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)


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
    kind: str = "segment"
    """``keyframe`` for a keyframe's row (its id is its label, ``keyframe:<id>``)."""


@dataclass(frozen=True)
class Forecast:
    segments: tuple[SegmentForecast, ...]
    price: Price | None
    """The project's price (for the plan's note); segments may use their own."""

    @property
    def to_generate(self) -> list[SegmentForecast]:
        return [s for s in self.segments if s.status is Status.GENERATE]

    @property
    def keyframes(self) -> list[SegmentForecast]:
        return [s for s in self.segments if s.kind == "keyframe"]

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
    pictures: Pictures | None = None,
    still_prices: Mapping[str, float | None] | None = None,
) -> Forecast:
    """Per keyframe, then per segment: up to date, restored from the cache, or generated;
    with reasons. ``step_prices`` holds a segment's own price where it differs from
    ``price``; ``end_digests`` the pixel digests of the segments' end frames; ``footage``
    the file digests of the existing clips that ``clip:`` segments play; ``pictures`` the
    keyframes' and characters' pixel digests; ``still_prices`` each keyframe's price per
    picture (by label)."""
    pics = pictures or Pictures()
    outputs: dict[str, str | None] = {}
    changing: set[str] = set()
    prices = step_prices or {}
    stills, results = _forecast_keyframes(plan, lock, cache, pics, still_prices or {})
    changing |= {label for label, pixels in stills.items() if pixels is None}
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
        cast = pics.cast.get(sid, ())
        if step.keyframes:
            reference, blocked_by = _between(step, stills, changing, cast)
        else:
            reference, blocked_by = _reference(step, lock, cache, outputs, changing, image_digests)
            reference = _with_end(step, reference, (end_digests or {}).get(sid), cast)
        own = prices.get(sid, price)
        work = _segment_work(step, own)
        result = _forecast_segment(work, lock.entry(sid), cache, reference, blocked_by)
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


@dataclass(frozen=True)
class _Work:
    """What the decision needs of a segment or a keyframe."""

    label: str
    prompt: str
    template: str
    settings: Mapping[str, object]
    takes: int
    take: int
    units: float
    """What one take is paid by: seconds of video, or one picture."""
    unit_price: float | None
    kind: str = "segment"
    pin: bool = False


def _segment_work(step: SegmentStep, price: Price | None) -> _Work:
    s = step.segment
    return _Work(
        s.id, step.prompt, step.template, step.settings, s.takes, s.take, s.seconds,
        price.per_second if price is not None else None, pin=step.pin,
    )  # fmt: skip


def _forecast_keyframes(
    plan: BuildPlan,
    lock: Lock,
    cache: CacheView,
    pics: Pictures,
    still_prices: Mapping[str, float | None],
) -> tuple[dict[str, str | None], list[SegmentForecast]]:
    """Each keyframe's row, and its still's pixel digest by label (``None``: it will be
    drawn in this build, so what starts or ends on it is not knowable yet)."""
    stills: dict[str, str | None] = {}
    rows = []
    for ks in plan.keyframes:
        label = ks.label
        if not ks.generated:
            stills[label] = pics.keyframe_images.get(ks.keyframe.id)
            reason = Reason("picture", ks.keyframe.image or "")
            rows.append(
                SegmentForecast(label, Status.PICTURE, (reason,), (), 0.0, 0.0, None, "keyframe")
            )
            continue
        cast = pics.cast.get(label, ())
        reference = _UNKNOWN if cast is None else reference_identity(None, None, cast=cast)
        work = _Work(
            label, ks.prompt, ks.template, ks.settings, 1, 1, 1.0, still_prices.get(label),
            kind="keyframe",
        )  # fmt: skip
        entry = lock.entry(label)
        row = _forecast_segment(work, entry, cache, reference, None)
        rows.append(row)
        stills[label] = _still_pixels(row, entry, cache)
    return stills, rows


def _still_pixels(row: SegmentForecast, entry: LockEntry | None, cache: CacheView) -> str | None:
    if row.status in (Status.GENERATE, Status.RESUME) or row.key is None:
        return None
    if entry is not None and entry.key == row.key and entry.pixels:
        return entry.pixels
    output = cache.output_of(row.key)
    return cache.still_of(output) if output else None


def _between(
    step: SegmentStep,
    stills: Mapping[str, str | None],
    changing: set[str],
    cast: tuple[str, ...] | None,
) -> tuple[str | object | None, str | None]:
    """A segment between keyframes: what its key records of both stills (and its
    characters), and the keyframe that makes it unknowable, if one does."""
    digests = []
    for keyframe in step.keyframes:
        label = keyframe_label(keyframe)
        digest = stills.get(label)
        if digest is None:
            return _UNKNOWN, label if label in changing else None
        digests.append(digest)
    if cast is None:
        return _UNKNOWN, None
    end = digests[1] if len(digests) > 1 else None
    return reference_identity(digests[0], end, False, cast), None


def _with_end(
    step: SegmentStep,
    reference: str | object | None,
    end: str | None,
    cast: tuple[str, ...] | None,
) -> str | object | None:
    """The reference's identity with what else the request carries: an end frame, a native
    continuation, characters' pictures (``_UNKNOWN`` when one of them is not knowable)."""
    if reference is _UNKNOWN:
        return reference
    if step.end_image is None and not step.extend and not cast:
        return reference if cast is not None else _UNKNOWN
    if (step.end_image is not None and end is None) or cast is None:
        return _UNKNOWN
    start = reference if isinstance(reference, str) else None
    end = end if step.end_image is not None else None
    return reference_identity(start, end, step.extend, cast)


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
    work: _Work,
    entry: LockEntry | None,
    cache: CacheView,
    reference: str | object | None,
    blocked_by: str | None,
) -> SegmentForecast:
    if work.pin and entry is not None:
        pinned = _pinned(work, entry, cache, reference)
        if pinned is not None:
            return pinned
    takes = tuple(range(1, work.takes + 1))
    if reference is _UNKNOWN:
        if entry is None:
            why = Reason("new")
        elif blocked_by and keyframe_of(blocked_by) is not None:
            why = Reason("keyframe_changed", keyframe_of(blocked_by) or "")
        elif blocked_by:
            why = Reason("reference_changed", f"after '{blocked_by}'")
        else:
            why = Reason("not_cached")
        lost = (Reason("pinned_lost"),) if work.pin and entry is not None else ()
        own = _own_changes(work, entry) if entry is not None else ()
        return _generate(work, takes, (*lost, *own, why), None)
    ref = reference if isinstance(reference, str) else None
    keys = take_keys(work.prompt, work.settings, work.takes, ref)
    selected = keys[work.take]
    missing = tuple(n for n in takes if not cache.available(keys[n]))
    jobs = [job for n in missing if (job := cache.in_flight(keys[n])) is not None]
    if jobs and len(jobs) == len(missing):
        reason = Reason("job_in_flight", ", ".join(jobs))
        return _row(work, Status.RESUME, (reason,), selected)
    if missing:
        reasons = _why(work, entry, ref, missing)
        damaged = [d for n in missing if (d := cache.damaged(keys[n])) is not None]
        if damaged:
            reasons = (Reason("cache_damaged", ", ".join(d[:12] for d in damaged)), *reasons)
        if work.pin and entry is not None:
            reasons = (Reason("pinned_lost"), *reasons)
        return _generate(work, missing, reasons, selected)
    if entry is not None and entry.key == selected:
        if cache.built(work.label, entry.output):
            return _row(work, Status.UP_TO_DATE, (), selected)
        return _row(work, Status.RESTORE, (Reason("not_in_build"),), selected)
    if entry is not None and entry.take != work.take:
        reason = Reason("take_switched", f"{entry.take} → {work.take}")
    else:
        reason = Reason("cached")
    return _row(work, Status.RESTORE, (reason,), selected)


def _row(
    work: _Work, status: Status, reasons: tuple[Reason, ...], key: str | None
) -> SegmentForecast:
    """A row that generates nothing."""
    return SegmentForecast(work.label, status, reasons, (), 0.0, 0.0, key, work.kind)


def _pinned(
    work: _Work, entry: LockEntry, cache: CacheView, reference: str | object | None
) -> SegmentForecast | None:
    """A pinned segment keeps its locked clip, up to date (or restored), when its inputs
    changed and the clip can be had; ``None`` when nothing changed (the usual answer) or
    the clip is gone (it is generated again)."""
    ref = reference if isinstance(reference, str) else None
    if reference is not _UNKNOWN:
        keys = take_keys(work.prompt, work.settings, work.takes, ref)
        if keys[work.take] == entry.key:
            return None
    reasons = []
    if reference is _UNKNOWN or entry.reference != ref:
        reasons.append(Reason("pinned"))
    edited = _edits(work, entry)
    if edited:
        reasons.append(Reason("pinned_edited", ", ".join(edited)))
    if not reasons:
        reasons.append(Reason("pinned"))
    if cache.built(work.label, entry.output):
        return _row(work, Status.UP_TO_DATE, tuple(reasons), entry.key)
    if cache.available(entry.key):
        return _row(work, Status.RESTORE, (*reasons, Reason("not_in_build")), entry.key)
    return None


def _edits(work: _Work, entry: LockEntry) -> list[str]:
    """What the manifest changed about the segment itself since the lock's clip."""
    changed = ["prompt"] if entry.prompt != work.prompt else []
    changed += [k for k in IDENTITY_SETTINGS if entry.settings.get(k) != work.settings.get(k)]
    return changed + (["take"] if entry.take != work.take else [])


def _footage(step: SegmentStep) -> SegmentForecast:
    clip = step.segment.clip or ""
    return SegmentForecast(
        step.segment.id, Status.FOOTAGE, (Reason("footage", clip),), (), 0.0, 0.0, None
    )


def _generate(
    work: _Work,
    takes: tuple[int, ...],
    reasons: tuple[Reason, ...],
    key: str | None,
) -> SegmentForecast:
    units = work.units * len(takes)
    cost = None if work.unit_price is None else round(units * work.unit_price, 6)
    seconds = units if work.kind == "segment" else 0.0
    return SegmentForecast(
        work.label, Status.GENERATE, reasons, takes, seconds, cost, key, work.kind
    )


def _own_changes(work: _Work, entry: LockEntry) -> tuple[Reason, ...]:
    """What changed about the request itself since the lock's clip: its prompt, its
    settings (a segment whose reference will change too still says these first: they are
    what an edit did to it)."""
    reasons = []
    if entry.prompt != work.prompt:
        reasons.append(Reason("prompt_changed", work.template))
    changed = [k for k in IDENTITY_SETTINGS if entry.settings.get(k) != work.settings.get(k)]
    if changed:
        reasons.append(Reason("settings_changed", ", ".join(changed)))
    return tuple(reasons)


def _why(
    work: _Work, entry: LockEntry | None, ref: str | None, missing: tuple[int, ...]
) -> tuple[Reason, ...]:
    """Compare with what the lock says was built last time."""
    if entry is None:
        return (Reason("new"),)
    reasons = list(_own_changes(work, entry))
    if entry.reference != ref:
        code = "pictures_changed" if work.kind == "keyframe" else "reference_changed"
        reasons.append(Reason(code))
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
