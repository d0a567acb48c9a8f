"""What has been paid for: the content-addressed generation cache and the job journal."""

from cinestitch.cache.journal import JobJournal, JournalEntry
from cinestitch.cache.store import GenerationStore, RunRecord
from cinestitch.digests import file_digest

__all__ = ["GenerationStore", "JobJournal", "JournalEntry", "RunRecord", "file_digest"]
