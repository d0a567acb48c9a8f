"""The garbage collector's settings for a cinestitch process.

A build or a ``cinestitch`` command makes its long-lived objects first (the modules, the
manifest, the plan, doit's task graph) and keeps them until it exits, so the collector
walking them again and again, and once more while the interpreter shuts down, is wasted
work: about a tenth of a no-op ``doit`` at 100 segments (benchmarks/overhead.py). Once they
exist, ``settle`` hands them to ``gc.freeze``, which keeps them out of every later
collection (without a collection first: what little cyclic garbage loading left stays
allocated until exit), and arranges that the exit collects what became garbage since (so its
finalisers run as usual) and freezes the rest instead of walking it again during shutdown.
"""

from __future__ import annotations

import atexit
import gc

_registered = False


def settle() -> None:
    """Freeze everything alive now; at exit, collect once and freeze what is left."""
    global _registered
    gc.freeze()
    if not _registered:
        atexit.register(_at_exit)
        _registered = True


def _at_exit() -> None:
    gc.collect()
    gc.freeze()
