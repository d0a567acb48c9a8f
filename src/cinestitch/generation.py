"""Obtain a segment's clips paying at most once per request: cache → build → journal → submit.

For each take the request key is computed from the actual inputs (prompt file, settings,
the reference image's pixels) before any provider is called. Then, in order:

1. the cache has the key: restore the clip (no call);
2. build/ already holds the clip the lock recorded for this key: keep it, and cache it;
3. the journal has a job submitted for the key (an interrupted build): poll and download it;
4. otherwise submit, record the job in the journal at once, poll, download, cache.

A journaled job that can no longer be polled may have been billed, so it is only submitted
again when the user says so (``CINESTITCH_RESUBMIT=1``).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cinestitch import __version__
from cinestitch.cache import GenerationStore, JobJournal, JournalEntry, RunRecord, file_digest
from cinestitch.errors import GenerationFailedError, ProviderError
from cinestitch.keys import request_key, short
from cinestitch.ledger import LedgerLine, append_ledger
from cinestitch.lock import Lock, LockEntry, TakeRecord, load_lock, update_lock
from cinestitch.media import pixel_digest
from cinestitch.providers import get_provider
from cinestitch.providers.base import GenerationRequest, JobState, JobStatus, Provider
from cinestitch.report import ProgressReporter

RESUBMIT_ENV = "CINESTITCH_RESUBMIT"
POLL_INTERVAL = 0.25
JOB_TIMEOUT = 60 * 60


@dataclass(frozen=True)
class SegmentJob:
    """Everything the generate action needs for one segment (picklable for ``doit -n``)."""

    segment_id: str
    settings: Mapping[str, Any]
    takes: int
    take: int
    prompt_path: Path
    reference: Path | None
    reference_clip: Path | None
    """The upstream clip whose last frame is the reference (chained segments)."""
    clip: Path
    take_clips: tuple[Path, ...]
    """Where each take is kept when there is more than one."""
    cache_dir: Path
    journal_dir: Path
    provider_dir: Path
    lock_path: Path
    lock_mutex: Path
    ledger_path: Path
    price_per_second: float | None
    """For the ledger when the provider reports no cost."""


@dataclass(frozen=True)
class Obtained:
    record: RunRecord
    source: str


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def run_segment(job: SegmentJob, reporter: ProgressReporter) -> list[RunRecord]:
    """Make sure every take of the segment exists, put the selected one in place, and
    record it in the lock; returns the takes' run records in take order."""
    prompt = job.prompt_path.read_text(encoding="utf-8").strip()
    reference = pixel_digest(job.reference) if job.reference is not None else None
    lock = load_lock(job.lock_path)
    records: list[RunRecord] = []
    for take in range(1, job.takes + 1):
        key = request_key(prompt, job.settings, take, reference)
        got = _obtain(job, lock, prompt, take, key, reporter)
        records.append(got.record)
        cost = got.record.cost_usd if got.source in ("generated", "resumed") else 0.0
        if cost:  # counted at once, so a later take failing does not lose what this one cost
            update_lock(
                job.lock_path, job.lock_mutex, functools.partial(Lock.spending, amount=cost)
            )
        line = LedgerLine(
            job.segment_id, take, got.source, job.settings["provider"],
            float(job.settings["seconds"]), cost,
        )  # fmt: skip
        append_ledger(job.ledger_path, line)
    store = GenerationStore(job.cache_dir)
    _place(store, records[job.take - 1], job.clip)
    if job.takes > 1:
        for record, path in zip(records, job.take_clips, strict=True):
            _place(store, record, path)
    source = file_digest(job.reference_clip) if job.reference_clip is not None else None
    entry = _lock_entry(job, prompt, reference, source, records)
    update_lock(job.lock_path, job.lock_mutex, lambda lk: _record(lk, job.segment_id, entry))
    return records


def _record(lock: Lock, segment_id: str, entry: LockEntry) -> Lock:
    """The lock with ``entry``; an entry that names the same clips is left as it was (a
    rebuild that made the same bytes with a new job does not churn the committed lock)."""
    old = lock.entry(segment_id)
    if old is not None and _same_clips(old, entry):
        return lock.with_entry(segment_id, old)
    return lock.with_entry(segment_id, entry)


def _same_clips(a: LockEntry, b: LockEntry) -> bool:
    def clips(e: LockEntry) -> tuple[object, ...]:
        takes = tuple(sorted((n, t.key, t.output) for n, t in e.takes.items()))
        return (e.take, e.key, e.output, e.reference, e.reference_source, takes)

    return clips(a) == clips(b)


def _place(store: GenerationStore, record: RunRecord, dest: Path) -> None:
    """Put the record's clip at ``dest`` unless it is already there (keeps doit's checksum)."""
    if dest.is_file() and file_digest(dest) == record.output:
        return
    if not store.restore(record, dest):
        raise ProviderError(f"cache: the clip {short(record.output)} is damaged — run again")


def _lock_entry(
    job: SegmentJob,
    prompt: str,
    reference: str | None,
    reference_source: str | None,
    records: list[RunRecord],
) -> LockEntry:
    chosen = records[job.take - 1]
    takes = (
        {
            n: TakeRecord(r.key, r.output, r.cost_usd, r.job_id)
            for n, r in enumerate(records, start=1)
        }
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
        prompt=prompt,
        settings=dict(job.settings),
        reference=reference,
        reference_source=reference_source,
        takes=takes,
    )


def _obtain(
    job: SegmentJob, lock: Lock, prompt: str, take: int, key: str, reporter: ProgressReporter
) -> Obtained:
    store = GenerationStore(job.cache_dir)
    found = store.lookup(key)
    if found is not None:
        return Obtained(found, "cache")
    kept = _kept_in_build(job, lock, take, key)
    if kept is not None:
        return Obtained(store.put(kept[0], kept[1]), "kept")
    journal = JobJournal(job.journal_dir)
    provider = get_provider(job.settings["provider"], job.provider_dir)
    pending = journal.find(key)
    resubmit = os.environ.get(RESUBMIT_ENV) == "1"
    if pending is not None and not pending.job_id and not resubmit:
        raise ProviderError(
            f"a submission made {pending.submitted} was interrupted before "
            f"{pending.provider} answered, so its job id is unknown — it may have been "
            f"billed; check with the provider, then run again with {RESUBMIT_ENV}=1 to "
            "submit a new job",
            may_be_billed=True,
        )
    if pending is not None and not resubmit:
        reporter.line(f"resuming job {pending.job_id} (submitted {pending.submitted})")
        record = _finish(job, provider, journal, pending, reporter, resumed=True)
        return Obtained(record, "resumed")
    request = _request(job, prompt, take)
    intent = JournalEntry(key, job.segment_id, take, provider.name, request.model, "", now())
    journal.add(intent)  # a crash inside submit leaves this: never a silent resubmission
    try:
        job_id = provider.submit(request)
    except Exception:
        journal.remove(key)  # the provider answered (or was never reached): nothing in flight
        raise
    entry = replace(intent, job_id=job_id)
    journal.add(entry)
    return Obtained(_finish(job, provider, journal, entry, reporter, resumed=False), "generated")


def _kept_in_build(
    job: SegmentJob, lock: Lock, take: int, key: str
) -> tuple[Path, RunRecord] | None:
    """The clip in build/ for ``key`` when the lock vouches for its digest."""
    entry = lock.entry(job.segment_id)
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


def _request(job: SegmentJob, prompt: str, take: int) -> GenerationRequest:
    s = job.settings
    width, _, height = str(s["size"]).partition("x")
    return GenerationRequest(
        provider=s["provider"],
        model=s["model"],
        prompt=prompt,
        seconds=float(s["seconds"]),
        width=int(width),
        height=int(height),
        fps=int(s["fps"]),
        seed=int(s["seed"]),
        reference_image=job.reference,
        options=s["options"],
        take=take,
    )


def _finish(
    job: SegmentJob,
    provider: Provider,
    journal: JobJournal,
    entry: JournalEntry,
    reporter: ProgressReporter,
    resumed: bool,
) -> RunRecord:
    """Poll the journaled job to its end, download it into the cache, drop the journal entry."""
    try:
        status = _wait(provider, entry.job_id, reporter, float(job.settings["seconds"]))
    except ProviderError as exc:
        if resumed and not isinstance(exc, GenerationFailedError):
            raise ProviderError(
                f"job {entry.job_id} (submitted {entry.submitted}) cannot be resumed: {exc} — "
                f"it may have been billed; run again with {RESUBMIT_ENV}=1 to submit a new job",
                may_be_billed=True,
            ) from exc
        raise
    if status.state is not JobState.SUCCEEDED:
        journal.remove(entry.key)
        said = status.message or status.state.value
        raise GenerationFailedError(f"job {entry.job_id} {status.state.value}: {said}")
    part = job.cache_dir / "incoming" / f"{entry.key}.mp4"
    provider.download(entry.job_id, part)
    cost = status.cost_usd
    if cost is None and job.price_per_second is not None:
        cost = round(job.price_per_second * float(job.settings["seconds"]), 6)
    record = RunRecord(
        entry.key, "", provider.name, entry.model, entry.job_id, entry.submitted, now(), cost,
        __version__, job.segment_id, entry.take,
    )  # fmt: skip
    stored = GenerationStore(job.cache_dir).put(part, record)
    part.unlink(missing_ok=True)
    journal.remove(entry.key)
    return stored


def _wait(provider: Provider, job_id: str, reporter: ProgressReporter, seconds: float) -> JobStatus:
    detail = f"{provider.name} {seconds:g} s"
    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        status = provider.poll(job_id)
        reporter.job(status, detail)
        if status.state.is_final:
            return status
        if time.monotonic() > deadline:
            raise ProviderError(f"job {job_id} still not done after {JOB_TIMEOUT} s")
        time.sleep(POLL_INTERVAL)
