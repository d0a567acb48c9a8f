"""``cinestitch.lock``: what was generated for each segment, committed with the project.

The manifest declares; the lock records (like ``dvc.yaml`` and ``dvc.lock``). Per segment it
keeps the request key of the selected take, the clip's digest, cost, provider, model and job
id, plus the prompt, settings and reference digest that made it, so a review diff reads as
"this prompt changed, so this clip changed", and what the segment has cost over all builds.
There is no project-wide running total in the file (it is the sum of the segments'), so two
branches that regenerated different segments merge without a conflict. Keys are sorted and
the layout is fixed, so diffs stay small.

Keyframes (the stills that keyframe-mode segments start and end on) are paid for like clips
and recorded the same way, in their own ``keyframes:`` section (written only when a project
has some, so other locks read as before), each entry with the still's pixel digest.
Everything that takes a name here takes a segment's id or a keyframe's label
(``keyframe:<id>``, see ``labels``).

During a build, generate steps do not rewrite the lock: each writes its segment's new entry
(and each paid take's cost) as a small pending file under ``.cinestitch/lock-pending/``, and
the build merges them into the lock once at its end. Readers see the lock with the pending
files applied, so an interrupted build loses nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinestitch import __version__
from cinestitch.atomic import write_text_atomic, write_text_if_changed
from cinestitch.errors import Problem, ProjectError
from cinestitch.labels import file_stem, keyframe_of, label_of_stem

LOCK_NAME = "cinestitch.lock"
LOCK_VERSION = 1
HEADER = (
    "# cinestitch.lock: what was generated for each segment (written by the build).\n"
    "# Commit it with the project: with it and the cache, a clone rebuilds without paying.\n"
)

if TYPE_CHECKING:
    import yaml


@dataclass(frozen=True)
class TakeRecord:
    """One generated take of a segment."""

    key: str
    output: str
    cost_usd: float | None = None
    job_id: str | None = None


@dataclass(frozen=True)
class LockEntry:
    """The segment as last built: the selected take and what made it."""

    take: int
    key: str
    output: str
    provider: str
    model: str
    job_id: str | None
    cost_usd: float | None
    prompt: str
    settings: Mapping[str, Any]
    reference: str | None
    """Pixel digest of the reference image, if any."""
    reference_source: str | None = None
    """Digest of the upstream clip whose last frame was the reference (chained segments)."""
    takes: Mapping[int, TakeRecord] = field(default_factory=dict)
    """Every take, when the segment asks for more than one."""
    spent_usd: float = 0.0
    """What generating this segment has cost over all builds."""
    paid_takes: int = 0
    """Takes that cost something, over all builds (regenerations and other takes included;
    counted since cinestitch began to count them; a free provider's are not, so a free
    rebuild leaves the lock as it was)."""
    pixels: str | None = None
    """For a keyframe: the digest of the still's decoded pixels (what the keys of the
    segments that start or end on it record)."""

    def same_clips(self, other: LockEntry) -> bool:
        """Both name the same clips from the same inputs (a rebuild that made the same bytes
        with a new job is no change worth a diff)."""

        def clips(e: LockEntry) -> tuple[object, ...]:
            takes = tuple(sorted((n, t.key, t.output) for n, t in e.takes.items()))
            return (e.take, e.key, e.output, e.reference, e.reference_source, takes)

        return clips(self) == clips(other)


@dataclass(frozen=True)
class Lock:
    segments: Mapping[str, LockEntry] = field(default_factory=dict)
    keyframes: Mapping[str, LockEntry] = field(default_factory=dict)
    """Generated keyframes by id."""

    @property
    def spent_usd(self) -> float:
        """Everything this project has paid for generation (segments' and keyframes')."""
        entries = [*self.segments.values(), *self.keyframes.values()]
        return round(sum(e.spent_usd for e in entries), 6)

    def entry(self, name: str) -> LockEntry | None:
        """A segment's entry by its id, or a keyframe's by its label."""
        keyframe = keyframe_of(name)
        if keyframe is not None:
            return self.keyframes.get(keyframe)
        return self.segments.get(name)

    def _with(self, name: str, entry: LockEntry) -> Lock:
        keyframe = keyframe_of(name)
        if keyframe is not None:
            return replace(self, keyframes={**self.keyframes, keyframe: entry})
        return replace(self, segments={**self.segments, name: entry})

    def with_entry(self, name: str, entry: LockEntry, spent: float = 0.0) -> Lock:
        """The lock with ``entry`` for the segment (or keyframe), keeping what it had spent
        and generated, plus ``spent``; an entry naming the same clips as the old one keeps
        the old one."""
        old = self.entry(name)
        base = old.spent_usd if old is not None else 0.0
        made = old.paid_takes if old is not None else 0
        chosen = old if old is not None and old.same_clips(entry) else entry
        chosen = replace(chosen, spent_usd=round(base + spent, 6), paid_takes=made)
        return self._with(name, chosen)

    def spending(self, name: str, amount: float, takes: int = 0) -> Lock:
        """The lock with ``amount`` more spent (and ``takes`` more generated) on an existing
        entry."""
        old = self.entry(name)
        if old is None:
            return self
        spent = round(old.spent_usd + amount, 6)
        return self._with(name, replace(old, spent_usd=spent, paid_takes=old.paid_takes + takes))


@functools.cache
def _dumper() -> type[yaml.SafeDumper]:
    """libyaml's dumper with block style for multi-line text, so prompts read as prose in
    diffs (PyYAML is imported only to read or write a lock's YAML: a build whose lock is
    remembered never does)."""
    import yaml

    class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        pass

    Dumper.add_representer(str, _str)
    return Dumper


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_UNSET = {"paid_takes": 0, "pixels": None}
"""Fields written only when they say something (older locks never had them)."""


def entry_json(entry: LockEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["settings"] = dict(entry.settings)
    if entry.takes:
        data["takes"] = {n: asdict(t) for n, t in sorted(entry.takes.items())}
    else:
        del data["takes"]
    for name, unset in _UNSET.items():
        if data[name] == unset:
            del data[name]
    return data


def render_lock(lock: Lock) -> str:
    """The lock file's text (pure; stable for equal locks)."""
    segments = {sid: entry_json(entry) for sid, entry in lock.segments.items()}
    body: dict[str, Any] = {"lock_version": LOCK_VERSION, "segments": segments}
    if lock.keyframes:
        body["keyframes"] = {k: entry_json(entry) for k, entry in lock.keyframes.items()}
    import yaml

    text = yaml.dump(body, Dumper=_dumper(), sort_keys=True, allow_unicode=True, width=100)
    return HEADER + text


def parse_lock(text: str, name: str = LOCK_NAME) -> Lock:
    """Read a lock's text; a damaged lock is a one-line ``ProjectError``."""
    return _parsed(text, name)[0]


def _parsed(text: str, name: str) -> tuple[Lock, Any]:
    """The lock in ``text`` and the plain data YAML read it as."""
    import yaml

    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
        return _lock_of(data), data
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or " ".join(str(exc).split())
        message = f"unreadable lock ({what}) — fix it, or restore it from version control"
        raise ProjectError([Problem(name, line, "", message)]) from exc


def _lock_of(data: Any) -> Lock:
    if not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION:
        raise ValueError(f"not a version {LOCK_VERSION} lock")
    segments = {str(sid): parse_entry(raw) for sid, raw in (data.get("segments") or {}).items()}
    keyframes = {str(k): parse_entry(raw) for k, raw in (data.get("keyframes") or {}).items()}
    return Lock(segments, keyframes)


def parse_entry(raw: Mapping[str, Any]) -> LockEntry:
    data = dict(raw)
    takes = {int(n): TakeRecord(**t) for n, t in (data.pop("takes", None) or {}).items()}
    return LockEntry(**data, takes=takes)


def load_lock(path: Path) -> Lock:
    """The lock at ``path``; an empty one when the project has none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lock()
    return parse_lock(text, path.name)


def load_lock_remembered(path: Path, memo: Path) -> Lock:
    """``load_lock``, remembering what YAML read as JSON in ``memo`` under the digest of the
    lock's bytes: a 100-segment lock takes libyaml 11 ms and json under 1 ms. A memo that is
    missing, stale or unreadable is only a miss (best effort, like the manifest's)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Lock()
    key = hashlib.sha256(f"{__version__}\0{LOCK_VERSION}\0".encode() + data).hexdigest()
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError, AttributeError):
        remembered = json.loads(memo.read_bytes())
        if remembered["key"] == key:
            return _lock_of(remembered["lock"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = "unreadable lock (not UTF-8 text) — fix it, or restore it from version control"
        raise ProjectError([Problem(path.name, None, "", message)]) from exc
    lock, plain = _parsed(text, path.name)
    with contextlib.suppress(OSError, TypeError, ValueError):
        write_text_atomic(memo, json.dumps({"key": key, "lock": plain}, ensure_ascii=False))
    return lock


@dataclass(frozen=True)
class Pending:
    """What generate steps wrote since the lock was last merged."""

    entries: Mapping[str, LockEntry] = field(default_factory=dict)
    spends: Mapping[str, float] = field(default_factory=dict)
    takes: Mapping[str, int] = field(default_factory=dict)
    """Paid takes per name (one per spend file)."""
    files: tuple[Path, ...] = ()


def read_pending(directory: Path) -> Pending:
    """The pending entries and spends in ``directory`` (unreadable files are skipped: each
    is written atomically, so one that does not parse is not ours)."""
    entries: dict[str, LockEntry] = {}
    spends: dict[str, float] = {}
    takes: dict[str, int] = {}
    files = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        if path.name.startswith("."):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            sid = str(data["segment"])
            if data["kind"] == "entry":
                entries[sid] = parse_entry(data["entry"])
            else:
                spends[sid] = round(spends.get(sid, 0.0) + float(data["amount"]), 6)
                takes[sid] = takes.get(sid, 0) + int(data.get("takes", 0))
        except (OSError, ValueError, TypeError, KeyError):
            continue
        files.append(path)
    return Pending(entries, spends, takes, tuple(files))


def apply_pending(lock: Lock, pending: Pending) -> Lock:
    """The lock as it will be once ``pending`` is merged (pure)."""
    for sid, entry in pending.entries.items():
        lock = lock.with_entry(sid, entry)
    for sid, amount in pending.spends.items():
        lock = lock.spending(sid, amount, pending.takes.get(sid, 0))
    return lock


def write_pending_entry(directory: Path, name: str, entry: LockEntry) -> None:
    """A segment's (or keyframe's) new entry, named by its id (or label)."""
    data = {"kind": "entry", "segment": name, "entry": entry_json(entry)}
    write_text_atomic(directory / f"{file_stem(name)}.entry.json", json.dumps(data) + "\n")


def write_pending_spend(directory: Path, name: str, amount: float, takes: int = 1) -> None:
    """Record a paid take's cost (and that one more take was paid for) at once, so a later
    failure does not lose it."""
    data = {"kind": "spend", "segment": name, "amount": amount, "takes": takes}
    file = f"{file_stem(name)}.spend-{uuid.uuid4().hex[:12]}.json"
    write_text_atomic(directory / file, json.dumps(data) + "\n")


@contextlib.contextmanager
def exclusive(mutex: Path) -> Iterator[None]:
    """Hold the project's lock mutex (parallel steps and builds take turns)."""
    mutex.parent.mkdir(parents=True, exist_ok=True)
    with open(mutex, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def merge_pending(path: Path, pending_dir: Path, mutex: Path) -> Lock | None:
    """Fold the pending files into the lock file (written only if it changed) and remove
    them; a spend for a segment with no entry yet stays pending. ``None`` (and the lock is
    not even read) when nothing is pending."""
    if not pending_dir.is_dir() or not any(pending_dir.glob("*.json")):
        return None
    with exclusive(mutex):
        lock = load_lock(path)
        pending = read_pending(pending_dir)
        merged = apply_pending(lock, pending)
        if pending.files:
            write_text_if_changed(path, render_lock(merged))
        for file in pending.files:
            name = file.name
            sid = label_of_stem(name.split(".", 1)[0])
            if ".spend-" in name and merged.entry(sid) is None:
                continue
            file.unlink(missing_ok=True)
    return merged
