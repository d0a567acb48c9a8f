"""A project's build state, read once per process, and the one answer to "is it up to date".

``ProjectState`` is a snapshot: the lock (with the pending entries of a build in progress),
the cache, the job journal and the digests of build/ files, each read at most once. The
forecast (pure, ``forecast.py``) decides from it; doit's up-to-date checks, ``doit plan``,
``doit why``, the budget step and the generate step all read that one forecast, so they
cannot disagree, and a no-op build costs a ``stat`` per clip rather than a parse of the lock
per segment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cinestitch.cache import JobJournal
from cinestitch.cache.journal import JournalDamagedError
from cinestitch.cache.remote import is_url
from cinestitch.cache.tiers import TieredStore, note_unasked, open_cache
from cinestitch.digests import DigestMemo
from cinestitch.errors import CinestitchError
from cinestitch.forecast import Forecast, Pictures, forecast_build
from cinestitch.labels import keyframe_of
from cinestitch.lock import Lock, apply_pending, load_lock_remembered, read_pending
from cinestitch.plan import STILL_VIEW, BuildPaths, BuildPlan, frame_view
from cinestitch.prices import Price, find_price, find_still_price, price_variants
from cinestitch.providers import PROVIDERS

CACHE_ENV = "CINESTITCH_CACHE"
ONLY_ENV = "CINESTITCH_ONLY"
"""``keyframes``: this build makes only the keyframes (``cinestitch keyframes``), so its
budget step plans, prices and approves only them."""


def cache_setting(plan: BuildPlan) -> str | None:
    """``$CINESTITCH_CACHE``, else the manifest's ``cache`` (a directory or a URL)."""
    return os.environ.get(CACHE_ENV) or plan.project.cache or None


def remote_cache(plan: BuildPlan) -> str | None:
    """The remote cache's URL when the setting is one (``s3://…``, ``gs://…``, ``file://…``)."""
    chosen = cache_setting(plan)
    return chosen if chosen and is_url(chosen) else None


def cache_dir(plan: BuildPlan) -> Path:
    """The local cache directory: the setting when it is a path, else ``.cinestitch/cache``
    (with a remote cache, claims, jobs and downloads still live in a local directory)."""
    chosen = cache_setting(plan)
    if not chosen or is_url(chosen):
        return plan.paths.default_cache
    path = Path(chosen).expanduser()
    return path if path.is_absolute() else plan.project.root / path


def open_store(plan: BuildPlan) -> TieredStore:
    """The local cache, with the remote one (if set) behind it."""
    return open_cache(cache_dir(plan), remote_cache(plan))


def journal_dir(cache: Path) -> Path:
    """Jobs in flight live with the cache, so every build sharing it sees them."""
    return cache / "jobs"


def project_price(plan: BuildPlan) -> Price | None:
    spec, out = plan.project.provider, plan.project.output
    return find_price(spec.name, spec.model, min(out.width, out.height), spec.price_per_second)


def step_prices(plan: BuildPlan) -> dict[str, Price | None]:
    """Each segment's price (a segment may use another provider or model)."""
    out = plan.project.output
    prices: dict[str, Price | None] = {}
    for step in plan.steps:
        spec = step.segment.provider
        options = step.settings.get("options")
        variants = price_variants(
            options if isinstance(options, dict) else {}, step.reference is not None
        )
        prices[step.segment.id] = find_price(
            str(step.settings["provider"]), str(step.settings["model"]), min(out.width, out.height),
            spec.price_per_second, variants,
        )  # fmt: skip
    return prices


def still_prices(plan: BuildPlan) -> dict[str, float | None]:
    """Each generated keyframe's price per picture, by label."""
    out = plan.project.output
    found = {}
    for ks in plan.keyframes:
        if ks.generated:
            spec = ks.keyframe.provider
            info = PROVIDERS.get(spec.name)
            size = (out.width, out.height)
            if info is not None:
                size = info.made_size(spec.model, out.width, out.height, spec.options)
            drawn = ("image_to_image",) if ks.reference_images else ()
            price = find_still_price(spec.name, spec.model, *size, drawn)
            found[ks.label] = price.per_second if price is not None else None
    return found


def load_current_lock(paths: BuildPaths) -> Lock:
    """The lock with the pending entries of an unfinished build applied; parsed once per
    process while neither the lock file nor the pending files change."""
    signature = (_stat_of(paths.lock), _listing(paths.lock_pending))
    known = _LOCKS.get(paths.lock)
    if known is not None and known[0] == signature:
        return known[1]
    memo = paths.state / LOCK_MEMO
    lock = apply_pending(load_lock_remembered(paths.lock, memo), read_pending(paths.lock_pending))
    _LOCKS[paths.lock] = (signature, lock)
    return lock


_LOCKS: dict[Path, tuple[object, Lock]] = {}
LOCK_MEMO = "lock.json"
"""The parsed lock, remembered in the project's state directory (``load_lock_remembered``)."""


def _stat_of(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _listing(directory: Path) -> tuple[tuple[str, tuple[int, int, int] | None], ...]:
    try:
        names = sorted(p.name for p in directory.iterdir())
    except OSError:
        return ()
    return tuple((name, _stat_of(directory / name)) for name in names)


@dataclass
class ProjectState:
    """Everything the forecast reads, gathered once."""

    plan: BuildPlan
    lock: Lock
    store: TieredStore
    journal: JobJournal
    memo: DigestMemo
    _kept: dict[str, str] = field(default_factory=dict)
    """Request key -> clip digest for clips in build/ that the lock vouches for."""

    @classmethod
    def load(cls, plan: BuildPlan) -> ProjectState:
        cache = cache_dir(plan)
        state = cls(
            plan,
            load_current_lock(plan.paths),
            open_store(plan),
            JobJournal(journal_dir(cache)),
            DigestMemo(plan.paths.digest_memo),
        )
        state._index_build()
        return state

    def _index_build(self) -> None:
        """One pass over the lock: which of its clips build/ holds (a stat each)."""
        paths = self.plan.paths
        for sid, entry in self.lock.segments.items():
            if self.memo.digest(paths.clip(sid)) == entry.output:
                self._kept.setdefault(entry.key, entry.output)
            for n, take in entry.takes.items():
                if take.key not in self._kept and (
                    self.memo.digest(paths.take_clip(sid, n)) == take.output
                ):
                    self._kept[take.key] = take.output
        for keyframe, entry in self.lock.keyframes.items():
            if self.memo.digest(paths.keyframe(keyframe)) == entry.output:
                self._kept.setdefault(entry.key, entry.output)
        self.memo.save()

    # The forecast's CacheView.
    def in_flight(self, key: str) -> str | None:
        try:
            entry = self.journal.find(key)
        except JournalDamagedError:
            return "unreadable journal entry"
        if entry is None or not entry.job_id:
            return None  # a submission cut short is looked up by the build
        return entry.job_id

    def available(self, key: str) -> bool:
        return key in self._kept or self.store.available(key)

    def output_of(self, key: str) -> str | None:
        if key in self._kept:
            return self._kept[key]
        record = self.store.record(key)
        return record.output if record is not None else None

    def frame_of(self, output: str, sharpest_of: int) -> str | None:
        return self.store.frame_digest(output, frame_view(self.plan.project, sharpest_of).name)

    def damaged(self, key: str) -> str | None:
        record = self.store.record(key)
        return record.output if record is not None and self.store.is_damaged(key) else None

    def built(self, segment_id: str, output: str) -> bool:
        keyframe = keyframe_of(segment_id)
        paths = self.plan.paths
        path = paths.keyframe(keyframe) if keyframe is not None else paths.clip(segment_id)
        return self.memo.digest(path) == output

    def still_of(self, output: str) -> str | None:
        return self.store.frame_digest(output, STILL_VIEW)

    def kept_output(self, key: str) -> str | None:
        """The digest of the clip in build/ for ``key`` that the lock vouches for."""
        return self._kept.get(key)

    def forecast(self) -> Forecast:
        plan = self.plan
        digests = image_digests(plan, self.memo)
        ends = {
            step.segment.id: digest
            for step in plan.steps
            if step.end_image is not None
            and not step.keyframes  # a keyframe's still: its digest is the forecast's to know
            and (digest := self.memo.pixels(step.end_image)) is not None
        }
        footage = {
            step.segment.id: digest
            for step in plan.steps
            if step.footage is not None and (digest := self.memo.digest(step.footage))
        }
        if footage:
            self.memo.save()
        forecast = forecast_build(
            plan, self.lock, self, digests, project_price(plan), step_prices(plan), ends, footage,
            project_pictures(plan, self.memo), still_prices(plan),
        )  # fmt: skip
        return note_unasked(forecast, self.store)


def image_digests(plan: BuildPlan, memo: DigestMemo) -> dict[str, str]:
    """Pixel digests of the project images that segments start from (memoised by file
    signature, so a no-op build decodes no image)."""
    found: dict[str, str] = {}
    for step in plan.steps:
        if step.reference is not None and step.reference_segment is None and not step.keyframes:
            digest = memo.pixels(step.reference)
            if digest is not None:
                found[step.segment.id] = digest
    memo.save()
    return found


def project_pictures(plan: BuildPlan, memo: DigestMemo) -> Pictures:
    """Pixel digests of the keyframes that are pictures and of the characters' pictures
    (memoised by file signature, like the reference images)."""
    if not plan.keyframes and not plan.project.characters:
        return Pictures()
    images = {}
    for ks in plan.keyframes:
        if not ks.generated and (digest := memo.pixels(ks.image)) is not None:
            images[ks.keyframe.id] = digest
    cast: dict[str, tuple[str, ...] | None] = {}
    owners = [(s.segment.id, s.reference_images) for s in plan.steps]
    owners += [(ks.label, ks.reference_images) for ks in plan.keyframes]
    for name, pictures in owners:
        if pictures:
            digests = [memo.pixels(p) for p in pictures]
            cast[name] = None if None in digests else tuple(d for d in digests if d)
    memo.save()
    return Pictures(images, cast)


_FORECASTS: dict[int, tuple[BuildPlan, Forecast, Lock]] = {}


def current_forecast(plan: BuildPlan) -> tuple[Forecast, Lock]:
    """The forecast for ``plan``, computed once per process (the snapshot every check,
    plan, budget and generate step of this process reads)."""
    known = _FORECASTS.get(id(plan))
    if known is None or known[0] is not plan:
        state = ProjectState.load(plan)
        known = (plan, state.forecast(), state.lock)
        _FORECASTS[id(plan)] = known
    return known[1], known[2]


def forget_forecast() -> None:
    """Drop the snapshot (after the state changed under this process, e.g. a merge)."""
    _FORECASTS.clear()


def run_forecast(plan: BuildPlan) -> tuple[Forecast, Lock]:
    """A fresh forecast (for commands that report on the project as it is now)."""
    state = ProjectState.load(plan)
    return state.forecast(), state.lock


def is_generated(plan: BuildPlan, segment_id: str) -> bool:
    """doit's up-to-date check for ``generate:<id>``: the forecast says up to date (a
    state that cannot be read says no: the step then reports it in one line)."""
    try:
        forecast, _ = current_forecast(plan)
    except (CinestitchError, OSError):
        return False
    return forecast.is_up_to_date(segment_id)


def scoped_forecast(forecast: Forecast, argv: Sequence[str] = ()) -> Forecast:
    """The forecast of what this build was asked to make: only the keyframes' rows when
    ``CINESTITCH_ONLY=keyframes`` or the doit command line ``argv`` names keyframe steps
    only (``doit keyframes``), else all of it."""
    from cinestitch.doit_selection import only_keyframes

    asked = os.environ.get(ONLY_ENV, "").strip() == "keyframes" or only_keyframes(argv)
    if not asked:
        return forecast
    return dataclasses.replace(forecast, segments=tuple(forecast.keyframes))
