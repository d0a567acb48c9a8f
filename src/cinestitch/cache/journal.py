"""The job journal: a submitted (possibly billed) job is written down before it is polled.

One file per request key under the cache's ``jobs/`` directory, so every build that shares
the cache (another project, a clone, CI) sees a job in flight and resumes it instead of paying
again. An entry is written just before the submission (without a handle) and again with the
handle the provider answers. It goes when the job's clip is in the cache, when the provider
says the job failed, or when the provider proves the submission never created a job.

An entry that cannot be read means a job may be in flight: ``find`` raises
``JournalDamagedError`` and the file is kept for the user to look at.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cinestitch.atomic import write_text_atomic
from cinestitch.errors import CinestitchError
from cinestitch.providers.base import JobHandle


class JournalDamagedError(CinestitchError):
    """A journal entry exists but cannot be read: a job may be in flight."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        super().__init__(f"{path}: unreadable job journal entry ({why})")


@dataclass(frozen=True)
class JournalEntry:
    key: str
    segment: str
    take: int
    provider: str
    model: str
    job_id: str
    """Empty while the submission is under way (the provider has not answered yet)."""
    submitted: str
    handle: dict[str, Any] = field(default_factory=dict)
    """The provider's ``JobHandle`` as JSON (empty until the provider answered)."""
    project: str = ""
    """The project directory that submitted it (for listings)."""
    build: str = ""
    """The build that submitted it (its id), so an interrupted build can count its jobs."""

    def job_handle(self) -> JobHandle | None:
        if not self.job_id:
            return None
        if self.handle:
            return JobHandle.from_json(self.handle)
        return JobHandle(self.provider, self.job_id)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


class JobJournal:
    """Submitted jobs by request key, in ``directory`` (created on first write)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def add(self, entry: JournalEntry) -> None:
        text = json.dumps(asdict(entry), sort_keys=True, indent=2, ensure_ascii=False)
        write_text_atomic(self.path(entry.key), text + "\n")

    def find(self, key: str) -> JournalEntry | None:
        """The entry for ``key``; ``None`` if there is none; raises if it is unreadable."""
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise JournalDamagedError(path, exc.strerror or str(exc)) from exc
        try:
            data = json.loads(text)
            entry = JournalEntry.from_json(data)
            if entry.key != key:
                raise ValueError(f"it names key {entry.key[:12]}")
            return entry
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise JournalDamagedError(path, " ".join(str(exc).split())[:80]) from exc

    def remove(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def keys(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if not p.name.startswith("."))

    def pending(self) -> list[JournalEntry]:
        """Every readable job still recorded as in flight (damaged entries are skipped)."""
        entries = []
        for key in self.keys():
            try:
                entry = self.find(key)
            except JournalDamagedError:
                continue
            if entry is not None:
                entries.append(entry)
        return entries
