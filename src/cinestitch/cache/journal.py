"""The job journal: a submitted (possibly billed) job is written down before it is polled.

One file per request key under the project's ``.cinestitch/jobs/``, written just before the
submission (without a job id) and again with the id the provider answers. A build that was
interrupted (Ctrl-C, kill, crash, lost network) finds the entry when it runs again and goes
back to polling that job instead of paying for a new one. The entry goes when the job's
clip is in the cache, or when the provider says the job failed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from cinestitch.atomic import write_text_atomic


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


class JobJournal:
    """Submitted jobs by request key, in ``directory`` (created on first write)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def add(self, entry: JournalEntry) -> None:
        text = json.dumps(asdict(entry), sort_keys=True, indent=2)
        write_text_atomic(self._path(entry.key), text + "\n")

    def find(self, key: str) -> JournalEntry | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            return JournalEntry(**data)
        except (OSError, ValueError, TypeError):
            return None

    def remove(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def pending(self) -> list[JournalEntry]:
        """Every job still recorded as in flight."""
        entries = (self.find(p.stem) for p in sorted(self.directory.glob("*.json")))
        return [e for e in entries if e is not None]
