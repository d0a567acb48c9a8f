"""A shared cache in object storage, end to end against a real S3 protocol server: clones
that pay nothing, damage that is never served, a remote that goes away, uploads that race,
and credentials that never show."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cinestitch.cache.remote import RemoteStore
from cinestitch.cache.store import RunRecord
from tests.conftest import provider_calls
from tests.teams.teams_support import (
    FINAL,
    S3,
    SECRET_KEY,
    VanishingProxy,
    cli,
    clone,
    digest,
    doit,
    lines_with,
    local_clips,
    lock_outputs,
    output,
    plan_json,
    s3_env,
    write_project,
)


def test_a_fresh_clone_builds_from_the_bucket_without_paying(tmp_path: Path, s3: S3) -> None:
    """The first machine's build uploads every clip; a fresh clone with no local cache
    builds the same bytes with zero provider calls (in two processes)."""
    bucket = s3.new_bucket()
    env = s3_env(s3.endpoint, f"s3://{bucket}/reels")
    first = write_project(tmp_path / "first")
    built = doit(first, env=env)
    assert built.returncode == 0, output(built)
    assert provider_calls(first) == 4
    keys = s3.keys(bucket, "reels/")
    assert len([k for k in keys if k.startswith("reels/objects/")]) == 4
    assert len([k for k in keys if k.startswith("reels/runs/")]) == 4

    second = clone(first, tmp_path / "second")
    assert not (second / ".cinestitch").exists()
    plan = plan_json(second, env)
    assert {s["status"] for s in plan["segments"]} == {"from_cache"}
    rebuilt = doit(second, "-n", "2", env=env)
    assert rebuilt.returncode == 0, output(rebuilt)
    assert provider_calls(second) == 0
    assert digest(second / FINAL) == digest(first / FINAL)
    assert lock_outputs(second) == lock_outputs(first)
    assert len(local_clips(second)) == 4
    assert SECRET_KEY not in output(built) + output(rebuilt)


def test_a_file_url_is_a_remote_tier_too(tmp_path: Path, origin: Path) -> None:
    """``file://`` is a remote behind the local cache: uploads land there, a clone restores
    from it, and the local tier stays .cinestitch/cache."""
    shared = tmp_path / "shared"
    env = s3_env("http://127.0.0.1:9", f"file://{shared}")
    first = clone(origin, tmp_path / "first", with_cache=True)
    pushed = cli("cache", "push", cwd=first, env=env)
    assert pushed.returncode == 0, output(pushed)
    assert len(list((shared / "objects").glob("*/*.mp4"))) == 4
    second = clone(origin, tmp_path / "second")
    result = doit(second, env=env)
    assert result.returncode == 0, output(result)
    assert provider_calls(second) == 0
    assert len(local_clips(second)) == 4
    assert digest(second / FINAL) == digest(origin / FINAL)


def test_a_damaged_remote_clip_is_never_served(tmp_path: Path, s3: S3, origin: Path) -> None:
    """A remote clip whose bytes no longer match its name is detected on download, never
    placed in build/, regenerated, and its object repaired in the bucket."""
    bucket = s3.new_bucket()
    s3.seed(bucket, "c", origin / ".cinestitch" / "cache")
    env = s3_env(s3.endpoint, f"s3://{bucket}/c")
    bad = lock_outputs(origin)["c"]
    name = f"c/objects/{bad[:2]}/{bad}.mp4"
    good = s3.read(bucket, name)
    s3.write(bucket, name, good[:-64] + bytes(64))

    verify = cli("cache", "verify", cwd=clone(origin, tmp_path / "check"), env=env)
    assert verify.returncode == 1, output(verify)
    assert f"objects/{bad[:2]}/{bad}.mp4: its bytes do not match its name" in verify.stdout

    project = clone(origin, tmp_path / "clone")
    result = doit(project, env=env)
    assert result.returncode == 0, output(result)
    assert "is damaged — regenerating" in output(result)
    assert provider_calls(project) == 1
    assert digest(project / "build" / "segments" / "c.mp4") == bad
    assert digest(project / FINAL) == digest(origin / FINAL)
    assert s3.read(bucket, name) == good


def test_an_unreachable_remote_is_said_once_and_the_plan_says_why(
    tmp_path: Path, s3: S3, origin: Path
) -> None:
    """With the remote down, a clone that has the clips locally builds from them without
    asking it; one that does not is told once, sees in the plan that the remote could not
    be asked, and only then pays."""
    down = s3_env("http://127.0.0.1:9", "s3://nowhere/reels")
    local = clone(origin, tmp_path / "local", with_cache=True)
    result = doit(local, env=down)
    assert result.returncode == 0, output(result)
    assert provider_calls(local) == 0
    assert "nowhere" not in output(result)

    bare = clone(origin, tmp_path / "bare")
    plan = doit(bare, "plan", env=down)
    assert plan.returncode == 0, output(plan)
    rows = lines_with(plan.stdout, "the remote cache could not be asked (s3://nowhere/reels)")
    assert len(rows) == 4
    frozen = doit(bare, env={**down, "CINESTITCH_FROZEN": "1"})
    assert frozen.returncode == 4, output(frozen)
    assert "   a  the remote cache could not be asked (s3://nowhere/reels); not in cache" in (
        frozen.stderr
    )
    built = doit(bare, env=down)
    assert built.returncode == 0, output(built)
    assert provider_calls(bare) == 4
    notices = lines_with(output(built), "cannot reach it")
    assert len(notices) == 1 and "cache s3://nowhere/reels: cannot reach it" in notices[0]
    assert SECRET_KEY not in output(result) + output(plan) + output(built)


def test_a_remote_lost_mid_build_never_makes_the_build_pay(
    tmp_path: Path, s3: S3, origin: Path
) -> None:
    """The remote answers the plan, then vanishes after the first clip is downloaded: the
    build refuses to pay for the clips the plan took from it, and a rebuild once it is back
    restores them, still without a call."""
    bucket = s3.new_bucket()
    s3.seed(bucket, "p", origin / ".cinestitch" / "cache")
    project = clone(origin, tmp_path / "clone")
    with VanishingProxy(s3.endpoint, "GET", "/objects/") as proxy:
        env = s3_env(proxy.endpoint, f"s3://{bucket}/p")
        result = doit(project, env=env)
    text = output(result)
    assert proxy.gone.is_set()
    assert result.returncode != 0, text
    assert provider_calls(project) == 0
    assert len(lines_with(text, "cannot reach it")) == 1
    assert "could not be reached to restore take 1, which the plan took from it" in text
    assert "nothing was submitted" in text
    assert SECRET_KEY not in text

    again = doit(project, env=s3_env(s3.endpoint, f"s3://{bucket}/p"))
    assert again.returncode == 0, output(again)
    assert provider_calls(project) == 0
    assert digest(project / FINAL) == digest(origin / FINAL)


def test_uploads_lost_mid_build_stay_local_until_pushed(tmp_path: Path, s3: S3) -> None:
    """When the remote vanishes after the first upload the build still finishes (one
    notice); `cache push` uploads the rest later and a clone then pays nothing."""
    bucket = s3.new_bucket()
    project = write_project(tmp_path / "first")
    with VanishingProxy(s3.endpoint, "PUT", "/objects/") as proxy:
        result = doit(project, env=s3_env(proxy.endpoint, f"s3://{bucket}/u"))
    assert result.returncode == 0, output(result)
    assert provider_calls(project) == 4
    notices = lines_with(output(result), "cannot reach it")
    assert len(notices) == 1 and "`cinestitch cache push` uploads it later" in notices[0]
    assert len(s3.keys(bucket, "u/objects/")) == 1

    env = s3_env(s3.endpoint, f"s3://{bucket}/u")
    pushed = cli("cache", "push", cwd=project, env=env)
    assert pushed.returncode == 0, output(pushed)
    assert len(lines_with(pushed.stdout, "uploaded (")) == 3
    assert len(lines_with(pushed.stdout, "uploaded its run record (the clip was there)")) == 1
    assert "pushed 4, 0 already there, 0 missing" in pushed.stdout
    assert len(s3.keys(bucket, "u/objects/")) == 4
    second = clone(project, tmp_path / "second")
    rebuilt = doit(second, env=env)
    assert rebuilt.returncode == 0, output(rebuilt)
    assert provider_calls(second) == 0


def test_two_builds_uploading_the_same_clips_at_once(tmp_path: Path, s3: S3) -> None:
    """Two machines building the same project into one bucket at the same time both
    succeed; the bucket holds each clip once, intact, and one record per key."""
    bucket = s3.new_bucket()
    env = s3_env(s3.endpoint, f"s3://{bucket}/race")
    projects = [write_project(tmp_path / name) for name in ("one", "two")]
    builds = [
        subprocess.Popen(
            [sys.executable, "-m", "doit"],
            cwd=p,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for p in projects
    ]
    texts = [b.communicate(timeout=300)[0] for b in builds]
    assert [b.returncode for b in builds] == [0, 0], texts
    objects = s3.keys(bucket, "race/objects/")
    records = s3.keys(bucket, "race/runs/")
    assert len(objects) == 4 and len(records) == 4
    for key in objects:
        assert digest_bytes(s3.read(bucket, key)) == key.rsplit("/", 1)[1].removesuffix(".mp4")
    for key in records:
        record = json.loads(s3.read(bucket, key))
        assert f"race/objects/{record['output'][:2]}/{record['output']}.mp4" in objects
    third = clone(projects[1], tmp_path / "three")
    rebuilt = doit(third, env=env)
    assert rebuilt.returncode == 0, output(rebuilt)
    assert provider_calls(third) == 0


def digest_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_a_run_record_is_never_replaced(s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight writers racing to record different runs for one key: exactly one record
    stands, and every writer is told which; only a record whose clip proved damaged is
    replaced."""
    bucket = s3.new_bucket()
    for name, value in s3_env(s3.endpoint, None).items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    store = RemoteStore(f"s3://{bucket}/rec")
    key = "ab" * 32
    records = [
        RunRecord(key, f"{n:02d}" * 32, "animatic", "sketch", f"job-{n}", None, None, 0.0, "t")
        for n in range(8)
    ]
    barrier = threading.Barrier(len(records))
    kept: list[RunRecord] = []

    def write(record: RunRecord) -> None:
        barrier.wait()
        kept.append(store.put_record(record))

    threads = [threading.Thread(target=write, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = store.record(key)
    assert stored is not None and stored in records
    assert kept == [stored] * len(records)
    other = records[0] if stored != records[0] else records[1]
    assert store.put_record(other) == stored
    assert store.put_record(other, damaged=lambda found: found.output == stored.output) == other
    assert store.record(key) == other


def test_remote_errors_are_one_line_and_never_show_credentials(
    tmp_path: Path, s3: S3, origin: Path
) -> None:
    """No bucket, no credentials, an unreachable endpoint and a URL with a password: each is
    one line naming the URL, and no secret appears anywhere in the output."""
    project = clone(origin, tmp_path / "clone", with_cache=True)
    cases = {
        "no such bucket": s3_env(s3.endpoint, "s3://no-such-bucket/x"),
        "no credentials found": {
            k: v
            for k, v in s3_env(s3.endpoint, f"s3://{s3.new_bucket()}/x").items()
            if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        },
        "cannot reach it": s3_env("http://127.0.0.1:9", "s3://far/x"),
    }
    for expected, env in cases.items():
        result = cli("cache", "status", cwd=project, env=env)
        assert result.returncode == 1, output(result)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"cinestitch: cache {env['CINESTITCH_CACHE']}: {expected}")
        assert SECRET_KEY not in output(result)
    secret_url = f"s3://user:{SECRET_KEY}@no-such-bucket/x"
    leaked = cli("cache", "push", cwd=project, env=s3_env(s3.endpoint, secret_url))
    assert leaked.returncode == 1
    assert SECRET_KEY not in output(leaked)
    assert "cache s3://no-such-bucket/x:" in leaked.stderr
