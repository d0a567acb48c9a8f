"""The animatic provider's on-disk job: what the submitter writes and the worker reads back.

One directory per job under ``<work_dir>/jobs/<job_id>/``::

    request.json    the GenerationRequest (its pictures named relative to the job dir)
    reference.<ext> a private copy of the reference image, if any
    end.<ext>       a private copy of the image the clip ends on, if any
    cast-<n>.<ext>  private copies of the reference images of characters, if any
    worker.pid      {"pid": ..., "start": ...}: the worker process and its start time
    worker.log      the worker's stdout and stderr
    status.json     {"state", "progress", "message"}, replaced atomically on every change
    output.mp4      the finished clip (``output.png`` for a still)

Kept free of numpy, Pillow and PyAV so that loading a manifest stays fast.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinestitch.atomic import write_text_atomic
from cinestitch.providers.base import GenerationRequest, JobState

MODEL = "sketch"
PALETTE_NAMES = ("day", "dusk", "night", "dawn")
OPTION_KEYS = ("delay", "fail", "palette")

REQUEST_FILE = "request.json"
STATUS_FILE = "status.json"
PID_FILE = "worker.pid"
LOG_FILE = "worker.log"
OUTPUT_FILE = "output.mp4"
STILL_FILE = "output.png"
"""What a still's job (``kind: image``, a keyframe) makes instead of a clip."""


def check_options(options: Mapping[str, Any]) -> list[str]:
    """Problems with animatic options, one message each, naming the key first."""
    problems = []
    for key in sorted(set(options) - set(OPTION_KEYS)):
        problems.append(f"{key}: unknown option — animatic accepts: {', '.join(OPTION_KEYS)}")
    if "delay" in options and not is_delay(options["delay"]):
        problems.append("delay: must be a number >= 0 (seconds the job waits before rendering)")
    fail = options.get("fail")
    if "fail" in options and not (isinstance(fail, str) and fail.strip()):
        problems.append("fail: must be a non-empty string (the message the job fails with)")
    if "palette" in options and options["palette"] not in PALETTE_NAMES:
        problems.append(f"palette: must be one of {', '.join(PALETTE_NAMES)}")
    return problems


def is_delay(value: object) -> bool:
    """A finite number of seconds >= 0 (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and value >= 0


def output_name(request: GenerationRequest) -> str:
    """The file the job's worker writes: a clip, or a still."""
    return STILL_FILE if request.kind == "image" else OUTPUT_FILE


def dump_request(
    request: GenerationRequest,
    reference_name: str | None,
    end_name: str | None = None,
    cast_names: tuple[str, ...] = (),
) -> str:
    """The request as canonical JSON; its pictures are stored by their names in the job
    dir (what a clip ends on, and the characters', only when there are any)."""
    data: dict[str, Any] = {
        "provider": request.provider,
        "model": request.model,
        "prompt": request.prompt,
        "seconds": request.seconds,
        "width": request.width,
        "height": request.height,
        "fps": request.fps,
        "seed": request.seed,
        "reference_image": reference_name,
        "options": dict(request.options),
        "take": request.take,
    }
    if end_name is not None:
        data["end_image"] = end_name
    if cast_names:
        data["reference_images"] = list(cast_names)
    if request.kind != "video":
        data["kind"] = request.kind
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def load_request(job_dir: Path) -> GenerationRequest:
    """Read request.json back, with its pictures resolved inside ``job_dir``."""
    data = json.loads((job_dir / REQUEST_FILE).read_text(encoding="utf-8"))
    reference = data.pop("reference_image")
    end = data.pop("end_image", None)
    cast = data.pop("reference_images", None) or []
    return GenerationRequest(
        **data,
        reference_image=job_dir / reference if reference is not None else None,
        end_image=job_dir / end if end is not None else None,
        reference_images=tuple(job_dir / name for name in cast),
    )


@dataclass(frozen=True)
class StoredStatus:
    """What status.json holds."""

    state: JobState
    progress: float | None = None
    message: str | None = None


def write_status(
    job_dir: Path, state: JobState, progress: float | None = None, message: str | None = None
) -> None:
    data = {"state": state.value, "progress": progress, "message": message}
    write_text_atomic(job_dir / STATUS_FILE, json.dumps(data, ensure_ascii=False) + "\n")


def read_status(job_dir: Path) -> StoredStatus | None:
    """The last status written, or ``None`` when there is none (or it is unreadable)."""
    try:
        data = json.loads((job_dir / STATUS_FILE).read_text(encoding="utf-8"))
        return StoredStatus(JobState(data["state"]), data.get("progress"), data.get("message"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
