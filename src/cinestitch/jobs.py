"""``cinestitch jobs``: the jobs in flight (journaled, maybe paid, not yet in the cache) and
cancelling one at its provider."""

from __future__ import annotations

from dataclasses import replace

from cinestitch.cache import JobJournal, JournalEntry
from cinestitch.errors import CinestitchError
from cinestitch.keys import short
from cinestitch.plan import BuildPlan
from cinestitch.providers import get_provider
from cinestitch.state import cache_dir, journal_dir


def project_journal(plan: BuildPlan) -> JobJournal:
    return JobJournal(journal_dir(cache_dir(plan)))


def format_jobs(entries: list[JournalEntry]) -> str:
    """One row per journaled job; a submission cut short shows no job id."""
    if not entries:
        return "no jobs in flight"
    rows = [("key", "segment", "take", "provider", "job", "submitted")]
    for e in entries:
        job = e.job_id or "(answer lost: asked again on the next build)"
        rows.append((short(e.key), e.segment, str(e.take), e.provider, job, e.submitted))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def find_job(entries: list[JournalEntry], wanted: str) -> JournalEntry:
    """The entry whose job id is ``wanted`` or whose key starts with it (unambiguously)."""
    found = [e for e in entries if wanted and (e.job_id == wanted or e.key.startswith(wanted))]
    if len(found) != 1:
        what = "no job" if not found else f"{len(found)} jobs"
        raise CinestitchError(f"jobs: {what} match '{wanted}' — `cinestitch jobs` lists them")
    return found[0]


def cancel_job(plan: BuildPlan, wanted: str) -> JournalEntry:
    """Ask the provider to stop the job and forget it: the next build submits the request
    afresh (the cancelled job may still have been billed)."""
    journal = project_journal(plan)
    entry = find_job(journal.pending(), wanted)
    handle = entry.job_handle()
    if handle is not None:
        spec = plan.project.provider
        for segment in plan.project.segments:
            if segment.id == entry.segment:
                spec = segment.provider
        provider = get_provider(
            entry.provider, plan.paths.provider_work(entry.provider), spec.transport()
        )
        provider.cancel(handle)
    journal.remove(entry.key)
    return replace(entry)
