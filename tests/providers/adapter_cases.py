"""The fal, Runway and ComfyUI adapters as contract-suite cases: their fake servers, a valid
request, one the server refuses, and where their videos are downloaded from.

Imported by ``adapter_support`` (pytest puts this directory on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fake_comfyui import INPUTS, WORKFLOW, FakeComfyUI
from fake_fal import FakeFal
from fake_http import FakeServer
from fake_runway import FakeRunway
from fake_veo import StorageServer

from cinestitch.providers.base import GenerationRequest, JobHandle, Transport

FAL_MODELS = {
    "wan": "fal-ai/wan/v2.7/image-to-video",
    "kling": "fal-ai/kling-video/v4/image-to-video",
    "ltx": "fal-ai/ltx-2.3/image-to-video",
}
NEW_CASES = ("fal:wan", "fal:kling", "fal:ltx", "runway", "comfyui")
PROMPT = "a red kite over dunes"
POLL = 0.02
WORKFLOW_PATH = "workflows/wan.json"


@dataclass
class Opened:
    """One adapter's started fake server(s), and what the contract suite asks of them."""

    server: Any
    """The protocol's fake (``FakeFal``, ``FakeRunway``, ``FakeComfyUI``, …)."""
    download_server: FakeServer
    download_route: str
    provider_name: str
    transport: Transport
    request: GenerationRequest
    invalid: GenerationRequest
    """A request the server refuses, with ``invalid_status``."""
    invalid_status: int
    has_policy: bool = True
    """Whether the provider can reject content (a local ComfyUI cannot)."""
    unknown_handle: JobHandle | None = None
    """A handle of a job the server never heard of (``None``: a bare id ``nope``)."""
    not_found_words: str = "HTTP 404"
    """What the error for such a job says."""


def comfyui_options(**changes: Any) -> dict[str, Any]:
    """The options that map the test workflow's nodes (``workflows/wan.json`` in the project)."""
    return {"workflow": WORKFLOW_PATH, "inputs": dict(INPUTS), "fps": 16, "frames": "4n+1",
            **changes}  # fmt: skip


TEXT_WORKFLOW_PATH = "workflows/wan_t2v.json"
TEXT_INPUTS = {k: v for k, v in INPUTS.items() if k != "image"}


def comfyui_text_options() -> dict[str, Any]:
    """The options of the text-to-video test workflow (for shots without a first frame)."""
    return {"workflow": TEXT_WORKFLOW_PATH, "inputs": dict(TEXT_INPUTS)}


def install_workflow(project_root: Path) -> Path:
    """Copy the test workflows into a project, where ``comfyui_options`` (image to video) and
    ``comfyui_text_options`` (text to video) name them."""
    dest = project_root / WORKFLOW_PATH
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(WORKFLOW, dest)
    shutil.copy(WORKFLOW.with_name("wan_t2v.json"), project_root / TEXT_WORKFLOW_PATH)
    return dest


def open_new_case(
    name: str, stack: contextlib.ExitStack, clips: Path, image: Path, project_root: Path
) -> Opened:
    """Start the fake server(s) of one of ``NEW_CASES``."""
    if name.startswith("fal:"):
        cdn = stack.enter_context(StorageServer(clips))
        fal = stack.enter_context(FakeFal(clips, cdn))
        seconds = 6.0 if name == "fal:ltx" else 4.0
        request = GenerationRequest(
            "fal", FAL_MODELS[name[4:]], PROMPT, seconds, 1280, 720, 24, 0, reference_image=image
        )
        base = f"{fal.url}/fal-ai/wan/requests/nope"
        unknown = JobHandle("fal", "nope", {"status_url": f"{base}/status", "response_url": base})
        return Opened(fal, cdn, "blob", "fal", _transport(fal.url), request,
                      replace(request, seconds=20.0), 422, unknown_handle=unknown)  # fmt: skip
    if name == "runway":
        storage = stack.enter_context(StorageServer(clips))
        runway = stack.enter_context(FakeRunway(clips, storage))
        request = GenerationRequest(
            "runway", "gen4.5", PROMPT, 4.0, 1280, 720, 24, 0, reference_image=image
        )
        return Opened(runway, storage, "blob", "runway", _transport(runway.url), request,
                      replace(request, seconds=12.0), 400)  # fmt: skip
    if name == "comfyui":
        install_workflow(project_root)
        comfy = stack.enter_context(FakeComfyUI(clips))
        request = GenerationRequest(
            "comfyui", "wan2.2-ti2v-5b", PROMPT, 4.0, 1280, 720, 24, 0,
            reference_image=image, options=comfyui_options(),
        )  # fmt: skip
        invalid = replace(request, options=comfyui_options(frames="n"))
        return Opened(comfy, comfy, "view", "comfyui", _transport(comfy.url), request,
                      invalid, 400, has_policy=False,
                      not_found_words="neither queued, running nor in the history")  # fmt: skip
    raise ValueError(f"no case {name}")


def _transport(url: str) -> Transport:
    return Transport(base_url=url, poll_interval=POLL, timeout=2.0)
