"""``cinestitch.lock``: what was generated for each segment, committed with the project.

The manifest declares; the lock records (like ``dvc.yaml`` and ``dvc.lock``). Per segment it
keeps the request key of the selected take, the clip's digest, cost, provider, model and job
id, plus the prompt, settings and reference digest that made it, so a review diff reads as
"this prompt changed, so this clip changed". With the lock and the cache a fresh clone builds
the same video with no provider call; the plan reads the lock, not doit's database, to decide
what is current. Keys are sorted and the layout is fixed, so diffs stay small.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from cinestitch.atomic import write_text_if_changed
from cinestitch.errors import Problem, ProjectError

LOCK_NAME = "cinestitch.lock"
LOCK_VERSION = 1
HEADER = (
    "# cinestitch.lock: what was generated for each segment (written by the build).\n"
    "# Commit it with the project: with it and the cache, a clone rebuilds without paying.\n"
)


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


@dataclass(frozen=True)
class Lock:
    segments: Mapping[str, LockEntry] = field(default_factory=dict)
    spent_usd: float = 0.0
    """Everything this project has paid for generation, over all builds."""

    def entry(self, segment_id: str) -> LockEntry | None:
        return self.segments.get(segment_id)

    def with_entry(self, segment_id: str, entry: LockEntry, spent: float = 0.0) -> Lock:
        return replace(
            self,
            segments={**self.segments, segment_id: entry},
            spent_usd=round(self.spent_usd + spent, 6),
        )

    def spending(self, amount: float) -> Lock:
        return replace(self, spent_usd=round(self.spent_usd + amount, 6))

    def keeping(self, segment_ids: set[str]) -> Lock:
        """Without entries for segments the manifest no longer has."""
        kept = {k: v for k, v in self.segments.items() if k in segment_ids}
        return replace(self, segments=kept)


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line text, so prompts read as prose in diffs."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_lock(lock: Lock) -> str:
    """The lock file's text (pure; stable for equal locks)."""
    segments: dict[str, Any] = {}
    for sid, entry in lock.segments.items():
        data = asdict(entry)
        data["settings"] = dict(entry.settings)
        if entry.takes:
            data["takes"] = {n: asdict(t) for n, t in sorted(entry.takes.items())}
        else:
            del data["takes"]
        segments[sid] = data
    body = {"lock_version": LOCK_VERSION, "spent_usd": lock.spent_usd, "segments": segments}
    text = yaml.dump(body, Dumper=_Dumper, sort_keys=True, allow_unicode=True, width=100)
    return HEADER + text


def parse_lock(text: str, name: str = LOCK_NAME) -> Lock:
    """Read a lock's text; a damaged lock is a one-line ``ProjectError``."""
    try:
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION:
            raise ValueError(f"not a version {LOCK_VERSION} lock")
        segments = {str(sid): _entry(raw) for sid, raw in (data.get("segments") or {}).items()}
        return Lock(segments, float(data.get("spent_usd", 0.0)))
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or " ".join(str(exc).split())
        message = f"unreadable lock ({what}) — fix it, or restore it from version control"
        raise ProjectError([Problem(name, line, "", message)]) from exc


def _entry(raw: dict[str, Any]) -> LockEntry:
    takes = {int(n): TakeRecord(**t) for n, t in (raw.pop("takes", None) or {}).items()}
    return LockEntry(**raw, takes=takes)


def load_lock(path: Path) -> Lock:
    """The lock at ``path``; an empty one when the project has none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lock()
    return parse_lock(text, path.name)


@contextlib.contextmanager
def _exclusive(mutex: Path) -> Iterator[None]:
    mutex.parent.mkdir(parents=True, exist_ok=True)
    with open(mutex, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def update_lock(path: Path, mutex: Path, change: Callable[[Lock], Lock]) -> Lock:
    """Read, change and write the lock while holding ``mutex`` (parallel builds take turns)."""
    with _exclusive(mutex):
        lock = change(load_lock(path))
        write_text_if_changed(path, render_lock(lock))
    return lock
