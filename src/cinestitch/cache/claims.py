"""Claims: one build at a time works on a request key, across every process sharing a cache.

A claim is an exclusive lock on ``claims/<key>.lock`` in the cache directory (``filelock``,
an OS-level lock). The operating system releases it when its owner dies, however it dies, so
a claim is never stale: the next build takes it over and recovers the owner's job through the
job journal. A build that finds a key claimed waits for the owner's result and takes it from
the cache.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from cinestitch.atomic import file_mode

CLAIM_TIMEOUT = 6 * 60 * 60
"""The longest a build waits for another build's claim (a generation's bound, and more)."""


class ClaimTimeoutError(TimeoutError):
    """Another build held the claim for longer than ``CLAIM_TIMEOUT``."""


@contextlib.contextmanager
def claim(cache_dir: Path, key: str, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the claim on ``key`` for the duration of the block; ``on_wait`` is called once if
    another build holds it first."""
    from filelock import FileLock, Timeout  # imported when a segment is built, not on load

    directory = cache_dir / "claims"
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / f"{key}.lock"), mode=file_mode(), thread_local=False)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait is not None:
            on_wait()
        try:
            lock.acquire(timeout=CLAIM_TIMEOUT)
        except Timeout as exc:
            raise ClaimTimeoutError(key) from exc
    try:
        yield
    finally:
        lock.release()
