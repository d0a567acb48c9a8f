"""Files get the umask's mode, so a cache shared by a team's accounts (a group, a setgid
directory, umask 002) works for each of them without paying again."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_support import (
    Running,
    as_user,
    bill,
    cache_of,
    doit,
    journaled_jobs,
    lock_keys,
    manifest,
    retag,
    settle,
    spent_line,
    tracebacks,
    wait_for,
    write_project,
)

from tests.conftest import clean_env

pytestmark = pytest.mark.reliability

GROUP = "cinestitch-team"
USERS = ("cinestitch-ann", "cinestitch-bob")


def modes(root: Path, *, files: int, dirs: int | None = None) -> list[str]:
    """Files (and directories) under ``root`` whose permission bits are not as expected."""
    wrong = []
    for path in [root, *root.rglob("*")] if root.is_dir() else [root]:
        if path.is_symlink():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            if dirs is not None and mode != dirs:
                wrong.append(f"{path}: directory mode {mode:04o}, not {dirs:04o}")
        elif mode != files:
            wrong.append(f"{path}: mode {mode:04o}, not {files:04o}")
    return wrong


def test_umask_002_makes_every_written_file_group_writable(tmp_path: Path) -> None:
    """Under umask 002 every file a build writes — the final video, the lock, cache objects
    and records, the journal — is 0664, and its directories 0775."""
    root = write_project(tmp_path / "p", manifest(delay=1, chain=False))
    cache = cache_of(root)
    build = Running(root, log=tmp_path / "build.log", umask=0o002)
    assert wait_for(lambda: journaled_jobs(cache), 60), build.kill().output
    journal = [p for p in (cache / "jobs").glob("*.json") if not p.name.startswith(".")]
    journal_modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in journal if p.exists()}
    done = build.finish()
    assert done.returncode == 0, done.describe()
    assert journal_modes and set(journal_modes.values()) == {0o664}, journal_modes
    wrong = modes(root / "build", files=0o664, dirs=0o775)
    wrong += modes(root / ".cinestitch", files=0o664, dirs=0o775)
    wrong += modes(root / "cinestitch.lock", files=0o664)
    assert not wrong, "\n".join(wrong)
    for name in ("objects", "runs", "claims"):
        assert any(p.is_file() for p in (cache / name).rglob("*")), f"nothing in {name}/"
    assert not tracebacks(done), done.output
    settle(root)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def team() -> tuple[str, str]:
    """Two accounts whose primary group is one team group (made once and left in place; the
    test is skipped where accounts cannot be made)."""
    if os.geteuid() != 0 or not shutil.which("useradd") or not shutil.which("setpriv"):
        pytest.skip("a group-shared cache needs root, useradd and setpriv to act as two users")
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        made = _run("groupadd", "-f", GROUP)
        if made.returncode != 0:
            pytest.skip(f"cannot create group {GROUP}: {made.stderr.strip()}")
    for user in USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            made = _run("useradd", "-M", "-N", "-g", GROUP, "-s", "/usr/sbin/nologin", user)
            if made.returncode != 0 and "already exists" not in made.stderr:
                pytest.skip(f"cannot create user {user}: {made.stderr.strip()}")
    return USERS


@pytest.fixture
def shared_place() -> Iterator[Path]:
    """A directory every account can reach (pytest's own temporary root is private)."""
    base = Path(tempfile.mkdtemp(prefix="cinestitch-shared-", dir="/tmp"))
    base.chmod(0o755)
    (base / "staging").mkdir()
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_group_shared_cache_works_for_two_users(team: tuple[str, str], shared_place: Path) -> None:
    """Two accounts of one group build the same project into a setgid, group-writable cache
    under umask 002: whoever builds second takes every clip from the cache (zero extra
    submissions), later builds by either account succeed, and the cache stays shared."""
    gid = grp.getgrnam(GROUP).gr_gid
    cache = shared_place / "cache"
    cache.mkdir()
    os.chown(cache, 0, gid)
    cache.chmod(0o2775)
    roots = {}
    for user in team:
        home = shared_place / user
        roots[user] = write_project(home / "film", manifest())
        for path in [home, *home.rglob("*")]:
            os.chown(path, pwd.getpwnam(user).pw_uid, gid)
    env = {
        user: clean_env(CINESTITCH_CACHE=str(cache), HOME=str(roots[user].parent)) for user in team
    }
    ann, bob = team

    def build(user: str) -> str:
        prefix = as_user(user, shared_place / "staging")
        done = doit(roots[user], env=env[user], umask=0o002, prefix=prefix)
        assert done.returncode == 0, f"as {user}: {done.describe()}"
        assert not tracebacks(done), f"as {user}: {done.output}"
        return done.output

    build(ann)
    assert sum(bill(roots[ann]).values()) == 3
    second = build(bob)
    assert bill(roots[bob]) == {}, second
    assert spent_line(second) == (0.0, 0, 3), second
    keys = set(lock_keys(roots[ann]).values()) | set(lock_keys(roots[bob]).values())
    for user in (bob, ann):  # the other one pays this time
        retag(roots[user], "second cut")
    build(bob)
    again = build(ann)
    assert spent_line(again) == (0.0, 0, 3), again
    counts = bill(roots[ann], roots[bob])
    keys |= set(lock_keys(roots[ann]).values()) | set(lock_keys(roots[bob]).values())
    assert len(keys) == 6 and {counts[key] for key in keys} == {1}, counts
    assert sum(counts.values()) == 6, counts
    wrong = modes(cache, files=0o664, dirs=0o2775)
    wrong += [f"{p}: group {p.stat().st_gid}" for p in cache.rglob("*") if p.stat().st_gid != gid]
    assert not wrong, "\n".join(wrong)
    settle(*roots.values())
