"""``cinestitch cache``: where the lock's clips are, moving them, and keeping the cache tidy.

    status   each clip the lock references, and where it is: local, remote, missing
    push     upload the lock's clips that the remote lacks (from the local cache or build/)
    pull     download the lock's clips that the local cache lacks (verified)
    gc       drop clips that no lock given on the command line references (dry run first)
    verify   re-hash every clip in the local and the remote cache, report (and --repair) damage

Like ``dvc status`` / ``push`` / ``pull`` / ``gc``. A remote error stops the command with one
line (exit 1); a push or pull that could not move every clip, and a verify that found
damage, exit 1 too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cinestitch import __version__
from cinestitch.cache.remote import DamagedObjectError, RemoteStore, is_url
from cinestitch.cache.store import GenerationStore, RunRecord
from cinestitch.cache.tiers import remote_store
from cinestitch.digests import file_digest
from cinestitch.errors import CinestitchError
from cinestitch.keys import short
from cinestitch.labels import keyframe_label
from cinestitch.lock import LOCK_NAME, Lock, LockEntry, load_lock
from cinestitch.manifest import load_project
from cinestitch.plan import BuildPlan, plan_build
from cinestitch.state import cache_dir, load_current_lock, remote_cache

GRACE_MINUTES = 60.0
"""``gc`` keeps what was written this recently: a build in progress has not locked it yet."""


@dataclass(frozen=True)
class LockClip:
    """One clip a lock references: a segment's take, its request key and clip digest."""

    segment: str
    take: int
    key: str
    output: str
    entry: LockEntry
    built: tuple[Path, ...] = ()
    """Where build/ may hold it (a source for ``push`` when the cache lacks it)."""

    @property
    def label(self) -> str:
        return f"{self.segment} take {self.take}"

    def record(self) -> RunRecord:
        """A run record for the clip made from the lock (when no cache has one)."""
        e = self.entry
        take = e.takes.get(self.take)
        job_id = take.job_id if take is not None else e.job_id
        cost = take.cost_usd if take is not None else e.cost_usd
        return RunRecord(
            self.key, self.output, e.provider, e.model, job_id, None, None, cost,
            __version__, self.segment, self.take,
        )  # fmt: skip


def build_lock_clips(lock: Lock, plan: BuildPlan | None = None) -> list[LockClip]:
    """Every keyframe's still the lock references (by its label, ``keyframe:<id>``), then
    every clip, in segment order (pure)."""
    clips = []
    for kid in sorted(lock.keyframes):
        e = lock.keyframes[kid]
        built = (plan.paths.keyframe(kid),) if plan is not None else ()
        clips.append(LockClip(keyframe_label(kid), e.take, e.key, e.output, e, built))
    for sid in sorted(lock.segments):
        e = lock.segments[sid]
        if e.takes:
            for n, t in sorted(e.takes.items()):
                where = _built(plan, sid, n, n == e.take)
                clips.append(LockClip(sid, n, t.key, t.output, e, where))
        else:
            clips.append(LockClip(sid, e.take, e.key, e.output, e, _built(plan, sid, 0, True)))
    return clips


def _built(plan: BuildPlan | None, sid: str, take: int, selected: bool) -> tuple[Path, ...]:
    if plan is None:
        return ()
    paths = [plan.paths.clip(sid)] if selected else []
    if take:
        paths.append(plan.paths.take_clip(sid, take))
    return tuple(paths)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


@dataclass
class _Project:
    plan: BuildPlan
    local: GenerationStore
    remote: RemoteStore | None
    clips: list[LockClip] = field(default_factory=list)

    @property
    def where(self) -> str:
        local = _shown_path(self.local.root, self.plan.project.root)
        remote = f", remote {self.remote.shown}" if self.remote is not None else ""
        return f"cache: local {local}{remote}"


def _shown_path(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _open_project(directory: Path) -> _Project:
    plan = plan_build(load_project(directory))
    url = remote_cache(plan)
    remote = remote_store(url) if url else None
    lock = load_current_lock(plan.paths)
    return _Project(plan, GenerationStore(cache_dir(plan)), remote, build_lock_clips(lock, plan))


def _need_remote(project: _Project, command: str) -> RemoteStore:
    if project.remote is None:
        raise CinestitchError(
            f"cache {command}: the cache is a local directory — set `cache:` in the manifest "
            "or CINESTITCH_CACHE to a URL (s3://bucket/prefix, gs://…, az://…, file://…)"
        )
    project.remote.check()
    return project.remote


def _local_has(local: GenerationStore, clip: LockClip) -> bool:
    record = local.record(clip.key)
    return record is not None and local.object_path(clip.output).is_file()


def _remote_has(remote: RemoteStore, clip: LockClip) -> bool:
    return remote.record(clip.key) is not None and remote.has_object(clip.output)


def cmd_status(args: argparse.Namespace) -> int:
    project = _open_project(args.dir)
    remote = project.remote
    if remote is not None:
        remote.check()
    print(project.where)
    if not project.clips:
        print("the lock references no clips yet (nothing was built)")
        return 0
    rows = [("segment", "take", "clip", "where")]
    counts = {"local": 0, "remote": 0, "missing": 0}
    for clip in project.clips:
        places = []
        if _local_has(project.local, clip):
            places.append("local")
        if remote is not None and _remote_has(remote, clip):
            places.append("remote")
        for place in places:
            counts[place] += 1
        if not places:
            counts["missing"] += 1
        where = ", ".join(places) or "missing"
        rows.append((clip.segment, str(clip.take), short(clip.output), where))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    n = len(project.clips)
    parts = [f"{counts['local']} local"]
    if remote is not None:
        parts.append(f"{counts['remote']} remote")
    parts.append(f"{counts['missing']} missing")
    print(f"{n} clips in the lock: {', '.join(parts)}")
    return 0


def _progress(verb: str, i: int, n: int, clip: LockClip, said: str) -> None:
    print(f"{verb} {i}/{n}  {clip.label:<16} {short(clip.output)}  {said}", flush=True)


def _intact_source(project: _Project, clip: LockClip) -> Path | None:
    """A local file holding the clip's bytes, verified: the cache's object, else build/."""
    candidates = [project.local.object_path(clip.output), *clip.built]
    for path in candidates:
        try:
            if path.is_file() and file_digest(path) == clip.output:
                return path
        except OSError:
            continue
    return None


def cmd_push(args: argparse.Namespace) -> int:
    project = _open_project(args.dir)
    remote = _need_remote(project, "push")
    print(project.where)
    done = there = lacking = 0
    n = len(project.clips)
    for i, clip in enumerate(project.clips, 1):
        if _remote_has(remote, clip):
            there += 1
            _progress("push", i, n, clip, "already in the remote")
            continue
        source = _intact_source(project, clip)
        if source is None:
            lacking += 1
            _progress("push", i, n, clip, "not in the local cache nor in build/ — cannot push")
            continue
        record = project.local.record(clip.key)
        if record is None or record.output != clip.output:
            record = clip.record()
        if not project.local.object_path(clip.output).is_file():
            project.local.put(source, record)  # build/ held it: cache it here too
        sent = remote.put_object(source, clip.output)
        remote.put_record(record)
        done += 1
        said = f"uploaded ({human_size(source.stat().st_size)})"
        _progress(
            "push", i, n, clip, said if sent else "uploaded its run record (the clip was there)"
        )
    print(f"pushed {done}, {there} already there, {lacking} missing — {remote.shown}")
    return 1 if lacking else 0


def cmd_pull(args: argparse.Namespace) -> int:
    project = _open_project(args.dir)
    remote = _need_remote(project, "pull")
    print(project.where)
    done = here = failed = 0
    n = len(project.clips)
    incoming = project.local.root / "incoming"
    for i, clip in enumerate(project.clips, 1):
        if _local_has(project.local, clip) and project.local.lookup(clip.key) is not None:
            here += 1
            _progress("pull", i, n, clip, "already here")
            continue
        try:
            part = remote.download(clip.output, incoming)
        except DamagedObjectError:
            failed += 1
            _progress("pull", i, n, clip, "damaged in the remote — not used (`cache verify`)")
            continue
        if part is None:
            failed += 1
            _progress("pull", i, n, clip, "not in the remote")
            continue
        try:
            record = remote.record(clip.key)
            if record is None or record.output != clip.output:
                record = clip.record()
            project.local.put(part, record)
            size = part.stat().st_size
        finally:
            part.unlink(missing_ok=True)
        done += 1
        _progress("pull", i, n, clip, f"downloaded ({human_size(size)})")
    print(f"pulled {done}, {here} already here, {failed} not to be had — {remote.shown}")
    return 1 if failed else 0


# gc and verify work on a cache tier through one small interface.


@dataclass(frozen=True)
class Item:
    name: str
    """``objects/ab/<sha>.mp4``, ``runs/ab/<key>.json`` or ``frames/ab/<sha>-<view>.json``."""
    size: int
    modified: float | None

    @property
    def stem(self) -> str:
        return self.name.rsplit("/", 1)[-1].split(".", 1)[0]


class _Tier:
    """A cache tier for gc and verify: list, read, hash, remove."""

    label: str

    def items(self, kind: str) -> list[Item]:
        raise NotImplementedError

    def read_record(self, name: str) -> RunRecord | None:
        raise NotImplementedError

    def digest(self, name: str) -> str:
        raise NotImplementedError

    def remove(self, names: list[str]) -> None:
        raise NotImplementedError


class _LocalTier(_Tier):
    def __init__(self, root: Path, label: str) -> None:
        self.root, self.label = root, label

    def items(self, kind: str) -> list[Item]:
        base = self.root / kind
        if not base.is_dir():
            return []
        found = []
        for path in sorted(base.glob("*/*")):
            if path.is_file() and not path.name.startswith("."):
                st = path.stat()
                found.append(Item(str(path.relative_to(self.root)), st.st_size, st.st_mtime))
        return found

    def read_record(self, name: str) -> RunRecord | None:
        try:
            return RunRecord.from_json(json.loads((self.root / name).read_text("utf-8")))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def digest(self, name: str) -> str:
        return file_digest(self.root / name)

    def remove(self, names: list[str]) -> None:
        for name in names:
            (self.root / name).unlink(missing_ok=True)


class _RemoteTier(_Tier):
    def __init__(self, remote: RemoteStore) -> None:
        self.remote, self.label = remote, remote.shown

    def items(self, kind: str) -> list[Item]:
        return [Item(o.name, o.size, o.modified) for o in self.remote.listing(kind)]

    def read_record(self, name: str) -> RunRecord | None:
        return self.remote.record(name.rsplit("/", 1)[-1].removesuffix(".json"))

    def digest(self, name: str) -> str:
        import hashlib

        h = hashlib.sha256()
        for chunk in self.remote.read_object(name.rsplit("/", 1)[-1].removesuffix(".mp4")):
            h.update(chunk)
        return h.hexdigest()

    def remove(self, names: list[str]) -> None:
        self.remote.remove(names)


def _tiers(args: argparse.Namespace) -> list[_Tier]:
    """``--cache SPEC`` alone, else the project's local tier and its remote."""
    spec: str | None = args.cache
    if spec:
        if is_url(spec):
            remote = remote_store(spec)
            remote.check()
            return [_RemoteTier(remote)]
        return [_LocalTier(Path(spec).expanduser().resolve(), spec)]
    project = _open_project(args.dir)
    local_label = "local " + _shown_path(project.local.root, project.plan.project.root)
    tiers: list[_Tier] = [_LocalTier(project.local.root, local_label)]
    if project.remote is not None:
        project.remote.check()
        tiers.append(_RemoteTier(project.remote))
    return tiers


def _lock_of(given: Path) -> Lock:
    if given.is_dir():
        from cinestitch.lock import apply_pending, read_pending
        from cinestitch.plan import STATE_DIR

        lock = load_lock(given / LOCK_NAME)
        return apply_pending(lock, read_pending(given / STATE_DIR / "lock-pending"))
    if not given.is_file():
        raise CinestitchError(f"cache gc: {given}: no such lock — name lock files or projects")
    return load_lock(given)


@dataclass
class _Sweep:
    objects: list[Item] = field(default_factory=list)
    records: list[Item] = field(default_factory=list)
    frames: list[Item] = field(default_factory=list)
    kept: int = 0

    @property
    def names(self) -> list[str]:
        return [i.name for i in (*self.records, *self.frames, *self.objects)]


def build_sweep(
    tier: _Tier, keys: set[str], outputs: set[str], now: float, grace_s: float
) -> _Sweep:
    """What gc drops from ``tier``: clips no lock references (and the records and frame
    digests that name them), except what was written within the grace period."""

    def old(item: Item) -> bool:
        return item.modified is None or now - item.modified > grace_s

    keep = set(outputs)
    sweep = _Sweep()
    for item in tier.items("runs"):
        if item.stem in keys:
            record = tier.read_record(item.name)
            if record is not None:
                keep.add(record.output)
        elif old(item):
            sweep.records.append(item)
    for item in tier.items("objects"):
        if item.stem in keep or not old(item):
            sweep.kept += 1
        else:
            sweep.objects.append(item)
    for item in tier.items("frames"):
        if item.stem.split("-", 1)[0] not in keep and old(item):
            sweep.frames.append(item)
    return sweep


def cmd_gc(args: argparse.Namespace) -> int:
    if not args.locks:
        print(
            "cinestitch: cache gc: name every lock whose clips to keep, e.g. "
            "`cinestitch cache gc projects/*/cinestitch.lock` — a shared cache serves them all",
            file=sys.stderr,
        )
        return 2
    keys: set[str] = set()
    outputs: set[str] = set()
    for given in args.locks:
        for clip in build_lock_clips(_lock_of(Path(given))):
            keys.add(clip.key)
            outputs.add(clip.output)
    now = time.time()
    for tier in _tiers(args):
        sweep = build_sweep(tier, keys, outputs, now, args.grace * 60)
        size = human_size(sum(i.size for i in sweep.objects))
        verb = "dropped" if args.yes else "would drop"
        total = len(sweep.objects) + sweep.kept
        print(
            f"gc {tier.label}: {verb} {len(sweep.objects)} of {total} clips ({size}), "
            f"{len(sweep.records)} run records and {len(sweep.frames)} frame records"
        )
        if args.yes:
            tier.remove(sweep.names)
    if not args.yes:
        print("dry run: nothing was deleted — run again with --yes to delete")
    return 0


@dataclass
class _Check:
    """What verify found in one tier."""

    tier: _Tier
    intact: set[str] = field(default_factory=set)
    damaged: list[Item] = field(default_factory=list)
    dangling: list[Item] = field(default_factory=list)
    naming: dict[str, list[Item]] = field(default_factory=dict)
    """Clip digest -> the run records that name it."""


def _check(tier: _Tier) -> _Check:
    found = _Check(tier)
    objects = tier.items("objects")
    for item in objects:
        if tier.digest(item.name) == item.stem:
            found.intact.add(item.stem)
        else:
            found.damaged.append(item)
            print(f"damaged  {tier.label}  {item.name}: its bytes do not match its name")
    present = {i.stem for i in objects}
    records = tier.items("runs")
    for item in records:
        record = tier.read_record(item.name)
        if record is None:
            found.dangling.append(item)
            print(f"damaged  {tier.label}  {item.name}: unreadable run record")
            continue
        found.naming.setdefault(record.output, []).append(item)
        if record.output not in present:
            found.dangling.append(item)
            print(
                f"missing  {tier.label}  {item.name}: names clip {short(record.output)}, "
                "which is not there"
            )
    print(
        f"verified {tier.label}: {len(objects)} clips, {len(records)} run records — "
        f"{len(found.damaged)} damaged, {len(found.dangling)} records without their clip"
    )
    return found


def _heal(item: Item, into: _Tier, source: _Tier) -> bool:
    """Replace a damaged clip with the intact copy the other tier holds."""
    digest = item.stem
    if isinstance(into, _LocalTier) and isinstance(source, _RemoteTier):
        part = source.remote.download(digest, into.root / "incoming")
        if part is None:
            return False
        part.replace(into.root / item.name)
        return True
    if isinstance(into, _RemoteTier) and isinstance(source, _LocalTier):
        into.remote.put_object(source.root / item.name, digest, replace=True)
        return True
    return False


def _repair(found: _Check, others: list[_Check]) -> int:
    """Heal each damaged clip from another tier, else remove it and the records naming it;
    remove records whose clip is missing. Returns how many problems were dealt with."""
    drop = [i.name for i in found.dangling]
    healed = 0
    for item in found.damaged:
        source = next((o for o in others if item.stem in o.intact), None)
        if source is not None and _heal(item, found.tier, source.tier):
            healed += 1
            continue
        drop += [item.name, *(r.name for r in found.naming.get(item.stem, []))]
    found.tier.remove(sorted(set(drop)))
    print(
        f"repaired {found.tier.label}: {healed} clips restored from the other tier, "
        f"{len(set(drop))} damaged files removed"
    )
    return len(found.damaged) + len(found.dangling)


def cmd_verify(args: argparse.Namespace) -> int:
    checks = [_check(tier) for tier in _tiers(args)]
    problems = sum(len(c.damaged) + len(c.dangling) for c in checks)
    if problems and args.repair:
        for found in checks:
            if found.damaged or found.dangling:
                problems -= _repair(found, [c for c in checks if c is not found])
    elif problems:
        print(
            "→ `cinestitch cache verify --repair` restores damaged clips from the other tier "
            "and removes the rest: the next build then generates them again"
        )
    return 1 if problems else 0


def add_cache_commands(sub: Any) -> None:
    """The ``cache`` command and its subcommands, on ``cinestitch``'s parser."""
    cache = sub.add_parser("cache", help="the generation cache: status, push, pull, gc, verify")
    commands = cache.add_subparsers(required=True, metavar="ACTION")

    def command(name: str, text: str, run: Callable[[argparse.Namespace], int]) -> Any:
        parser = commands.add_parser(name, help=text)
        parser.add_argument(
            "--dir", type=Path, default=Path("."), help="the project (default: here)"
        )
        parser.set_defaults(run=run)
        return parser

    command("status", "each clip the lock references and where it is", cmd_status)
    command("push", "upload the lock's clips that the remote cache lacks", cmd_push)
    command("pull", "download the lock's clips that the local cache lacks", cmd_pull)
    gc = command("gc", "drop clips that no lock given here references (a dry run)", cmd_gc)
    gc.add_argument("locks", nargs="*", help="lock files (or project directories) to keep")
    gc.add_argument("--yes", action="store_true", help="delete (without it: a dry run)")
    gc.add_argument(
        "--grace", type=float, default=GRACE_MINUTES, metavar="MINUTES",
        help=f"keep what was written in the last MINUTES (default {GRACE_MINUTES:g})",
    )  # fmt: skip
    verify = command("verify", "re-hash every cached clip and report damage", cmd_verify)
    verify.add_argument("--repair", action="store_true", help="remove damaged files")
    for parser in (gc, verify):
        parser.add_argument(
            "--cache", metavar="SPEC", help="a cache directory or URL instead of the project's"
        )
