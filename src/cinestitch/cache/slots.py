"""Slots: at most N jobs in flight at one provider, across every process of a build.

``max_in_flight: N`` gives a provider N slot files under ``.cinestitch/slots/<provider>/``; a
job holds an exclusive OS lock on one of them (``filelock``) from its submission until its
clip is downloaded, so ``doit -n 8`` respects a provider's concurrency limit. The operating
system frees a slot when its holder dies.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from cinestitch.atomic import file_mode

POLL_SECONDS = 0.2


@contextlib.contextmanager
def slot(
    directory: Path, limit: int | None, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold one of ``limit`` slots in ``directory`` for the block (no limit: no slot)."""
    if limit is None or limit < 1:
        yield
        return
    from filelock import FileLock, Timeout  # imported when a job is submitted, not on load

    directory.mkdir(parents=True, exist_ok=True)
    locks = [
        FileLock(str(directory / f"{n}.lock"), mode=file_mode(), thread_local=False)
        for n in range(limit)
    ]
    told = False
    while True:
        for lock in locks:
            try:
                lock.acquire(timeout=0)
            except Timeout:
                continue
            try:
                yield
            finally:
                lock.release()
            return
        if not told and on_wait is not None:
            on_wait()
            told = True
        time.sleep(POLL_SECONDS)
