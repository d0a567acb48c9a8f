"""The generation cache as a build sees it: the local store, with a remote tier behind it.

``TieredStore`` is a ``GenerationStore`` over the local directory (claims, the job journal,
incoming downloads and frame records always live there) that consults a ``RemoteStore``
after it: lookups go local first, then remote, and a clip found remotely is downloaded,
verified and put in the local tier before it is served. A clip put in the cache (generated,
or kept from build/) goes to the local tier and is uploaded once.

When the remote cannot be used (no library, no credentials, no bucket, network), the store
says so once per process, goes on with the local tier alone, and remembers which keys it
could not ask about (``unasked``), so the plan can say why those clips would be generated
and the submit guard can refuse to pay for a clip the plan promised from the cache.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from cinestitch.atomic import file_mode, write_text_atomic
from cinestitch.cache.remote import DamagedObjectError, RemoteCacheError, RemoteStore
from cinestitch.cache.store import GenerationStore, RunRecord

if TYPE_CHECKING:
    from cinestitch.forecast import Forecast

READING = "this build goes on with the local cache alone; the plan counts clips only the remote may hold as generated"  # noqa: E501
WRITING = "the clip stays in the local cache; `cinestitch cache push` uploads it later"

_REMOTES: dict[str, RemoteStore] = {}
_DOWN: dict[str, RemoteCacheError] = {}
"""Remotes that failed in this process, by URL: not asked again until the process ends."""
_TOLD: set[str] = set()
_BAD: set[tuple[str, str]] = set()
"""(URL, digest) of remote objects whose bytes proved not to match their name."""


def remote_store(url: str) -> RemoteStore:
    """One ``RemoteStore`` per URL and process (its connection is reused)."""
    found = _REMOTES.get(url)
    if found is None:
        found = _REMOTES[url] = RemoteStore(url)
    return found


def remote_problem(url: str) -> RemoteCacheError | None:
    """Why the remote at ``url`` is not being used by this process, if it is not."""
    return _DOWN.get(url)


def notice(text: str) -> None:
    """Tell the user, once, on stderr (the build goes on)."""
    sys.stderr.write(f"   {text}\n")
    sys.stderr.flush()


class TieredStore(GenerationStore):
    """The local store at ``root``, with ``remote`` (if any) consulted after it."""

    def __init__(self, root: Path, remote: RemoteStore | None = None) -> None:
        super().__init__(root)
        self.remote = remote
        self.unasked: set[str] = set()
        """Keys the remote could not be asked about (it was unreachable)."""
        self.damaged_remote: set[str] = set()
        """Keys whose remote clip was downloaded and proved damaged (never served)."""
        self._records: dict[str, RunRecord | None] = {}
        self._objects: dict[str, bool] = {}

    @property
    def incoming(self) -> Path:
        return self.root / "incoming"

    def _usable(self) -> RemoteStore | None:
        if self.remote is None or self.remote.url in _DOWN:
            return None
        return self.remote

    def _failed(self, exc: RemoteCacheError, doing: str) -> None:
        assert self.remote is not None
        url = self.remote.url
        _DOWN.setdefault(url, exc)
        if url not in _TOLD:
            _TOLD.add(url)
            notice(f"cache {exc.url}: {exc.what} — {doing}")

    def _remote_record(self, key: str) -> RunRecord | None:
        if key in self._records:
            return self._records[key]
        remote = self._usable()
        if remote is None:
            if self.remote is not None:
                self.unasked.add(key)
            return None
        try:
            record = remote.record(key)
        except RemoteCacheError as exc:
            self._failed(exc, READING)
            self.unasked.add(key)
            return None
        self._records[key] = record
        return record

    def _remote_has(self, key: str) -> bool:
        record = self._remote_record(key)
        remote = self._usable()
        if record is None or remote is None:
            return False
        if record.output not in self._objects:
            try:
                self._objects[record.output] = remote.has_object(record.output)
            except RemoteCacheError as exc:
                self._failed(exc, READING)
                self.unasked.add(key)
                return False
        return self._objects[record.output]

    def _fetch(self, key: str, digest: str) -> Path | None:
        """Download object ``digest`` into the local tier, verified; ``None`` if it is not
        to be had (missing, damaged, or the remote is unreachable)."""
        remote = self._usable()
        if remote is None:
            if self.remote is not None:
                self.unasked.add(key)
            return None
        try:
            part = remote.download(digest, self.incoming)
        except DamagedObjectError:
            self.damaged_remote.add(key)
            _BAD.add((remote.url, digest))
            return None
        except RemoteCacheError as exc:
            self._failed(exc, READING)
            self.unasked.add(key)
            return None
        if part is None:
            return None
        target = self.object_path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(part, file_mode())
        os.replace(part, target)
        return target

    # The methods a build uses.
    def record(self, key: str) -> RunRecord | None:
        local = super().record(key)
        return local if local is not None else self._remote_record(key)

    def has(self, key: str) -> bool:
        return super().has(key) or self._remote_has(key)

    def available(self, key: str) -> bool:
        """A clip for ``key`` can be had without a provider call: an intact local one, or
        a remote one (verified when it is downloaded). For the forecast: no download."""
        return super().lookup(key) is not None or self._remote_has(key)

    def lookup(self, key: str) -> RunRecord | None:
        found = super().lookup(key)
        if found is not None:
            return found
        record = self._remote_record(key)
        if record is None or self._fetch(key, record.output) is None:
            return None
        text = json.dumps(asdict(record), sort_keys=True, indent=2, ensure_ascii=False)
        write_text_atomic(self.record_path(key), text + "\n")
        return record

    def restore(self, record: RunRecord, dest: Path) -> bool:
        if super().restore(record, dest):
            return True
        if self._fetch(record.key, record.output) is None:
            return False
        return super().restore(record, dest)

    def is_damaged(self, key: str) -> bool:
        if key in self.damaged_remote:
            return True
        if super().lookup(key) is not None or self._remote_has(key):
            return False
        return self.record(key) is not None

    def put(self, clip: Path, record: RunRecord) -> RunRecord:
        stored = super().put(clip, record)
        remote = self._usable()
        if remote is not None:
            try:
                url = remote.url
                bad = (url, stored.output) in _BAD
                path = self.object_path(stored.output)
                remote.upload(path, stored, bad, lambda old: (url, old.output) in _BAD)
                _BAD.discard((url, stored.output))
            except RemoteCacheError as exc:
                self._failed(exc, WRITING)
        return stored


def open_cache(local_dir: Path, remote_url: str | None = None) -> TieredStore:
    """The cache a build uses: the local directory, and the remote at ``remote_url``."""
    return TieredStore(local_dir, remote_store(remote_url) if remote_url else None)


def note_unasked(forecast: Forecast, store: GenerationStore) -> Forecast:
    """The forecast with a reason on every segment it generates when the remote could not
    be asked: the remote may hold those clips, and the plan must say why they are paid for."""
    from cinestitch.explain import Reason
    from cinestitch.forecast import Status

    if not isinstance(store, TieredStore) or store.remote is None:
        return forecast
    problem = remote_problem(store.remote.url)
    if problem is None and not store.unasked:
        return forecast
    reason = Reason("remote_unreachable", store.remote.shown)
    segments = tuple(
        replace(s, reasons=(reason, *s.reasons))
        if s.status is Status.GENERATE and reason not in s.reasons
        else s
        for s in forecast.segments
    )
    return replace(forecast, segments=segments)
