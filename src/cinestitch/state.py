"""A project's build state on disk: which cache it uses, and the facts the forecast reads.

The forecast itself is pure (``forecast.py``); this module gathers its inputs: the lock,
what the cache holds, and the pixel digests of image references.
"""

from __future__ import annotations

import os
from pathlib import Path

from cinestitch.cache import GenerationStore, JobJournal, file_digest
from cinestitch.errors import CinestitchError
from cinestitch.forecast import Forecast, forecast_build
from cinestitch.lock import Lock, load_lock
from cinestitch.media import pixel_digest
from cinestitch.plan import BuildPlan
from cinestitch.prices import Price, find_price

CACHE_ENV = "CINESTITCH_CACHE"


def cache_dir(plan: BuildPlan) -> Path:
    """``$CINESTITCH_CACHE``, else the manifest's ``cache``, else ``.cinestitch/cache``."""
    chosen = os.environ.get(CACHE_ENV) or plan.project.cache
    if not chosen:
        return plan.paths.default_cache
    path = Path(chosen).expanduser()
    return path if path.is_absolute() else plan.project.root / path


def open_store(plan: BuildPlan) -> GenerationStore:
    return GenerationStore(cache_dir(plan))


def project_price(plan: BuildPlan) -> Price | None:
    spec, out = plan.project.provider, plan.project.output
    return find_price(spec.name, spec.model, out.height, spec.price_per_second)


class StoreView:
    """The forecast's view of the cache, plus the build files the lock vouches for (a clip
    in build/ whose digest the lock recorded is kept, not regenerated)."""

    def __init__(self, store: GenerationStore, plan: BuildPlan, lock: Lock) -> None:
        self.store, self.plan, self.lock = store, plan, lock
        self.journal = JobJournal(plan.paths.journal)
        self._digests: dict[Path, str | None] = {}

    def in_flight(self, key: str) -> str | None:
        entry = self.journal.find(key)
        if entry is None or not entry.job_id:
            return None  # a submission cut short is not resumable: the build will say so
        return entry.job_id

    def available(self, key: str) -> bool:
        return self.store.has(key) or self._kept_in_build(key) is not None

    def output_of(self, key: str) -> str | None:
        record = self.store.record(key)
        return record.output if record is not None else self._kept_in_build(key)

    def frame_of(self, output: str, sharpest_of: int) -> str | None:
        return self.store.frame_digest(output, sharpest_of)

    def _kept_in_build(self, key: str) -> str | None:
        for sid, entry in self.lock.segments.items():
            if entry.key == key and self._digest(self.plan.paths.clip(sid)) == entry.output:
                return entry.output
            for n, take in entry.takes.items():
                path = self.plan.paths.take_clip(sid, n)
                if take.key == key and self._digest(path) == take.output:
                    return take.output
        return None

    def _digest(self, path: Path) -> str | None:
        if path not in self._digests:
            self._digests[path] = file_digest(path) if path.is_file() else None
        return self._digests[path]


def image_digests(plan: BuildPlan) -> dict[str, str]:
    """Pixel digests of the project images that segments start from."""
    return {
        step.segment.id: pixel_digest(step.reference)
        for step in plan.steps
        if step.reference is not None and step.reference_segment is None
    }


def run_forecast(plan: BuildPlan) -> tuple[Forecast, Lock]:
    """Read the lock, the cache and the reference images, and forecast the build."""
    lock = load_lock(plan.paths.lock)
    view = StoreView(open_store(plan), plan, lock)
    return forecast_build(plan, lock, view, image_digests(plan), project_price(plan)), lock


def clip_matches_lock(lock_path: Path, segment_id: str, clip: Path) -> bool:
    """doit's up-to-date check for a generate task: the clip in build/ is the one the lock
    records, so the lock (say, pulled from a teammate) rather than doit's memory decides."""
    try:
        entry = load_lock(lock_path).entry(segment_id)
        return entry is not None and clip.is_file() and file_digest(clip) == entry.output
    except (CinestitchError, OSError):
        return False
