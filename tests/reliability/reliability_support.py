"""Real builds disturbed on purpose, and the checks every disturbance ends with.

A trial writes a tiny project, runs ``doit`` in it as a user would (a fresh process, a
timeout on everything), disturbs it (SIGKILL, Ctrl-C, a second build at once, a full or
read-only disk, a damaged file) and then checks what matters when generation costs money:

- the bill: the animatic appends one line per accepted submission to
  ``<project>/.cinestitch/animatic/submits.jsonl``, naming the job and the request key;
  ``bill`` counts them per key, and every key must be paid once;
- nothing corrupt: every cache object's bytes match its name, every clip in build/ decodes,
  no temporary file is left behind;
- no traceback in anything a user sees, and every "may have been billed" names a job that
  was truly submitted.

Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DODO, clean_env

TIMEOUT = 120.0
"""The longest any one build of these tiny projects may take (they take a few seconds)."""
TRACEBACK = "Traceback (most recent call last)"
BILLED = "may have been billed"
JOB_ID = re.compile(r"anim-[0-9a-f]{12}")
PRICE = 0.5
"""USD per generated second in every trial project (a rehearsal price for the animatic)."""
LONG_RUN = 20
"""From this many trials on (``--trials N``), the full disk is tried at 8 sizes, not 2."""

MANIFEST = """\
schema_version: 1
title: Trial
output: {{path: build/trial.mp4, size: 64x36, fps: 12}}
provider: {{name: animatic, price_per_second: {price}, options: {{delay: {delay}}}}}
bible: {{tag: "{tag}"}}
defaults: {{seconds: 1, transition: {{type: cut}}}}
segments:
  - id: s1
    reference: none
    prompt: "Shot one {{{{ tag }}}}: a red fox runs across a field."
    transition: {{type: crossfade, seconds: 0.25}}
  - id: s2
    prompt: "Shot two {{{{ tag }}}}: the fox leaps over a fence."
  - id: s3
    reference: {s3_reference}
    prompt: "Shot three {{{{ tag }}}}: the empty field at dusk."
"""
INDEPENDENT = ("s1", "s3")
"""Segments that start from no earlier frame: their keys are known before anything runs."""


def manifest(
    *, delay: float = 0.0, tag: str = "t0", image: bool = False, chain: bool = True
) -> str:
    """Three one-second segments at 64x36: s1 → s2 chained (a crossfade between them), s3
    independent (from ``assets/hero.png`` when ``image``); only s1 and s3 without ``chain``.
    Every job waits ``delay`` seconds at the provider; ``tag`` changes every prompt."""
    reference = "assets/hero.png" if image else "none"
    text = MANIFEST.format(price=PRICE, delay=delay, tag=tag, s3_reference=reference)
    if not chain:
        text = re.sub(r"  - id: s2\n(    .*\n)+", "", text)
    return text


def write_project(root: Path, text: str | None = None, *, image: bool = False) -> Path:
    """A project directory holding ``text`` (default: ``manifest()``) and a dodo.py."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cinestitch.yaml").write_text(text if text is not None else manifest(image=image))
    (root / "dodo.py").write_text(PROJECT_DODO)
    if image or "assets/hero.png" in (root / "cinestitch.yaml").read_text():
        write_image(root / "assets" / "hero.png")
    return root


def write_image(path: Path) -> None:
    """A small striped PNG (a reference image whose pixels the request key covers)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", (64, 36), (200, 80, 40))
    for x in range(0, 64, 8):
        for y in range(36):
            img.putpixel((x, y), (20, 160, 220))
    img.save(path)


def copy_of(built: Path, tmp_path: Path) -> Path:
    """A copy of a built project (its cache included) to disturb."""
    root = tmp_path / "p"
    shutil.copytree(built, root, symlinks=True)
    return root


def retag(root: Path, tag: str) -> None:
    """Change every prompt of the project (so every request key is new)."""
    path = root / "cinestitch.yaml"
    path.write_text(
        re.sub(r'bible: \{tag: "[^"]*"\}', f'bible: {{tag: "{tag}"}}', path.read_text())
    )


@dataclass(frozen=True)
class Scale:
    """How many times each reliability check runs."""

    trials: int
    """SIGKILL trials."""

    @property
    def rounds(self) -> int:
        """Rounds of two builds at once (of each kind)."""
        return max(2, self.trials // 2)

    @property
    def disk_sizes(self) -> int:
        """How many fill levels of a full disk are tried."""
        return 8 if self.trials >= LONG_RUN else 2

    @property
    def long(self) -> bool:
        return self.trials >= LONG_RUN


# ---------------------------------------------------------------------------- running builds


def command(
    args: Sequence[str], *, umask: int | None = None, prefix: Sequence[str] = ()
) -> list[str]:
    """``python -m doit args``, under ``umask`` when given, after ``prefix`` (``as_user``)."""
    cmd = [sys.executable, "-m", "doit", *args]
    if umask is not None:
        cmd = ["/bin/sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", *cmd]
    return [*prefix, *cmd]


def as_user(user: str, staging: Path) -> list[str]:
    """A command prefix that runs the rest as ``user`` (its own uid, group and groups).

    Where this interpreter lives under a directory other accounts cannot search (a pyenv
    under a private ``/root``), the command runs in a private mount namespace in which that
    directory is a world-searchable tmpfs holding only the interpreter's tree (bound through
    ``staging``, an empty directory); nothing changes outside the namespace.
    """
    import pwd

    gid = pwd.getpwnam(user).pw_gid
    become = ["setpriv", f"--reuid={user}", f"--regid={gid}", "--init-groups"]
    real = Path(os.path.realpath(sys.executable))
    blocked = next((p for p in reversed(real.parents) if not os.stat(p).st_mode & 0o001), None)
    if blocked is None:
        return become
    inner = real.relative_to(blocked).parts[0]
    script = (
        'set -e; mount --bind "$1/$2" "$3"; mount -t tmpfs -o mode=0755,size=1m tmpfs "$1"; '
        'mkdir "$1/$2"; mount --bind "$3" "$1/$2"; shift 3; exec "$@"'
    )
    return [
        "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script,
        "sh", str(blocked), inner, str(staging), *become,
    ]  # fmt: skip


@dataclass(frozen=True)
class Done:
    """A finished build: its exit status and everything it printed (stdout, then stderr)."""

    args: tuple[str, ...]
    returncode: int
    output: str

    def describe(self) -> str:
        return f"doit {' '.join(self.args)} exited {self.returncode}:\n{self.output}"


def doit(
    root: Path,
    *args: str,
    env: dict[str, str] | None = None,
    umask: int | None = None,
    prefix: Sequence[str] = (),
    timeout: float = TIMEOUT,
) -> Done:
    """Run doit in ``root`` in a fresh process and wait for it (at most ``timeout``)."""
    try:
        done = subprocess.run(
            command(args, umask=umask, prefix=prefix),
            cwd=root,
            env=env if env is not None else clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"doit {' '.join(args)} in {root} took over {timeout:g} s") from exc
    return Done(tuple(args), done.returncode, done.stdout + done.stderr)


class Running:
    """A build started in the background, in its own process group (so a kill reaches
    doit's worker processes, as a terminal's would, but not the animatic's detached jobs)."""

    def __init__(
        self,
        root: Path,
        *args: str,
        log: Path,
        env: dict[str, str] | None = None,
        umask: int | None = None,
        prefix: Sequence[str] = (),
    ) -> None:
        self.root, self.args, self.log = root, tuple(args), log
        self.started = time.monotonic()
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                command(args, umask=umask, prefix=prefix),
                cwd=root,
                env=env if env is not None else clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def running(self) -> bool:
        return self.proc.poll() is None

    def finish(self, timeout: float = TIMEOUT) -> Done:
        """Wait for the build to end; a build that does not is killed and fails the test."""
        try:
            self.proc.wait(timeout=max(0.0, timeout - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired as exc:
            self.signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            raise AssertionError(
                f"doit {' '.join(self.args)} in {self.root} did not end within {timeout:g} s:\n"
                + self.output()
            ) from exc
        return Done(self.args, self.proc.returncode, self.output())

    def kill(self) -> Done:
        """SIGKILL doit and its worker processes at once, as a crash or `kill -9` would."""
        self.signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        return Done(self.args, self.proc.returncode, self.output())

    def output(self) -> str:
        return self.log.read_bytes().decode("utf-8", errors="replace")


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


# ---------------------------------------------------------------------------- the bill


def provider_dir(root: Path) -> Path:
    return root / ".cinestitch" / "animatic"


def submissions(root: Path) -> list[tuple[str, str]]:
    """(job id, request key) of every submission the project's animatic accepted.

    Read from the raw text, one JSON object per ``{"job_id"`` so that a line cut short (a
    full disk) and glued to the next one loses only itself, never the next submission.
    """
    try:
        raw = (provider_dir(root) / "submits.jsonl").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    found = []
    for chunk in raw.split('{"job_id"')[1:]:
        text = '{"job_id"' + chunk.split("\n", 1)[0]
        try:
            entry = json.loads(text)
        except ValueError:
            continue  # a line cut short: the animatic refused that submission
        found.append((str(entry["job_id"]), str(entry["key"])))
    return found


def bill(*roots: Path) -> Counter[str]:
    """Submissions per request key, over the projects' animatic work directories."""
    return Counter(key for root in roots for _, key in submissions(root))


def billed(*roots: Path) -> Counter[str]:
    """Like ``bill``, without the jobs the provider failed (a failed job is not paid for, and
    submitting its request again is no second payment)."""
    counts: Counter[str] = Counter()
    for root in roots:
        for job_id, key in submissions(root):
            if not job_failed(root, job_id):
                counts[key] += 1
    return counts


def job_failed(root: Path, job_id: str) -> bool:
    """The animatic failed the job: its status says so, or its worker died unfinished."""
    job_dir = provider_dir(root) / "jobs" / job_id
    try:
        state = json.loads((job_dir / "status.json").read_text(encoding="utf-8"))["state"]
    except (OSError, ValueError, KeyError, TypeError):
        state = None
    if state in ("failed", "cancelled"):
        return True
    if state == "succeeded":
        return False
    try:
        data = json.loads((job_dir / "worker.pid").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return not _alive(int(data["pid"]), data.get("start"))


def submitted_jobs(*roots: Path) -> set[str]:
    return {job for root in roots for job, _ in submissions(root)}


def overpaid(counts: Counter[str]) -> dict[str, int]:
    """Keys paid more than once (short keys, for messages)."""
    return {key[:12]: n for key, n in counts.items() if n > 1}


def lock_keys(root: Path) -> dict[str, str]:
    """The request key the lock records for each segment (and ``<id> take <n>`` per take)."""
    from cinestitch.lock import load_lock

    keys = {}
    for sid, entry in load_lock(root / "cinestitch.lock").segments.items():
        keys[sid] = entry.key
        for n, take in entry.takes.items():
            keys[f"{sid} take {n}"] = take.key
    return keys


def planned_keys(root: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The request key of each segment whose reference is no earlier segment's frame, made
    with the same functions the build uses, before anything is built."""
    from cinestitch.keys import take_keys
    from cinestitch.manifest import load_project
    from cinestitch.media import pixel_digest
    from cinestitch.plan import plan_build

    plan = plan_build(load_project(root))
    keys = {}
    for step in plan.steps:
        if step.reference_segment is not None:
            continue
        reference = pixel_digest(step.reference) if step.reference is not None else None
        keys[step.segment.id] = take_keys(step.prompt, step.settings, 1, reference)[1]
    return keys


def cache_of(root: Path) -> Path:
    return root / ".cinestitch" / "cache"


def journal_entries(cache: Path) -> dict[str, dict[str, object] | None]:
    """Journal files by name: their JSON, or ``None`` where a file does not parse."""
    found: dict[str, dict[str, object] | None] = {}
    directory = cache / "jobs"
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        if path.name.startswith("."):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found[path.name] = data if isinstance(data, dict) else None
        except (OSError, ValueError):
            found[path.name] = None
    return found


def journaled_jobs(cache: Path) -> list[str]:
    """Job ids the journal holds (submissions the provider answered)."""
    return [str(d["job_id"]) for d in journal_entries(cache).values() if d and d.get("job_id")]


def cut_short(cache: Path) -> list[str]:
    """Journal entries written before the provider answered (a submission under way)."""
    return [name for name, d in journal_entries(cache).items() if d and not d.get("job_id")]


# ---------------------------------------------------------------------------- ledgers


@dataclass(frozen=True)
class Paid:
    """What one build's ledger says it obtained."""

    paid: tuple[str, ...]
    """Segments (``id`` or ``id take n``) it generated or resumed: what it paid for."""
    reused: tuple[str, ...]
    cost: float


def ledger(root: Path, build_id: str) -> Paid:
    path = root / ".cinestitch" / "builds" / f"{build_id}.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    paid, reused, cost = [], [], 0.0
    for text in lines:
        data = json.loads(text)
        name = data["segment"] + (f" take {data['take']}" if data["take"] != 1 else "")
        if data["source"] in ("generated", "resumed"):
            paid.append(name)
            cost += data["cost_usd"] or 0.0
        elif data["source"] != "failed":
            reused.append(name)
    return Paid(tuple(sorted(paid)), tuple(sorted(reused)), round(cost, 6))


SPENT = re.compile(r"spent: \$(\d+\.\d\d) \((\d+) generated, (\d+) from cache\)")


def spent_line(output: str) -> tuple[float, int, int] | None:
    """The ledger summary a build printed: (dollars, generated, from cache)."""
    found = SPENT.findall(output)
    if not found:
        return None
    dollars, generated, reused = found[-1]
    return float(dollars), int(generated), int(reused)


def lock_spent(root: Path) -> float:
    from cinestitch.lock import load_lock

    return load_lock(root / "cinestitch.lock").spent_usd


# ---------------------------------------------------------------------------- what users see


def tracebacks(done: Done | str) -> list[str]:
    """The last line of each traceback in the output (empty when there is none)."""
    text = done.output if isinstance(done, Done) else done
    chained = ("The above exception", "During handling of the above exception")
    found = []
    for part in text.split(TRACEBACK)[1:]:
        lines = [
            line
            for line in part.splitlines()
            if line.strip() and not line.startswith(" ") and not line.startswith(chained)
        ]
        found.append(lines[-1] if lines else "(a traceback)")
    return found


def refusals(done: Done | str) -> list[str]:
    """Lines that tell the user a job may have been billed."""
    text = done.output if isinstance(done, Done) else done
    return [line.strip() for line in text.splitlines() if BILLED in line]


def false_refusals(outputs: Iterable[Done | str], roots: Sequence[Path]) -> list[str]:
    """Refusals that name no job the provider truly accepted."""
    jobs = submitted_jobs(*roots)
    bad = []
    for done in outputs:
        for line in refusals(done):
            named = JOB_ID.findall(line)
            if not named or not set(named) <= jobs:
                bad.append(line)
    return bad


def failures(done: Done) -> list[str]:
    """The one-line reasons of the steps that failed (``<step> FAILED  <reason>``)."""
    return [line.strip() for line in done.output.splitlines() if " FAILED  " in line]


# ---------------------------------------------------------------------------- nothing corrupt


def damaged_objects(cache: Path) -> list[str]:
    """Cache objects whose bytes do not match their name, and records that do not parse."""
    bad = []
    for path in sorted((cache / "objects").rglob("*.mp4")):
        if path.name.startswith("."):
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != path.stem:
            bad.append(f"{path}: bytes do not match the digest it is named by")
    for path in sorted((cache / "runs").rglob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            bad.append(f"{path}: run record does not parse")
    return bad


def undecodable(path: Path) -> str | None:
    """Why PyAV cannot decode every frame of ``path`` (``None`` when it can)."""
    import av

    try:
        with av.open(str(path)) as container:
            streams = [s for s in container.streams if s.type in ("video", "audio")]
            frames = sum(1 for _ in container.decode(*streams))
    except Exception as exc:  # any failure to decode is the finding
        return f"{type(exc).__name__}: {exc}"
    return None if frames else "no frames"


def undecodable_clips(root: Path) -> list[str]:
    return [
        f"{clip}: {why}"
        for clip in sorted((root / "build").rglob("*.mp4"))
        if not clip.name.startswith(".") and (why := undecodable(clip)) is not None
    ]


def stray_files(*directories: Path) -> list[Path]:
    """Temporary files (``.name.….tmp…``, ``.name.….link…``) and downloads in ``incoming/``
    that no running build owns."""
    found = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in directory.rglob("*"):
            if path.is_dir():
                continue
            temp = path.name.startswith(".") and (".tmp" in path.name or ".link" in path.name)
            if temp or path.parent.name == "incoming":
                found.append(path)
    return sorted(found)


def corruption(root: Path, cache: Path | None = None) -> list[str]:
    """Everything corrupt or left behind in a project (and its cache) after a build."""
    cache = cache if cache is not None else cache_of(root)
    problems = damaged_objects(cache) + undecodable_clips(root)
    problems += [f"{p}: temporary file left behind" for p in stray_files(cache, root / "build")]
    lock = root / "cinestitch.lock"
    if lock.exists():
        from cinestitch.digests import file_digest
        from cinestitch.lock import load_lock

        for sid, entry in load_lock(lock).segments.items():
            clip = root / "build" / "segments" / f"{sid}.mp4"
            if clip.exists() and file_digest(clip) != entry.output:
                problems.append(f"{clip}: differs from the clip the lock records")
    return problems


# ---------------------------------------------------------------------------- provider jobs


def _alive(pid: int, start: object) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    rest = fields[fields.rfind(")") + 2 :].split()
    if rest[0] in ("Z", "X"):
        return False
    return start is None or str(rest[19]) == str(start)


def workers(root: Path) -> dict[str, int]:
    """Job id → pid of the project's animatic workers still running."""
    alive = {}
    for pid_file in (provider_dir(root) / "jobs").glob("*/worker.pid"):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(pid_file.read_text())
            if _alive(int(data["pid"]), data.get("start")):
                alive[pid_file.parent.name] = int(data["pid"])
    return alive


def stop_worker(root: Path, job_id: str) -> None:
    """Kill one job's worker (the provider lost it), by its recorded pid and start time."""
    pid_file = provider_dir(root) / "jobs" / job_id / "worker.pid"
    data = json.loads(pid_file.read_text())
    if _alive(int(data["pid"]), data.get("start")):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(data["pid"]), signal.SIGKILL)
    wait_for(lambda: not _alive(int(data["pid"]), data.get("start")), 10)


def settle(*roots: Path, timeout: float = 60) -> None:
    """Wait until the projects' animatic jobs ended (they are never killed by a test
    unless it says so: a job in flight is the provider's, not the build's)."""
    wait_for(lambda: not any(workers(root) for root in roots), timeout, 0.05)


# ---------------------------------------------------------------------------- file systems


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


def _unmount(path: Path) -> None:
    for _ in range(100):
        if subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@contextlib.contextmanager
def tmpfs(path: Path, size: int) -> Iterator[Path]:
    """A fresh tmpfs of ``size`` bytes at ``path`` (skips the test where mounting is not
    allowed: it needs root or CAP_SYS_ADMIN)."""
    path.mkdir(parents=True, exist_ok=True)
    done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); it needs root")
    try:
        yield path
    finally:
        _unmount(path)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """``path`` made read-only for everyone, root included, by a read-only bind mount over
    itself (skips the test where mounting is not allowed)."""
    done = _mount("--bind", str(path), str(path))
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here ({done.stderr.strip()}); it needs root")
    try:
        again = _mount("-o", "remount,bind,ro", str(path))
        if again.returncode != 0:
            pytest.skip(f"cannot remount read-only here ({again.stderr.strip()})")
        yield path
    finally:
        _unmount(path)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, leave: int) -> Path:
    """Write a filler file into ``path``'s file system until about ``leave`` bytes stay free."""
    filler = path / "filler.bin"
    block = b"\0" * (1 << 16)
    with open(filler, "ab") as out:
        while free_bytes(path) > leave:
            want = min(len(block), free_bytes(path) - leave)
            try:
                out.write(block[:want])
                out.flush()
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return filler
