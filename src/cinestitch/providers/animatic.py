"""The embedded ``animatic`` provider: a free, offline, deterministic sketch of every shot.

It speaks the same submit -> poll -> download protocol as a paid API. Each job runs in a
detached worker process (``animatic_worker``) that keeps going if the submitting process dies;
state lives in files under ``<work_dir>/jobs/<job_id>/`` (see ``animatic_job``), so a new
process — a restarted build — can poll and download a job submitted by an old one.
Every submit appends a line to ``<work_dir>/submits.jsonl`` naming the job and the request
key: the record of "paid" calls, which ``lookup`` reads to find a job whose submit answer was
lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cinestitch
from cinestitch.atomic import atomic_path, write_text_atomic
from cinestitch.errors import GenerationFailedError, JobNotFoundError, ProviderError
from cinestitch.providers import animatic_job as job
from cinestitch.providers.base import (
    Capabilities,
    GenerationRequest,
    JobHandle,
    JobState,
    JobStatus,
    LookupResult,
)

WORKER_MODULE = "cinestitch.providers.animatic_worker"
MAX_CAST = 4
"""Reference images (characters) a request may carry."""
JOB_ID = re.compile(r"anim-[0-9a-f]{12}")
CAPABILITIES = Capabilities(
    min_seconds=1,
    max_seconds=20,
    max_width=1920,
    max_height=1080,
    accepts_end_image=True,
    max_reference_images=MAX_CAST,
)
"""Clips of 1-20 s that may end on a given frame and show up to ``MAX_CAST`` characters'
pictures; the animatic renders stills (keyframes) too (``kind: image``)."""
LOG_TAIL_LINES = 3
KEY_FILE = "key.txt"
SUBMITS_FILE = "submits.jsonl"

# Start the worker through a shell that exits at once: the worker is then nobody's child
# here, so it never lingers as an unreaped zombie of a long-lived build process (which would
# still look alive) and ``subprocess`` has no Popen to warn about.
_SPAWN = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'


class AnimaticProvider:
    """Renders locally in worker processes; ``work_dir`` holds job state (made on submit)."""

    name = "animatic"

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir).absolute()

    def capabilities(self, model: str) -> Capabilities:
        return CAPABILITIES

    def check_options(self, model: str, options: Mapping[str, Any]) -> list[str]:
        problems = []
        if model != job.MODEL:
            problems.append(f"model: unknown model '{model}' — animatic has: {job.MODEL}")
        return problems + job.check_options(options)

    def submit(self, request: GenerationRequest, idempotency_key: str = "") -> JobHandle:
        """Prepare the job in a staging directory, start its worker, and only then write the
        submission line (the "bill"). A failure before that line removes everything and
        raises with ``no_job``: nothing was submitted, so nothing can have been paid."""
        self._check_request(request)
        job_id = f"anim-{uuid.uuid4().hex[:12]}"
        jobs = self.work_dir / "jobs"
        staging = jobs / f".staging-{os.getpid()}-{job_id}"
        job_dir = jobs / job_id
        pid: int | None = None
        try:
            staging.mkdir(parents=True)
            reference = self._copy_reference(request.reference_image, staging)
            end = self._copy_reference(request.end_image, staging, "end")
            cast = tuple(
                self._copy_reference(path, staging, f"cast-{n}") or ""
                for n, path in enumerate(request.reference_images, 1)
            )
            text = job.dump_request(request, reference, end, cast)
            write_text_atomic(staging / job.REQUEST_FILE, text)
            write_text_atomic(staging / KEY_FILE, idempotency_key + "\n")
            job.write_status(staging, JobState.QUEUED, 0.0, None)
            staging.rename(job_dir)
            pid = self._spawn(job_dir)
            write_text_atomic(
                job_dir / job.PID_FILE, json.dumps({"pid": pid, "start": _started(pid)})
            )
            self._journal(job_id, request, idempotency_key)
        except (OSError, ProviderError) as exc:
            if pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(job_dir, ignore_errors=True)
            if isinstance(exc, GenerationFailedError):
                raise
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ProviderError(f"animatic: cannot start the job — {why}", no_job=True) from exc
        return self._handle(job_id)

    def poll(self, handle: JobHandle) -> JobStatus:
        job_id = handle.job_id
        job_dir = self._job_dir(handle)
        stored = job.read_status(job_dir)
        if not _is_final(stored) and not self._worker_alive(job_dir):
            stored = job.read_status(job_dir)  # it may have finished just now
            if not _is_final(stored):
                return JobStatus(job_id, JobState.FAILED, None, self._death_note(job_dir), 0.0)
        if stored is None:
            return JobStatus(job_id, JobState.QUEUED, 0.0, None, 0.0)
        return JobStatus(job_id, stored.state, stored.progress, stored.message, 0.0)

    def download(self, handle: JobHandle, dest: Path) -> None:
        job_id = handle.job_id
        status = self.poll(handle)
        if status.state is not JobState.SUCCEEDED:
            said = f": {status.message}" if status.message else ""
            raise ProviderError(
                f"animatic job {job_id} is {status.state.value}{said} — nothing to download"
            )
        job_dir = self._job_dir(handle)
        source = job_dir / job.output_name(job.load_request(job_dir))
        if not source.is_file():
            raise ProviderError(f"animatic job {job_id}: its clip is missing — {source}")
        with atomic_path(dest) as tmp:
            shutil.copyfile(source, tmp)

    def cancel(self, handle: JobHandle) -> None:
        job_dir = self._job_dir(handle)
        pid, start = _read_pid(job_dir)
        if pid is not None and _process_alive(pid, start):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        if not _is_final(job.read_status(job_dir)):
            job.write_status(job_dir, JobState.CANCELLED, None, "cancelled")

    def lookup(self, idempotency_key: str) -> JobHandle | LookupResult:
        """The job whose submission line names ``idempotency_key``; the animatic knows every
        job it has, so no line means no job."""
        if not idempotency_key:
            return LookupResult.UNKNOWN
        try:
            lines = (self.work_dir / SUBMITS_FILE).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return LookupResult.ABSENT
        except OSError:
            return LookupResult.UNKNOWN
        for text in reversed(lines):
            try:
                entry = json.loads(text)
            except ValueError:
                continue
            if entry.get("key") == idempotency_key and JOB_ID.fullmatch(str(entry.get("job_id"))):
                return self._handle(str(entry["job_id"]))
        return LookupResult.ABSENT

    def _handle(self, job_id: str) -> JobHandle:
        return JobHandle(self.name, job_id, {"work_dir": str(self.work_dir)})

    def worker_pid(self, handle: JobHandle) -> int | None:
        """The job's worker process id as recorded at submit (for tools and tests)."""
        return _read_pid(self._job_dir(handle))[0]

    def _check_request(self, request: GenerationRequest) -> None:
        problems = self.check_options(request.model, request.options)
        caps = CAPABILITIES
        if request.kind == "image":
            pass  # a still has no length and no rate
        elif not caps.min_seconds <= request.seconds <= caps.max_seconds:
            problems.append(
                f"seconds: {request.seconds:g} is outside animatic's range "
                f"{caps.min_seconds:g} to {caps.max_seconds:g} s"
            )
        w, h = request.width, request.height
        if not (2 <= w <= caps.max_width and 2 <= h <= caps.max_height) or w % 2 or h % 2:
            problems.append(
                f"size: {request.size} must be even and at most {caps.max_width}x{caps.max_height}"
            )
        if request.fps < 1 and request.kind != "image":
            problems.append(f"fps: {request.fps} must be at least 1")
        if request.kind == "image" and request.end_image is not None:
            problems.append("end_image: a still has no end — send it as reference_image")
        if len(request.reference_images) > caps.max_reference_images:
            problems.append(
                f"reference_images: {len(request.reference_images)} given, animatic takes at "
                f"most {caps.max_reference_images}"
            )
        if problems:
            raise GenerationFailedError(
                f"animatic refused the request: {'; '.join(problems)}", no_job=True
            )

    def _copy_reference(
        self, source: Path | None, job_dir: Path, stem: str = "reference"
    ) -> str | None:
        """Copy a picture into the job so later edits to the original cannot leak in."""
        if source is None:
            return None
        name = stem + source.suffix.lower()
        try:
            shutil.copyfile(source, job_dir / name)
        except FileNotFoundError as exc:
            raise GenerationFailedError(
                f"reference image {source}: cannot be read — {exc.strerror or exc}", no_job=True
            ) from exc
        return name

    def _spawn(self, job_dir: Path) -> int:
        package_root = str(Path(cinestitch.__file__).resolve().parent.parent)
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, path]))}
        command = [sys.executable, "-m", WORKER_MODULE, str(job_dir)]
        log = str(job_dir / job.LOG_FILE)
        try:
            done = subprocess.run(
                ["/bin/sh", "-c", _SPAWN, "sh", log, *command],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                env=env,
                start_new_session=True,
                timeout=30,
                check=True,
            )
            return int(done.stdout.strip())
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise ProviderError(
                f"animatic: cannot start a worker for {job_dir.name} — {exc}"
            ) from exc

    def _journal(self, job_id: str, request: GenerationRequest, key: str) -> None:
        entry = {
            "job_id": job_id,
            "key": key,
            "prompt": request.prompt[:80],
            "seconds": request.seconds,
            "size": request.size,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        fd = os.open(self.work_dir / SUBMITS_FILE, flags, 0o666)
        try:
            if os.write(fd, line) != len(line):
                raise OSError(28, "short write to the submission record")
        finally:
            os.close(fd)

    def _job_dir(self, handle: JobHandle) -> Path:
        job_id = handle.job_id
        work_dir = Path(handle.state.get("work_dir") or self.work_dir)
        job_dir = work_dir / "jobs" / job_id
        if not JOB_ID.fullmatch(job_id) or not (job_dir / job.REQUEST_FILE).is_file():
            raise JobNotFoundError(
                f"animatic job {job_id!r}: unknown in {work_dir} — was it submitted with "
                "another work directory?"
            )
        return job_dir

    def _worker_alive(self, job_dir: Path) -> bool:
        pid, start = _read_pid(job_dir)
        return pid is not None and _process_alive(pid, start)

    def _death_note(self, job_dir: Path) -> str:
        pid, _ = _read_pid(job_dir)
        try:
            text = (job_dir / job.LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        said = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
        tail = said[-1:] if said else lines[-LOG_TAIL_LINES:]
        note = f"the worker (pid {pid}) stopped without finishing"
        return f"{note}: {' | '.join(tail)}" if tail else f"{note} (killed?); its log is empty"


def _is_final(stored: job.StoredStatus | None) -> bool:
    return stored is not None and stored.state.is_final


def _read_pid(job_dir: Path) -> tuple[int | None, int | None]:
    try:
        data = json.loads((job_dir / job.PID_FILE).read_text(encoding="utf-8"))
        return int(data["pid"]), data.get("start")
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), where /proc exists."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _started(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    fields = _proc_stat(pid)
    return int(fields[19]) if fields else None


def _process_alive(pid: int, start: int | None) -> bool:
    """Running (not a zombie) and, where known, the same process that was started."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _proc_stat(pid)
    if fields is None:
        return not Path("/proc/self/stat").exists()
    if fields[0] in ("Z", "X"):
        return False
    return start is None or int(fields[19]) == start
