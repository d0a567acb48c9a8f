"""One contract for every cache backend a build may use: a local directory, a file:// remote
and an S3 remote behind a fresh local tier. Each is exercised in-process, as a build would."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cinestitch.cache.store import RunRecord
from cinestitch.cache.tiers import TieredStore, open_cache
from tests.teams.teams_support import S3, s3_env

Machines = Callable[[], TieredStore]
"""Each call: the cache as one more machine sees it (its own local tier, the shared rest)."""


@pytest.fixture(params=["local", "file", "s3"])
def machines(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Machines, Callable[[str, bytes], None]]]:
    """A factory of machines sharing one cache, and a way to damage the shared copy of a
    clip (the bytes another machine would be served)."""
    count = iter(range(100))
    if request.param == "local":
        shared = tmp_path / "cache"

        def damage(digest: str, data: bytes) -> None:
            (shared / "objects" / digest[:2] / f"{digest}.mp4").write_bytes(data)

        yield (lambda: open_cache(shared)), damage
        return
    if request.param == "file":
        remote = tmp_path / "remote"
        url = f"file://{remote}"

        def damage(digest: str, data: bytes) -> None:
            (remote / "objects" / digest[:2] / f"{digest}.mp4").write_bytes(data)

    else:
        s3: S3 = request.getfixturevalue("s3")
        for name, value in s3_env(s3.endpoint, None).items():
            if name.startswith("AWS_"):
                monkeypatch.setenv(name, value)
        bucket = s3.new_bucket()
        url = f"s3://{bucket}/contract"

        def damage(digest: str, data: bytes) -> None:
            s3.write(bucket, f"contract/objects/{digest[:2]}/{digest}.mp4", data)

    yield (lambda: open_cache(tmp_path / f"machine-{next(count)}", url)), damage


def _clip(tmp_path: Path, text: str) -> tuple[Path, str]:
    data = f"a clip: {text}".encode() * 100
    path = tmp_path / f"{text}.mp4"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def _record(key: str) -> RunRecord:
    return RunRecord(key, "", "animatic", "sketch", "job-1", None, None, 0.5, "test", "a", 1)


def test_a_clip_put_on_one_machine_is_restored_on_another(
    tmp_path: Path, machines: tuple[Machines, Callable[[str, bytes], None]]
) -> None:
    """put stores the clip under its digest and the record under its key; another machine
    finds it (lookup), restores the same bytes, and knows it has it."""
    machine, _ = machines
    clip, digest = _clip(tmp_path, "one")
    stored = machine().put(clip, _record("k1" * 32))
    assert stored.output == digest
    other = machine()
    assert other.available("k1" * 32) and other.has("k1" * 32)
    found = other.lookup("k1" * 32)
    assert found is not None and found.output == digest and found.job_id == "job-1"
    dest = tmp_path / "out" / "clip.mp4"
    assert other.restore(found, dest)
    assert dest.read_bytes() == clip.read_bytes()
    assert not other.is_damaged("k1" * 32)
    assert machine().lookup("k2" * 32) is None and not machine().is_damaged("k2" * 32)


def test_a_damaged_shared_clip_is_never_served(
    tmp_path: Path, machines: tuple[Machines, Callable[[str, bytes], None]]
) -> None:
    """Bytes that no longer match their name are a miss and count as damage; nothing is
    restored; putting the good clip again repairs the shared copy."""
    machine, damage = machines
    clip, digest = _clip(tmp_path, "two")
    machine().put(clip, _record("k3" * 32))
    damage(digest, b"not the clip at all")
    other = machine()
    assert other.lookup("k3" * 32) is None
    assert other.is_damaged("k3" * 32)
    dest = tmp_path / "never.mp4"
    record = _record("k3" * 32)
    assert not other.restore(RunRecord.from_json({**record.__dict__, "output": digest}), dest)
    assert not dest.exists()
    other.put(clip, _record("k3" * 32))
    again = machine().lookup("k3" * 32)
    assert again is not None and again.output == digest
