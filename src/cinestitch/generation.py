"""Obtain a segment's clips paying at most once per request: claim → cache → build → journal
→ submit.

For each take the request key is computed (``keys.take_keys``, the same function the plan
uses) from the plan's prompt, the settings and the reference image's pixels before any
provider is called. Then, holding the key's claim (one build at a time, across every process
and project that shares the cache):

1. the cache has the key: restore the clip (no call);
2. build/ already holds the clip the lock recorded for this key: keep it, and cache it;
3. the journal has a job submitted for the key (an interrupted or killed build, this one or
   another sharing the cache): poll and download it;
4. the journal has a submission cut short before the provider answered: ask the provider
   (``lookup``); resume the job it knows, submit afresh when it proves there is none, and
   otherwise stop — it may have been billed — unless told to resubmit;
5. otherwise submit, record the job's handle in the journal at once, poll, download, cache.

A journaled job is never submitted again while the provider still knows it, whatever
``CINESTITCH_RESUBMIT`` says: resubmission is only for jobs that cannot be resumed.

A keyframe's still (``kind: image``) is obtained the same way, under its label
(``keyframe:<id>``); its pixel digest is recorded in the cache and the lock, so the plan can
key the segments between keyframes before they are built. A pinned segment keeps the clip
its lock entry names (from build/ or the cache) and is generated only when that is gone.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cinestitch import __version__
from cinestitch.cache import GenerationStore, JobJournal, JournalEntry, RunRecord
from cinestitch.cache.claims import claim
from cinestitch.cache.journal import JournalDamagedError
from cinestitch.cache.slots import slot
from cinestitch.cache.tiers import open_cache
from cinestitch.digests import file_digest
from cinestitch.errors import BudgetError, GenerationFailedError, JobNotFoundError, ProviderError
from cinestitch.explain import dollars
from cinestitch.frozen import guard_submit
from cinestitch.keys import reference_identity, short, take_keys
from cinestitch.labels import keyframe_of
from cinestitch.ledger import LedgerLine, append_ledger, build_spend, read_approved
from cinestitch.lock import LockEntry, TakeRecord, write_pending_entry, write_pending_spend
from cinestitch.oserrors import describe_os_error
from cinestitch.plan import STILL_VIEW
from cinestitch.providers import get_provider
from cinestitch.providers.base import (
    GenerationRequest,
    JobHandle,
    JobState,
    JobStatus,
    Kind,
    LookupResult,
    Provider,
    Transport,
)
from cinestitch.report import ProgressReporter

RESUBMIT_ENV = "CINESTITCH_RESUBMIT"
DEFAULT_POLL_INTERVAL = 0.25
"""Seconds between polls when neither the manifest nor the provider says otherwise."""


@dataclass(frozen=True)
class Budgets:
    """What the build may spend, and the price this segment's estimate uses."""

    build: float | None = None
    total: float | None = None
    spent_before: float = 0.0
    """The project's spend before this build (from the lock)."""
    per_second: float | None = None


@dataclass(frozen=True)
class SegmentJob:
    """Everything the generate action needs for one segment (picklable for ``doit -n``)."""

    segment_id: str
    prompt: str
    """The rendered prompt, exactly as the plan keyed it."""
    settings: Mapping[str, Any]
    takes: int
    take: int
    reference: Path | None
    reference_clip: Path | None
    """The upstream clip whose last frame is the reference (chained segments)."""
    clip: Path
    take_clips: tuple[Path, ...]
    """Where each take is kept when there is more than one."""
    cache_dir: Path
    provider_dir: Path
    project_dir: Path
    lock_pending: Path
    state_dir: Path
    """The project's ``.cinestitch`` (this build's ledger and approved plan live there)."""
    build_id: str
    locked: LockEntry | None
    """The segment's lock entry when the build started (clips in build/ it vouches for)."""
    price_override: float | None = None
    """``provider.price_per_second``: what a take costs when the provider reports nothing."""
    budgets: Budgets = field(default_factory=Budgets)
    transport: Transport = field(default_factory=Transport)
    end_image: Path | None = None
    """The image the clip should end on (``end_frame``), where the provider takes one."""
    extends: str | None = None
    """The upstream segment whose clip this one continues natively (``extend: true``)."""
    extend_uri: str | None = None
    """The provider's name for that clip (found when the segment is built)."""
    remote_cache: str | None = None
    """The remote cache's URL, consulted after the local one in ``cache_dir``."""
    kind: Kind = "video"
    """``image``: a keyframe's still (``segment_id`` is then its label, ``keyframe:<id>``)."""
    reference_images: tuple[Path, ...] = ()
    """The characters' pictures the request carries, in order."""
    pin: bool = False
    """Keep the clip the lock entry names when it can be had (``pin: true``)."""

    @property
    def task(self) -> str:
        """The doit task that obtains it: ``generate:<id>``, or the keyframe's label."""
        return self.segment_id if keyframe_of(self.segment_id) else f"generate:{self.segment_id}"

    @property
    def what(self) -> str:
        keyframe = keyframe_of(self.segment_id)
        return f"keyframe '{keyframe}'" if keyframe else f"segment '{self.segment_id}'"

    @property
    def units(self) -> float:
        """What a take is paid by: its seconds, or one picture."""
        return 1.0 if self.kind == "image" else float(self.settings["seconds"])

    @property
    def store(self) -> GenerationStore:
        return open_cache(self.cache_dir, self.remote_cache)

    @property
    def journal(self) -> JobJournal:
        return JobJournal(self.cache_dir / "jobs")

    @property
    def resubmit(self) -> bool:
        return os.environ.get(RESUBMIT_ENV) == "1"


@dataclass(frozen=True)
class Obtained:
    record: RunRecord
    source: str
    """generated, resumed, cache or kept."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_segment(job: SegmentJob, reporter: ProgressReporter) -> list[RunRecord]:
    """Make sure every take of the segment exists, put the selected one in place, and
    record it for the lock; returns the takes' run records in take order."""
    from cinestitch.media import pixel_digest  # decoding only when a segment is built

    store = job.store
    if job.pin and job.locked is not None:
        kept = _keep_pinned(job, store)
        if kept is not None:
            reporter.line("pinned: keeps its clip from the lock")
            return kept
    reference = pixel_digest(job.reference) if job.reference is not None else None
    end = pixel_digest(job.end_image) if job.end_image is not None else None
    cast = tuple(pixel_digest(p) for p in job.reference_images)
    reference = reference_identity(reference, end, job.extends is not None, cast)
    keys = take_keys(job.prompt, job.settings, job.takes, reference)
    if job.extends is not None:
        job = replace(job, extend_uri=_upstream_uri(job, store))
    records: list[RunRecord] = []
    for take in range(1, job.takes + 1):
        got = _obtain(job, store, take, keys[take], reporter)
        records.append(got.record)
        paid = got.source in ("generated", "resumed")
        cost = (got.record.cost_usd or 0.0) if paid else 0.0
        if cost:  # counted at once, so a later take failing does not lose what this one cost
            write_pending_spend(job.lock_pending, job.segment_id, cost)
        seconds = float(job.settings["seconds"])
        line = LedgerLine(job.segment_id, take, got.source, job.settings["provider"], seconds, cost)
        append_ledger(job.state_dir, job.build_id, line)
    _place(store, records[job.take - 1], job.clip)
    if job.takes > 1:
        for record, path in zip(records, job.take_clips, strict=True):
            _place(store, record, path)
    pixels = None
    if job.kind == "image":  # what the segments between keyframes are keyed by
        pixels = pixel_digest(job.clip)
        store.put_frame_digest(records[job.take - 1].output, STILL_VIEW, pixels)
    source = file_digest(job.reference_clip) if job.reference_clip is not None else None
    entry = _lock_entry(job, reference, source, records, pixels)
    write_pending_entry(job.lock_pending, job.segment_id, entry)
    return records


def _keep_pinned(job: SegmentJob, store: GenerationStore) -> list[RunRecord] | None:
    """Every take the lock entry names, put in place from build/ or the cache; ``None``
    when one is in neither (the segment is then generated as the plan said)."""
    entry = job.locked
    assert entry is not None
    wanted = [(job.clip, entry.key, entry.output, entry.take)]
    wanted += [
        (job.take_clips[n - 1], t.key, t.output, n)
        for n, t in sorted(entry.takes.items())
        if n <= len(job.take_clips)
    ]
    records = []
    for path, key, output, take in wanted:
        record = RunRecord(
            key, output, entry.provider, entry.model, entry.job_id, None, None, 0.0,
            __version__, job.segment_id, take,
        )  # fmt: skip
        if not (path.is_file() and file_digest(path) == output):
            found = store.lookup(key)
            if found is None or found.output != output:
                return None
            _place(store, found, path)
        records.append(record)
    seconds = float(job.settings["seconds"])
    line = LedgerLine(job.segment_id, entry.take, "kept", entry.provider, seconds, 0.0)
    append_ledger(job.state_dir, job.build_id, line)
    return records


def _upstream_uri(job: SegmentJob, store: GenerationStore) -> str:
    """The provider's own name for the upstream clip a native continuation extends."""
    from cinestitch.lock import apply_pending, load_lock, read_pending

    upstream = str(job.extends)
    lock_path = job.project_dir / "cinestitch.lock"
    lock = apply_pending(load_lock(lock_path), read_pending(job.lock_pending))
    entry = lock.entry(upstream)
    record = store.record(entry.key) if entry is not None else None
    if record is None or not record.provider_uri:
        raise GenerationFailedError(
            f"extend: '{upstream}' has no clip the provider can continue (made elsewhere, or "
            "before its provider named it) — regenerate it with this provider, or set "
            "extend: false to start from its last frame",
            no_job=True,
        )
    return record.provider_uri


def _place(store: GenerationStore, record: RunRecord, dest: Path) -> None:
    """Put the record's clip at ``dest`` unless it is already there (keeps doit's checksum)."""
    if dest.is_file() and file_digest(dest) == record.output:
        return
    if not store.restore(record, dest):
        raise ProviderError(
            f"cache: the clip {short(record.output)} is damaged or missing — run again to "
            "regenerate it"
        )


def _lock_entry(
    job: SegmentJob,
    reference: str | None,
    reference_source: str | None,
    records: list[RunRecord],
    pixels: str | None = None,
) -> LockEntry:
    chosen = records[job.take - 1]
    takes = (
        {n: TakeRecord(r.key, r.output, r.cost_usd, r.job_id) for n, r in enumerate(records, 1)}
        if job.takes > 1
        else {}
    )
    return LockEntry(
        take=job.take,
        key=chosen.key,
        output=chosen.output,
        provider=chosen.provider,
        model=chosen.model,
        job_id=chosen.job_id,
        cost_usd=chosen.cost_usd,
        prompt=job.prompt,
        settings=dict(job.settings),
        reference=reference,
        reference_source=reference_source,
        takes=takes,
        pixels=pixels,
    )


def _obtain(
    job: SegmentJob, store: GenerationStore, take: int, key: str, reporter: ProgressReporter
) -> Obtained:
    def waiting() -> None:
        reporter.line(f"take {take}: another build is generating this request — waiting for it")

    with claim(job.cache_dir, key, on_wait=waiting):
        found = store.lookup(key)
        if found is not None:
            return Obtained(found, "cache")
        kept = _kept_in_build(job, take, key)
        if kept is not None:
            return Obtained(store.put(kept[0], kept[1]), "kept")
        provider = _provider(job)
        with _slot(job, reporter):
            resumed = _resume(job, provider, key, reporter)
            if resumed is not None:
                return Obtained(resumed, "resumed")
            if store.is_damaged(key):
                record = store.record(key)
                reporter.line(
                    f"cache entry for take {take} ({short(record.output if record else None)})"
                    f" is damaged — regenerating ({dollars(_estimate(job))})"
                )
            _guard_budget(job, take)
            guard_submit(job, store, take, key)
            return Obtained(_submit(job, provider, take, key, reporter), "generated")


def _slot(job: SegmentJob, reporter: ProgressReporter) -> contextlib.AbstractContextManager[None]:
    """One of the provider's ``max_in_flight`` slots, shared by the build's processes."""
    limit = job.transport.max_in_flight
    name = str(job.settings["provider"])

    def waiting() -> None:
        reporter.line(f"waiting for a free {name} slot (max_in_flight: {limit})")

    return slot(job.state_dir / "slots" / name, limit, on_wait=waiting)


def _provider(job: SegmentJob) -> Provider:
    name = str(job.settings["provider"])
    return get_provider(name, job.provider_dir, job.transport, project_root=job.project_dir)


def _kept_in_build(job: SegmentJob, take: int, key: str) -> tuple[Path, RunRecord] | None:
    """The clip in build/ for ``key`` when the lock vouches for its digest."""
    entry = job.locked
    if entry is None:
        return None
    candidates = [(job.clip, entry.key, entry.output, entry.job_id, entry.cost_usd)]
    candidates += [
        (job.take_clips[n - 1], t.key, t.output, t.job_id, t.cost_usd)
        for n, t in entry.takes.items()
        if n <= len(job.take_clips)
    ]
    for path, locked_key, output, job_id, cost in candidates:
        if locked_key == key and path.is_file() and file_digest(path) == output:
            record = RunRecord(
                key, output, entry.provider, entry.model, job_id, None, None, cost,
                __version__, job.segment_id, take,
            )  # fmt: skip
            return path, record
    return None


def _billed(text: str) -> ProviderError:
    return ProviderError(text, may_be_billed=True)


def _resume(
    job: SegmentJob, provider: Provider, key: str, reporter: ProgressReporter
) -> RunRecord | None:
    """Finish a journaled job for ``key`` if there is one; ``None`` when there is none (or
    the provider proved a cut-short submission created no job) and a submit may follow."""
    journal = job.journal
    try:
        entry = journal.find(key)
    except JournalDamagedError as exc:
        raise _billed(
            f"{exc} — a job may be in flight and billed; the file is kept. Check with the "
            f"provider, then delete it to submit again"
        ) from exc
    if entry is None:
        return None
    handle = entry.job_handle()
    if handle is None:
        found = provider.lookup(key)
        if isinstance(found, JobHandle):
            reporter.line(f"found job {found.job_id} of an interrupted submission — resuming it")
            entry = replace(entry, job_id=found.job_id, handle=found.to_json())
            journal.add(entry)
            handle = found
        elif found is LookupResult.ABSENT:
            journal.remove(key)  # the provider has no such job: it was never submitted
            return None
        elif job.resubmit:
            journal.remove(key)
            return None
        else:
            raise _billed(
                f"a submission made {entry.submitted} was interrupted before "
                f"{entry.provider} answered, and {entry.provider} cannot be asked for it, so "
                f"its job id is unknown — it may have been billed; check with the provider, "
                f"then run again with {RESUBMIT_ENV}=1 to submit a new job"
            )
    else:
        reporter.line(f"resuming job {handle.job_id} (submitted {entry.submitted})")
    try:
        return _finish(job, provider, entry, handle, reporter)
    except OSError as exc:
        raise _billed(
            f"{describe_os_error(exc)} (job {handle.job_id} stays in the journal: the next "
            "build downloads it without paying again)"
        ) from exc
    except _LostJobError as exc:
        if job.resubmit:
            reporter.line(f"job {handle.job_id} cannot be resumed ({exc}) — submitting again")
            journal.remove(key)
            return None
        raise _billed(
            f"job {handle.job_id} (submitted {entry.submitted}) cannot be resumed: {exc} — "
            f"it may have been billed; run again with {RESUBMIT_ENV}=1 to submit a new job"
        ) from exc


def _estimate(job: SegmentJob) -> float | None:
    per_unit = job.budgets.per_second  # a still's price is per picture
    return None if per_unit is None else per_unit * job.units


def _guard_budget(job: SegmentJob, take: int) -> None:
    """Refuse a submission the budget step did not approve when it would break a budget
    (the cache proved damaged, or another build changed what was there)."""
    approved = read_approved(job.state_dir, job.build_id)
    if approved is not None and (job.segment_id, take) in approved.takes:
        return
    b = job.budgets
    if b.build is None and b.total is None:
        return
    cost = _estimate(job)
    if cost is None:
        raise BudgetError(
            "budget: this take was not in the plan and its price is unknown — run again to "
            "see the new plan; nothing was submitted"
        )
    planned = approved.cost if approved is not None else 0.0
    spent = build_spend(job.state_dir, job.build_id, unplanned_only=True)
    this_build = planned + spent + cost
    if b.build is not None and this_build > b.build + 1e-9:
        raise BudgetError(
            f"budget: generating take {take} as well ({dollars(cost)}, not in the plan) would "
            f"take this build to {dollars(this_build)}, over the build budget of "
            f"{dollars(b.build)}; nothing was submitted"
        )
    if b.total is not None and b.spent_before + this_build > b.total + 1e-9:
        raise BudgetError(
            f"budget: generating take {take} as well ({dollars(cost)}, not in the plan) would "
            f"take the project over its budget of {dollars(b.total)}; nothing was submitted"
        )


def _request(job: SegmentJob, take: int) -> GenerationRequest:
    s = job.settings
    width, _, height = str(s["size"]).partition("x")
    return GenerationRequest(
        provider=s["provider"],
        model=s["model"],
        prompt=job.prompt,
        seconds=float(s["seconds"]),
        width=int(width),
        height=int(height),
        fps=int(s["fps"]),
        seed=int(s["seed"]),
        reference_image=job.reference,
        options=s["options"],
        take=take,
        end_image=job.end_image,
        extend_from=job.extend_uri,
        kind=job.kind,
        reference_images=job.reference_images,
    )


def _submit(
    job: SegmentJob, provider: Provider, take: int, key: str, reporter: ProgressReporter
) -> RunRecord:
    journal = job.journal
    request = _request(job, take)
    intent = JournalEntry(
        key, job.segment_id, take, provider.name, request.model, "", now(),
        project=str(job.project_dir), build=job.build_id,
    )  # fmt: skip
    journal.add(intent)  # a crash inside submit leaves this: never a silent resubmission
    for attempt in (1, 2):
        try:
            handle = provider.submit(request, key)
            break
        except ProviderError as exc:
            if exc.no_job:
                journal.remove(key)  # the provider proved no job exists: nothing to pay for
                raise
            found = _look_up_after(provider, key, reporter)
            if isinstance(found, JobHandle):
                handle = found
                break
            if found is LookupResult.ABSENT and attempt == 1:
                reporter.line(f"{provider.name} has no job for it: submitting again")
                continue
            if not exc.may_be_billed:
                raise ProviderError(str(exc), may_be_billed=True) from exc
            raise
        except Exception as exc:
            raise _billed(
                f"the submission failed after it may have reached {provider.name} "
                f"({_said(exc)}); the next build asks the provider before paying again"
            ) from exc
    entry = replace(intent, job_id=handle.job_id, handle=handle.to_json())
    try:
        journal.add(entry)
        return _finish(job, provider, entry, handle, reporter)
    except OSError as exc:  # the job exists and is paid for: never "not billed"
        raise _billed(
            f"{describe_os_error(exc)} (job {handle.job_id} was submitted and stays in the "
            "journal: the next build downloads it without paying again)"
        ) from exc


def _look_up_after(
    provider: Provider, key: str, reporter: ProgressReporter
) -> JobHandle | LookupResult:
    """After an ambiguous submit failure (sent, no answer), ask the provider whether the
    job exists, where it can tell; never let the lookup itself fail the segment."""
    try:
        found = provider.lookup(key)
    except ProviderError:
        return LookupResult.UNKNOWN
    if isinstance(found, JobHandle):
        reporter.line(f"the submission's answer was lost; found its job {found.job_id}")
    return found


def _said(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


class _LostJobError(Exception):
    """The provider no longer knows a journaled job."""


def _finish(
    job: SegmentJob,
    provider: Provider,
    entry: JournalEntry,
    handle: JobHandle,
    reporter: ProgressReporter,
) -> RunRecord:
    """Poll the journaled job to its end, download it into the cache, drop the journal entry."""
    status, handle = _wait(job, provider, entry, handle, reporter)
    journal = job.journal
    if status.state is not JobState.SUCCEEDED:
        journal.remove(entry.key)
        said = status.message or status.state.value
        raise GenerationFailedError(f"job {handle.job_id} {status.state.value}: {said}")
    incoming = job.cache_dir / "incoming"
    part = incoming / f"{entry.key}.{os.getpid()}.{uuid.uuid4().hex[:8]}.mp4"
    try:
        provider.download(handle, part)
        cost = _cost(job, status)
        uri = handle.state.get("video_uri")
        record = RunRecord(
            entry.key, "", provider.name, entry.model, handle.job_id, entry.submitted, now(),
            cost, __version__, job.segment_id, entry.take,
            str(uri) if isinstance(uri, str) else None,
        )  # fmt: skip
        stored = job.store.put(part, record)
    finally:
        part.unlink(missing_ok=True)
    journal.remove(entry.key)
    return stored


def _cost(job: SegmentJob, status: JobStatus) -> float | None:
    """What the provider reports; for a free provider with ``price_per_second`` set (a
    rehearsal), what that price says; for a provider that reports nothing (Veo, OpenAI),
    the list price the plan estimated with."""
    cost = status.cost_usd
    if not cost and job.price_override is not None:
        return round(job.price_override * float(job.settings["seconds"]), 6)
    if cost is None:
        estimate = _estimate(job)
        return round(estimate, 6) if estimate is not None else None
    return cost


def _wait(
    job: SegmentJob,
    provider: Provider,
    entry: JournalEntry,
    handle: JobHandle,
    reporter: ProgressReporter,
) -> tuple[JobStatus, JobHandle]:
    """Poll at the provider's cadence until the job is final, within ``job_timeout``."""
    seconds = float(job.settings["seconds"])
    detail = f"{provider.name} still" if job.kind == "image" else f"{provider.name} {seconds:g} s"
    deadline = time.monotonic() + job.transport.job_timeout
    while True:
        try:
            status = provider.poll(handle)
        except JobNotFoundError as exc:
            raise _LostJobError(str(exc)) from exc
        if status.handle is not None and status.handle != handle:
            handle = status.handle
            job.journal.add(replace(entry, job_id=handle.job_id, handle=handle.to_json()))
        reporter.job(status, detail)
        if status.state.is_final:
            return status, handle
        if time.monotonic() > deadline:
            raise ProviderError(
                f"job {handle.job_id} still not done after {job.transport.job_timeout:g} s — "
                "it stays journaled; the next build goes back to polling it",
                may_be_billed=True,
            )
        time.sleep(_interval(job.transport, status))


def _interval(transport: Transport, status: JobStatus) -> float:
    if status.poll_after is not None:
        return max(status.poll_after, transport.poll_interval or 0.0)
    return transport.poll_interval or DEFAULT_POLL_INTERVAL
