"""ComfyUI workflows: the project's API-format graph, and which node inputs get what.

A workflow exported with ComfyUI's "Export (API)" is ``{node id: {class_type, inputs}}``.
The manifest names the widget inputs that receive each part of a shot::

    provider:
      name: comfyui
      model: wan2.2-ti2v-5b                # a label for the ledger and the lock
      options:
        workflow: workflows/wan-i2v.json   # inside the project
        inputs:                            # "<node id>.<input name>"
          prompt: "6.text"
          negative_prompt: "7.text"
          image: "52.image"                # a LoadImage node: the uploaded first frame
          end_image: "53.image"
          seed: "3.seed"
          length: "50.length"              # frames
          width: "50.width"
          height: "50.height"
          fps: "57.fps"
        fps: 16                            # the frame rate the workflow renders at
        frames: 4n+1                       # the lengths the model takes (Wan: 4n+1)
        output: "57"                       # the node whose saved video is the clip

The workflow's content defines the output, so its digest joins the options (and the
request key) at load time; ``check_workflow`` makes a named node or input that does not
exist a one-line problem before anything runs. Everything here is pure but ``read_workflow``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinestitch.providers.base import Capabilities
from cinestitch.providers.spec import Shot

NAME = "comfyui"
DEFAULT_MODEL = "workflow"
PUBLIC_BASE_URL = "http://127.0.0.1:8188"
INPUT_ROLES = (
    "prompt",
    "negative_prompt",
    "image",
    "end_image",
    "seed",
    "length",
    "width",
    "height",
    "fps",
)
OPTION_KEYS = ("workflow", "inputs", "fps", "frames", "output", "size_multiple")
DIGEST_KEY = "workflow_sha256"
"""Added to the options at load time (never written by hand): the workflow's digest."""
DEFAULT_FPS = 16
DEFAULT_FRAMES = "4n+1"
DEFAULT_MULTIPLE = 16
MAX_WORKFLOW_BYTES = 4 * 1024 * 1024
FRAMES_RULE = re.compile(r"^\s*(\d*)\s*n\s*(?:\+\s*(\d+))?\s*$")
TARGET = re.compile(r"^(.+)\.([A-Za-z_][A-Za-z0-9_]*)$")


class WorkflowError(ValueError):
    """The workflow file or its mapping is wrong; the message is ``<key>: <problem>``."""


Graph = dict[str, Any]


@dataclass(frozen=True)
class Target:
    node: str
    input: str

    def __str__(self) -> str:
        return f"{self.node}.{self.input}"


def parse_target(text: str) -> Target:
    """``"52.image"`` -> node 52, input ``image`` (node ids may hold ``:`` or ``.``)."""
    match = TARGET.match(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not '<node id>.<input name>'")
    return Target(match.group(1), match.group(2))


def parse_frames_rule(text: str) -> tuple[int, int]:
    """``"4n+1"`` -> (4, 1); ``"n"`` -> (1, 0); ``"8n+1"`` -> (8, 1)."""
    match = FRAMES_RULE.match(text or "")
    if match is None:
        raise ValueError(f"'{text}' is not a frames rule like 4n+1")
    step = int(match.group(1)) if match.group(1) else 1
    return max(1, step), int(match.group(2) or 0)


def frames_for(seconds: float, fps: float, rule: tuple[int, int]) -> int:
    """The length in frames nearest ``seconds`` that the rule allows (at least one step)."""
    step, plus = rule
    n = max(1 if plus == 0 else 0, round((seconds * fps - plus) / step))
    return step * n + plus


def snap(value: int, multiple: int) -> int:
    """``value`` rounded to a multiple of ``multiple`` (at least one multiple)."""
    return max(multiple, multiple * round(value / multiple))


# -- options ---------------------------------------------------------------------------------


def check_options(model: str, options: Mapping[str, Any]) -> list[str]:
    """The options' shape (no files read): ``workflow`` and ``inputs`` are required."""
    problems = [
        f"{key}: unknown option — comfyui accepts: {', '.join(OPTION_KEYS)}"
        + (" (set by cinestitch, never by hand)" if key == DIGEST_KEY else "")
        for key in sorted(set(options) - set(OPTION_KEYS))
    ]
    workflow = options.get("workflow")
    if not (isinstance(workflow, str) and workflow.lower().endswith(".json")):
        problems.append(
            "workflow: name the workflow exported from ComfyUI in API format, a .json file "
            "in the project (e.g. workflows/wan.json)"
        )
    inputs = options.get("inputs")
    if not isinstance(inputs, Mapping) or "prompt" not in inputs:
        problems.append(
            'inputs: map at least prompt to a node input, e.g. inputs: {prompt: "6.text"}'
        )
    else:
        for role, target in inputs.items():
            if role not in INPUT_ROLES:
                problems.append(f"inputs.{role}: unknown — use {', '.join(INPUT_ROLES)}")
                continue
            try:
                parse_target(target if isinstance(target, str) else "")
            except ValueError:
                problems.append(f"inputs.{role}: {target!r} is not '<node id>.<input name>'")
    fps = options.get("fps", DEFAULT_FPS)
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 < fps <= 240:
        problems.append("fps: the frame rate the workflow renders at, a number up to 240")
    try:
        parse_frames_rule(str(options.get("frames", DEFAULT_FRAMES)))
    except ValueError as exc:
        problems.append(f"frames: {exc}")
    if "output" in options and not isinstance(options["output"], str | int):
        problems.append("output: the id of the node that saves the video")
    multiple = options.get("size_multiple", DEFAULT_MULTIPLE)
    if isinstance(multiple, bool) or not isinstance(multiple, int) or not 1 <= multiple <= 256:
        problems.append("size_multiple: a whole number from 1 to 256 (Wan: 16)")
    return problems


def targets(options: Mapping[str, Any]) -> dict[str, Target]:
    inputs = options.get("inputs")
    if not isinstance(inputs, Mapping):
        return {}
    return {role: parse_target(str(t)) for role, t in inputs.items() if role in INPUT_ROLES}


def capabilities(model: str) -> Capabilities:
    """What any workflow may be asked for; what one workflow takes is checked per shot."""
    return Capabilities(
        min_seconds=0.1,
        max_seconds=120.0,
        accepts_reference_image=True,
        accepts_end_image=True,
        seed=True,
    )


def check_shot(model: str, options: Mapping[str, Any], shot: Shot) -> list[str]:
    inputs = options.get("inputs")
    roles = set(inputs) if isinstance(inputs, Mapping) else set()
    problems = []
    if shot.has_reference and "image" not in roles:
        problems.append(
            "reference: the comfyui workflow takes no first frame — map options.inputs.image to "
            "its LoadImage node, or set reference: none"
        )
    if not shot.has_reference and "image" in roles:
        problems.append(
            "reference: the comfyui workflow starts from a first frame (inputs.image) — give "
            "the segment a reference image, or a text-to-video workflow (segments[].provider)"
        )
    if shot.has_end_frame and "end_image" not in roles:
        problems.append(
            "end_frame: the comfyui workflow takes no end frame — map options.inputs.end_image "
            "(e.g. WanFirstLastFrameToVideo's LoadImage for end_image)"
        )
    return problems


# -- the workflow file ---------------------------------------------------------------------


def read_workflow(root: Path, relative: str) -> tuple[Graph, str]:
    """(graph, digest) of the workflow file ``relative`` inside ``root``; ``WorkflowError``
    (``workflow: ...``) when it is missing, outside the project, not JSON or not API format."""
    path = (root / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to(root.resolve()):
        raise WorkflowError(f"workflow: '{relative}' is outside the project — keep it inside")
    try:
        data = path.read_bytes()
    except OSError:
        raise WorkflowError(f"workflow: '{relative}' does not exist in the project") from None
    if len(data) > MAX_WORKFLOW_BYTES:
        raise WorkflowError(f"workflow: '{relative}' is larger than a workflow can be (4 MB)")
    try:
        graph = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WorkflowError(f"workflow: '{relative}' is not JSON ({exc})") from None
    check_api_format(graph, relative)
    return graph, digest(graph)


def digest(graph: Graph) -> str:
    """The SHA-256 of the graph's canonical JSON (formatting does not change it)."""
    text = json.dumps(graph, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_api_format(graph: Any, name: str) -> None:
    if isinstance(graph, Mapping) and "nodes" in graph and "links" in graph:
        raise WorkflowError(
            f"workflow: '{name}' is ComfyUI's UI format — export it with Workflow > Export (API)"
        )
    nodes = graph.items() if isinstance(graph, Mapping) else ()
    if (
        not graph
        or not isinstance(graph, Mapping)
        or not all(
            isinstance(n, Mapping) and "class_type" in n and isinstance(n.get("inputs"), Mapping)
            for _, n in nodes
        )
    ):
        raise WorkflowError(
            f"workflow: '{name}' is not a workflow in API format ({{node id: {{class_type, "
            "inputs}}}}) — export it with Workflow > Export (API)"
        )


def check_workflow(graph: Graph, options: Mapping[str, Any], name: str) -> list[str]:
    """Each mapped input exists in the graph as a widget (not a link); the output node too."""
    problems = []
    for role, target in targets(options).items():
        node = graph.get(target.node)
        if node is None:
            known = ", ".join(sorted(graph, key=_node_order)[:12])
            problems.append(
                f"inputs.{role}: node '{target.node}' is not in {name} (its nodes: {known}) — "
                "export the workflow again or fix the node id"
            )
            continue
        inputs = node["inputs"]
        if target.input not in inputs:
            has = ", ".join(sorted(inputs)) or "none"
            problems.append(
                f"inputs.{role}: node '{target.node}' ({node['class_type']}) has no input "
                f"'{target.input}' (it has: {has})"
            )
        elif isinstance(inputs[target.input], list):
            problems.append(
                f"inputs.{role}: {target} is wired to another node's output — map a widget "
                "input (a value typed in the node)"
            )
    output = options.get("output")
    if output is not None and str(output) not in graph:
        problems.append(f"output: node '{output}' is not in {name}")
    return problems


def _node_order(node_id: str) -> tuple[int, str]:
    return (int(node_id), "") if node_id.isdigit() else (10**9, node_id)


def check_files(root: Path, model: str, options: Mapping[str, Any]) -> list[str]:
    """The workflow file and the mapping, read from the project (for ``validate``)."""
    relative = options.get("workflow")
    if not isinstance(relative, str):
        return []
    try:
        graph, _ = read_workflow(root, relative)
    except WorkflowError as exc:
        return [str(exc)]
    return check_workflow(graph, options, relative)


def file_identity(root: Path, model: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """What the workflow file adds to the request's identity: its digest."""
    relative = options.get("workflow")
    if not isinstance(relative, str):
        return {}
    try:
        _, sha = read_workflow(root, relative)
    except WorkflowError:
        return {}
    return {DIGEST_KEY: sha}


# -- filling a shot in -----------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """The numbers a shot writes into the workflow."""

    frames: int
    fps: float
    width: int
    height: int

    @property
    def seconds(self) -> float:
        return self.frames / self.fps


def shape_of(options: Mapping[str, Any], seconds: float, width: int, height: int) -> Shape:
    fps = float(options.get("fps", DEFAULT_FPS))
    rule = parse_frames_rule(str(options.get("frames", DEFAULT_FRAMES)))
    multiple = int(options.get("size_multiple", DEFAULT_MULTIPLE))
    return Shape(frames_for(seconds, fps, rule), fps, snap(width, multiple), snap(height, multiple))


def fill(graph: Graph, options: Mapping[str, Any], values: Mapping[str, Any]) -> Graph:
    """A copy of ``graph`` with each mapped role's input set to ``values[role]`` (roles
    without a value keep the workflow's own)."""
    filled: Graph = json.loads(json.dumps(graph))
    for role, target in targets(options).items():
        if role in values and values[role] is not None:
            filled[target.node]["inputs"][target.input] = values[role]
    return filled
