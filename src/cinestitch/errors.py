"""The exception tree: every error cinestitch raises on purpose.

    CinestitchError                 base; ``str(e)`` is the one line a user sees
    ├── ProjectError                a manifest or template is wrong (exit 3); holds all problems
    ├── MediaError                  PyAV could not read or write a file (names the path)
    ├── BudgetError                 the build would spend more than the manifest allows
    └── ProviderError               a provider call failed (names segment, provider, its answer)
        ├── JobNotFoundError          it does not know the job (cannot be resumed)
        ├── ProviderUnavailableError  could not reach it: network, 5xx, timeout
        └── GenerationFailedError     it ran and said no: policy, failed job

User errors print as one line, never a traceback; ``--debug`` shows the traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_PROJECT_ERROR = 3
"""Exit status for a project that does not load (the same code doit uses for bad task files)."""
EXIT_BUILD_FAILED = 1


class CinestitchError(Exception):
    """Base class; the message is complete and user-facing."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a project: where it is and what to do about it."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ProjectError(CinestitchError):
    """A project failed to load; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def report(self) -> str:
        n = len(self.problems)
        noun = "problem" if n == 1 else "problems"
        return f"{self}\n{n} {noun}; nothing was generated."


class MediaError(CinestitchError):
    """Reading, decoding or encoding a media file failed."""


class BudgetError(CinestitchError):
    """The plan costs more than a budget allows; raised before any provider call."""


class ProviderError(CinestitchError):
    """A provider call failed; the message names the segment, the provider and its answer."""

    def __init__(self, message: str, *, may_be_billed: bool = False, no_job: bool = False) -> None:
        self.may_be_billed = may_be_billed
        self.no_job = no_job
        """Raised by ``submit``: proves that no job was created (the request never left,
        or the provider answered with a refusal), so the submission may be forgotten."""
        super().__init__(message)


class JobNotFoundError(ProviderError):
    """The provider does not know the job (expired, deleted, another account): a journaled
    job that raises this cannot be resumed."""


class ProviderUnavailableError(ProviderError):
    """The provider could not be reached (network, 5xx, timeout); retrying may help."""


class GenerationFailedError(ProviderError):
    """The provider ran the job and refused or failed it; the same request will fail again."""
