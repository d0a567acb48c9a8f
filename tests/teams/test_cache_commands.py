"""`cinestitch cache status | push | pull | gc | verify` on a project sharing a bucket."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from tests.teams.teams_support import (
    S3,
    cli,
    clone,
    lines_with,
    lock_outputs,
    output,
    s3_env,
)


def _drop_local(project: Path, output_digest: str) -> None:
    """Remove a clip and the run records naming it from the project's local cache."""
    cache = project / ".cinestitch" / "cache"
    (cache / "objects" / output_digest[:2] / f"{output_digest}.mp4").unlink()
    for record in (cache / "runs").glob("*/*.json"):
        if json.loads(record.read_text())["output"] == output_digest:
            record.unlink()


def _seed_some(s3: S3, bucket: str, prefix: str, origin: Path, ids: tuple[str, ...]) -> None:
    cache = origin / ".cinestitch" / "cache"
    outputs = lock_outputs(origin)
    for sid in ids:
        digest = outputs[sid]
        name = f"objects/{digest[:2]}/{digest}.mp4"
        s3.write(bucket, f"{prefix}/{name}", (cache / name).read_bytes())
        for record in (cache / "runs").glob("*/*.json"):
            if json.loads(record.read_text())["output"] == digest:
                s3.write(bucket, f"{prefix}/{record.relative_to(cache).as_posix()}",
                         record.read_bytes())  # fmt: skip


def test_status_pull_and_push_move_the_locks_clips(tmp_path: Path, s3: S3, origin: Path) -> None:
    """status says where each clip is; pull fetches what only the remote has; push uploads
    what the remote lacks, from the local cache or from build/; each with a progress line."""
    bucket = s3.new_bucket()
    _seed_some(s3, bucket, "m", origin, ("a", "b"))
    project = clone(origin, tmp_path / "clone", with_cache=True)
    outputs = lock_outputs(origin)
    _drop_local(project, outputs["a"])
    _drop_local(project, outputs["d"])
    env = s3_env(s3.endpoint, f"s3://{bucket}/m")

    status = cli("cache", "status", cwd=project, env=env)
    assert status.returncode == 0, output(status)
    where = {line.split()[0]: line.split(None, 3)[3] for line in status.stdout.splitlines()[2:6]}
    assert where == {"a": "remote", "b": "local, remote", "c": "local", "d": "missing"}
    assert "4 clips in the lock: 2 local, 2 remote, 1 missing" in status.stdout
    assert f"remote s3://{bucket}/m" in status.stdout.splitlines()[0]

    pulled = cli("cache", "pull", cwd=project, env=env)
    assert pulled.returncode == 1, output(pulled)
    assert lines_with(pulled.stdout, "pull 1/4  a take 1")[0].endswith("kB)")
    assert "downloaded (" in lines_with(pulled.stdout, "pull 1/4")[0]
    assert "not in the remote" in lines_with(pulled.stdout, "pull 4/4")[0]
    assert "pulled 1, 2 already here, 1 not to be had" in pulled.stdout

    pushed = cli("cache", "push", cwd=project, env=env)
    assert pushed.returncode == 1, output(pushed)
    assert "cannot push" in lines_with(pushed.stdout, "push 4/4")[0]
    assert "uploaded (" in lines_with(pushed.stdout, "push 3/4")[0]
    assert "pushed 1, 2 already there, 1 missing" in pushed.stdout
    segments = project / "build" / "segments"
    segments.mkdir(parents=True)
    shutil.copy2(origin / "build" / "segments" / "d.mp4", segments / "d.mp4")
    pushed = cli("cache", "push", cwd=project, env=env)
    assert pushed.returncode == 0, output(pushed)
    assert "pushed 1, 3 already there, 0 missing" in pushed.stdout
    status = cli("cache", "status", cwd=project, env=env)
    assert "4 clips in the lock: 4 local, 4 remote, 0 missing" in status.stdout


def test_push_needs_a_remote(tmp_path: Path, s3: S3, origin: Path) -> None:
    """With a directory cache, push and pull say how to name a remote."""
    project = clone(origin, tmp_path / "clone", with_cache=True)
    result = cli("cache", "push", cwd=project, env=s3_env(s3.endpoint, None))
    assert result.returncode == 1
    assert "the cache is a local directory — set `cache:`" in result.stderr


def test_gc_drops_only_what_no_lock_references(tmp_path: Path, s3: S3, origin: Path) -> None:
    """gc is a dry run unless told --yes; recent files are spared by the grace period; then
    it drops the unreferenced clip and its record from both tiers and nothing else."""
    bucket = s3.new_bucket()
    s3.seed(bucket, "gc", origin / ".cinestitch" / "cache")
    project = clone(origin, tmp_path / "clone", with_cache=True)
    env = s3_env(s3.endpoint, f"s3://{bucket}/gc")
    extra = "ee" * 32
    junk = {
        f"objects/ee/{extra}.mp4": b"an old clip no lock wants",
        f"runs/cd/{'cd' * 32}.json": json.dumps({"key": "cd" * 32, "output": extra}).encode(),
    }
    cache = project / ".cinestitch" / "cache"
    for name, data in junk.items():
        (cache / name).parent.mkdir(parents=True, exist_ok=True)
        (cache / name).write_bytes(data)
        s3.write(bucket, f"gc/{name}", data)
    lock = str(project / "cinestitch.lock")

    refused = cli("cache", "gc", cwd=project, env=env)
    assert refused.returncode == 2 and "name every lock" in refused.stderr
    recent = cli("cache", "gc", lock, cwd=project, env=env)
    assert recent.returncode == 0, output(recent)
    assert "would drop 0 of 5 clips" in recent.stdout
    dry = cli("cache", "gc", lock, "--grace", "0", cwd=project, env=env)
    assert len(lines_with(dry.stdout, "would drop 1 of 5 clips (25 B), 1 run records")) == 2
    assert "dry run: nothing was deleted" in dry.stdout
    assert all((cache / name).exists() for name in junk)

    done = cli("cache", "gc", lock, "--grace", "0", "--yes", cwd=project, env=env)
    assert done.returncode == 0, output(done)
    assert len(lines_with(done.stdout, "dropped 1 of 5 clips")) == 2
    assert not any((cache / name).exists() for name in junk)
    assert not any(k.endswith(tuple(junk)) for k in s3.keys(bucket, "gc/"))
    assert len(s3.keys(bucket, "gc/objects/")) == 4
    status = cli("cache", "status", cwd=project, env=env)
    assert "4 clips in the lock: 4 local, 4 remote, 0 missing" in status.stdout


def test_verify_reports_damage_and_repair_removes_it(tmp_path: Path, s3: S3, origin: Path) -> None:
    """verify re-hashes every clip in both tiers and exits 1 on damage; --repair removes
    the damaged files, after which verify passes."""
    bucket = s3.new_bucket()
    s3.seed(bucket, "v", origin / ".cinestitch" / "cache")
    project = clone(origin, tmp_path / "clone", with_cache=True)
    env = s3_env(s3.endpoint, f"s3://{bucket}/v")
    bad = lock_outputs(origin)["b"]
    local = project / ".cinestitch" / "cache" / "objects" / bad[:2] / f"{bad}.mp4"
    local.write_bytes(local.read_bytes()[::-1])

    found = cli("cache", "verify", cwd=project, env=env)
    assert found.returncode == 1, output(found)
    damaged = lines_with(found.stdout, "damaged  local .cinestitch/cache")
    assert damaged == [
        f"damaged  local .cinestitch/cache  objects/{bad[:2]}/{bad}.mp4: its bytes do not "
        "match its name"
    ]
    assert "verified local .cinestitch/cache: 4 clips, 4 run records — 1 damaged" in found.stdout
    assert f"verified s3://{bucket}/v: 4 clips, 4 run records — 0 damaged" in found.stdout

    repaired = cli("cache", "verify", "--repair", cwd=project, env=env)
    assert repaired.returncode == 0, output(repaired)
    assert "repaired local .cinestitch/cache: 1 clips restored from the other tier" in (
        repaired.stdout
    )
    assert hashlib.sha256(local.read_bytes()).hexdigest() == bad
    again = cli("cache", "verify", cwd=project, env=env)
    assert again.returncode == 0, output(again)

    alone = clone(origin, tmp_path / "alone", with_cache=True)
    lone = alone / ".cinestitch" / "cache" / "objects" / bad[:2] / f"{bad}.mp4"
    lone.write_bytes(b"not a clip")
    local_only = s3_env(s3.endpoint, None)
    removed = cli("cache", "verify", "--repair", cwd=alone, env=local_only)
    assert removed.returncode == 0, output(removed)
    assert "0 clips restored from the other tier, 2 damaged files removed" in removed.stdout
    assert not lone.exists()
    assert cli("cache", "verify", cwd=alone, env=local_only).returncode == 0
