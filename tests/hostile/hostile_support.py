"""Broken and hostile projects, and the one way each must be refused.

A ``Case`` is a small project (manifest, templates, other files, symlinks) and the problems it
must produce, in order: each as the start of its line (``file:line key: message…``). Files
outside the project live in ``outside/`` next to it and hold ``SECRET``, which must never be
printed. ``run_capped`` runs a command as a user would, in a fresh process under a memory and
CPU cap, and measures its peak memory and time.

Imported by the tests in this directory (pytest puts it on ``sys.path``).
"""

from __future__ import annotations

import io
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import wave
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from tests.conftest import PROJECT_DODO, clean_env

SECRET = "SECRET-0f7c-outside-the-project"
"""The text of every file outside the project; no output may contain it."""
MEMORY_CAP = 1 << 30
"""Address space a command may map (a bomb dies here instead of taking the machine)."""
CPU_CAP = 10
MAX_RSS_MB = 200
MAX_SECONDS = 5.0

Content = str | bytes | Callable[[], bytes]

PROBLEM_LINE = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+)(?: (?P<key>[^:]+))?: \S")
SUMMARY = re.compile(r"^\d+ problems?; nothing was generated\.$")

BASE = """\
schema_version: 1
title: Hostile
output: {size: 64x64, fps: 12}
defaults: {seconds: 1, template: shot.j2}
segments:
  - id: one
    vars: {action: runs}
"""
"""A manifest that loads: line 3 output, 4 defaults, 6 the segment, 7 its vars."""
SHOT = "{{ action }}\n"


@dataclass(frozen=True)
class Case:
    name: str
    expect: tuple[str, ...]
    """The start of each problem line, in order (and there are exactly these)."""
    manifest: str | bytes = BASE
    templates: Mapping[str, str] = field(default_factory=lambda: {"shot.j2": SHOT})
    files: Mapping[str, Content] = field(default_factory=dict)
    links: Mapping[str, str] = field(default_factory=dict)
    """Project path -> link target; ``{outside}`` in a target is the outside folder."""
    fifos: tuple[str, ...] = ()
    """Project paths made named pipes (reading one would wait for ever)."""
    capped: bool = False
    """Run in a capped subprocess (a bomb), not in-process."""


def with_base(old: str, new: str) -> str:
    """``BASE`` with one piece replaced (the piece must be there)."""
    assert old in BASE, old
    return BASE.replace(old, new)


def write_outside(tmp: Path) -> Path:
    outside = tmp / "outside"
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.txt").write_text(f"{SECRET}\n")
    (outside / "secret.j2").write_text(f"{SECRET} {{{{ action }}}}\n")
    (outside / "secret.png").write_bytes(png_bytes())
    (outside / "secret.wav").write_bytes(wav_bytes())
    (outside / "cinestitch.yaml").write_text(f"schema_version: 1\ntitle: {SECRET}\n")
    return outside


def write_case(case: Case, tmp: Path) -> Path:
    """The case's project in ``tmp/proj`` (with ``tmp/outside`` beside it)."""
    outside = write_outside(tmp)
    root = tmp / "proj"
    (root / "prompts").mkdir(parents=True)
    (root / "dodo.py").write_text(PROJECT_DODO)
    manifest = case.manifest
    path = root / "cinestitch.yaml"
    if isinstance(manifest, bytes):
        path.write_bytes(manifest)
    else:
        path.write_text(manifest, encoding="utf-8")
    for name, text in case.templates.items():
        (root / "prompts" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "prompts" / name).write_text(text, encoding="utf-8")
    for name, content in case.files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content() if callable(content) else content
        if isinstance(data, str):
            target.write_text(data, encoding="utf-8")
        else:
            target.write_bytes(data)
    for name, to in case.links.items():
        link = root / name
        link.parent.mkdir(parents=True, exist_ok=True)
        _remove(link)
        link.symlink_to(to.format(outside=outside))
    for name in case.fifos:
        _remove(root / name)
        os.mkfifo(root / name)
    return root


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()


def snapshot(root: Path) -> dict[str, int]:
    """Every path under ``root`` (links not followed) and its size."""
    found: dict[str, int] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            found[str(path.relative_to(root))] = path.lstat().st_size
    return found


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str
    seconds: float
    rss_mb: float


def _caps() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_CAP, CPU_CAP))


def run_capped(args: list[str], cwd: Path, timeout: float = 30.0) -> Ran:
    """Run ``python args…`` in ``cwd`` under the caps; its exit code, output, wall time and
    peak memory (from its own rusage, not its siblings')."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env=clean_env(PYTHONUNBUFFERED="1"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            preexec_fn=_caps,
        )
        status, usage = _wait(proc, start + timeout)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Ran(
            code=status,
            out=out.read().decode("utf-8", "replace"),
            err=err.read().decode("utf-8", "replace"),
            seconds=seconds,
            rss_mb=usage.ru_maxrss / 1024,
        )


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int, resource.struct_rusage]:
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(0.01)


def assert_refused(case: Case, code: int, out: str, err: str) -> None:
    """Exit 3; exactly the expected problems, one line each, and the summary; no traceback;
    nothing from outside the project."""
    assert SECRET not in out + err, "a file outside the project leaked into the output"
    assert "Traceback" not in out + err, err
    assert code == 3, f"exit {code}\n{out}\n{err}"
    lines = err.strip().splitlines()
    *problems, summary = lines
    assert SUMMARY.match(summary), err
    assert len(problems) == len(case.expect), err
    for line, expected in zip(problems, case.expect, strict=True):
        assert PROBLEM_LINE.match(line), f"not 'file:line key: message': {line}"
        assert line.startswith(expected), f"{line!r} does not start with {expected!r}"
    noun = "problem" if len(problems) == 1 else "problems"
    assert summary == f"{len(problems)} {noun}; nothing was generated."


def assert_untouched(root: Path, before: dict[str, int]) -> None:
    """Nothing was written in the project: no build/, .cinestitch/ or .doit.db appeared."""
    after = snapshot(root)
    assert after == before, sorted(set(after) ^ set(before))


def png_bytes(size: tuple[int, int] = (8, 8), kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format=kind)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` (a decompression bomb's header) and holds one
    tiny compressed row: opening it reads the size, decoding it would need the memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A real mono 16-bit WAV of a quiet hum."""
    frames = int(seconds * rate)
    samples = b"".join(struct.pack("<h", (i % 40) * 200 - 4000) for i in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples)
    return buffer.getvalue()


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip()
