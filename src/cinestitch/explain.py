"""Reason codes, and the one place that words them for people.

Codes are stable snake_case so tests, logs and tools can rely on them; the sentences may
improve freely.
"""

from __future__ import annotations

from dataclasses import dataclass

SENTENCES = {
    "new": "new, not in cache",
    "not_cached": "not in cache",
    "cache_damaged": "cache entry damaged",
    "not_in_build": "restored into build/",
    "prompt_changed": "prompt changed",
    "settings_changed": "settings changed",
    "reference_changed": "reference frame changed",
    "new_take": "new take",
    "take_switched": "take switched",
    "cached": "in cache",
    "job_in_flight": "submitted by an interrupted build, already paid",
    "footage": "an existing clip, never generated",
    "remote_unreachable": "the remote cache could not be asked",
    "picture": "a picture of the project, never generated",
    "keyframe_changed": "keyframe changed",
    "pictures_changed": "reference pictures changed",
    "pinned": "pinned — upstream changed (seam may jump)",
    "pinned_edited": "pinned — its own edits wait until it is unpinned",
    "pinned_lost": "pinned, but its clip is in neither build/ nor the cache — made again",
}


@dataclass(frozen=True)
class Reason:
    """Why a segment is (re)built: a code and an optional detail (a file, keys, a segment)."""

    code: str
    detail: str = ""

    def __str__(self) -> str:
        sentence = SENTENCES.get(self.code, self.code.replace("_", " "))
        return f"{sentence} ({self.detail})" if self.detail else sentence


def describe(reasons: tuple[Reason, ...] | list[Reason]) -> str:
    """Reasons joined for one table cell."""
    return "; ".join(str(r) for r in reasons)


def dollars(amount: float | None) -> str:
    """``$1.20``; ``?`` when the price is unknown."""
    return "?" if amount is None else f"${amount:,.2f}"
