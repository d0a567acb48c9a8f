"""ComfyUI: the workflow's mapped inputs filled in (uploaded frame, prompt, seed, 4n+1
frames, sizes in steps of 16), the request key in extra_data so a lost submission is found
again, the queue and history followed, and a mapping that names no real node or input
refused at load time with one line."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from adapter_cases import comfyui_options, install_workflow
from adapter_support import Case, keys_and_no_waits, open_case, run_job
from fake_comfyui import WORKFLOW, invalid

from cinestitch.errors import GenerationFailedError, ProjectError, ProviderError
from cinestitch.manifest import load_project
from cinestitch.media.probe import probe_clip
from cinestitch.providers import comfyui_workflow as workflows
from cinestitch.providers.base import JobHandle, JobState, LookupResult
from cinestitch.providers.comfyui import (
    KEY_FIELD,
    error_text,
    pick_output,
    queue_ids,
    uploaded_value,
)
from cinestitch.providers.spec import Shot

GRAPH = json.loads(WORKFLOW.read_text())


@pytest.fixture
def case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Case]:
    with keys_and_no_waits(monkeypatch), open_case("comfyui", tmp_path) as c:
        yield c


def test_lengths_follow_the_frames_rule() -> None:
    """4 s at 16 fps is 65 frames under 4n+1; sizes snap to multiples of 16."""
    assert workflows.frames_for(4.0, 16, (4, 1)) == 65
    assert workflows.frames_for(5.0, 24, (8, 1)) == 121
    assert workflows.frames_for(0.01, 16, (4, 1)) == 1
    shape = workflows.shape_of(comfyui_options(), 4.0, 1280, 720)
    assert (shape.frames, shape.width, shape.height) == (65, 1280, 720)
    assert shape.seconds == pytest.approx(65 / 16)
    assert workflows.snap(1080, 16) == 1088


def test_fill_sets_only_the_mapped_inputs() -> None:
    """Each mapped role's input gets its value; everything else stays as exported."""
    values = {"prompt": "a kite", "seed": 5, "length": 65, "image": "up.png"}
    filled = workflows.fill(GRAPH, comfyui_options(), values)
    assert filled["6"]["inputs"]["text"] == "a kite" and filled["3"]["inputs"]["seed"] == 5
    assert filled["50"]["inputs"]["length"] == 65 and filled["52"]["inputs"]["image"] == "up.png"
    assert filled["7"]["inputs"]["text"] == GRAPH["7"]["inputs"]["text"]  # no value given
    assert GRAPH["6"]["inputs"]["text"] == "a fox in the snow"  # the original is untouched


def test_a_mapping_to_missing_nodes_or_inputs_is_named() -> None:
    """A node that is not there, an input it lacks, or a wired input: one line each."""
    options = comfyui_options(inputs={"prompt": "99.text", "seed": "3.noise_seed",
                                      "image": "50.start_image"})  # fmt: skip
    problems = workflows.check_workflow(GRAPH, options, "workflows/wan.json")
    assert problems[0].startswith(
        "inputs.prompt: node '99' is not in workflows/wan.json (its nodes: 3, 6, 7"
    )
    assert problems[1].startswith("inputs.seed: node '3' (KSampler) has no input 'noise_seed'")
    assert problems[2].startswith("inputs.image: 50.start_image is wired to another node")


def test_the_ui_format_is_told_apart(tmp_path: Path) -> None:
    """A workflow saved in the UI format (nodes and links) asks for the API export."""
    (tmp_path / "ui.json").write_text(json.dumps({"nodes": [], "links": []}))
    with pytest.raises(workflows.WorkflowError, match="UI format — export it"):
        workflows.read_workflow(tmp_path, "ui.json")
    with pytest.raises(workflows.WorkflowError, match="outside the project"):
        workflows.read_workflow(tmp_path, "../x.json")


def test_the_digest_ignores_formatting(tmp_path: Path) -> None:
    """Re-saving the workflow with other whitespace keeps its digest; an edit changes it."""
    (tmp_path / "a.json").write_text(json.dumps(GRAPH, indent=4))
    (tmp_path / "b.json").write_text(json.dumps(GRAPH))
    assert (
        workflows.read_workflow(tmp_path, "a.json")[1]
        == workflows.read_workflow(tmp_path, "b.json")[1]
    )
    edited = json.loads(json.dumps(GRAPH))
    edited["3"]["inputs"]["steps"] = 30
    assert workflows.digest(edited) != workflows.digest(GRAPH)


def test_options_and_shots_are_checked_without_a_server() -> None:
    """Unknown options, bad targets and a frame the workflow cannot take are problems."""
    assert workflows.check_options("w", {"workflow": "w.json", "inputs": {"prompt": "6"}}) == [
        "inputs.prompt: '6' is not '<node id>.<input name>'"
    ]
    assert (
        "workflow_sha256: unknown option"
        in workflows.check_options("w", {**comfyui_options(), "workflow_sha256": "x"})[0]
    )
    no_image = comfyui_options(inputs={"prompt": "6.text"})
    assert workflows.check_shot("w", no_image, Shot(4, 1280, 720, has_reference=True))[
        0
    ].startswith("reference: the comfyui workflow takes no first frame")
    assert workflows.check_shot("w", comfyui_options(), Shot(4, 1280, 720))[0].startswith(
        "reference: the comfyui workflow starts from a first frame"
    )


def test_history_outputs_and_errors_are_read() -> None:
    """The saved video is found among videos/gifs/images; an execution error is said."""
    outputs = {
        "9": {"images": [{"filename": "a.png", "subfolder": "", "type": "output"}]},
        "58": {"gifs": [{"filename": "v.mp4", "subfolder": "video", "type": "output"}]},
    }
    assert pick_output(outputs) == {"filename": "v.mp4", "subfolder": "video", "type": "output"}
    assert pick_output({"9": outputs["9"]}) is None
    # a GIF preview beside the saved video is not taken for it, whatever the nodes' order
    preview = {"gifs": [{"filename": "p.gif", "subfolder": "", "type": "temp"}]}
    assert pick_output({**outputs, "12": preview})["filename"] == "v.mp4"  # type: ignore[index]
    assert pick_output({"12": preview}) == {"filename": "p.gif", "subfolder": "", "type": "temp"}
    status = {
        "status_str": "error",
        "messages": [
            [
                "execution_error",
                {"node_id": "3", "node_type": "KSampler", "exception_message": "out of memory"},
            ]
        ],
    }
    assert error_text(status) == (
        "comfyui failed the job (node 3 (KSampler): out of memory) — see the message; not retried"
    )
    assert uploaded_value({"name": "a.png", "subfolder": "in"}, "x") == "in/a.png"
    assert queue_ids({"queue_running": [[1, "p1", {}, {}, []]], "queue_pending": []}) == (
        ["p1"], []
    )  # fmt: skip


def test_a_shot_uploads_its_frame_and_fills_the_workflow(case: Case) -> None:
    """The frame is uploaded first; /prompt gets the filled graph and the key in extra_data."""
    provider = case.provider()
    handle = provider.submit(case.request, "key-1")
    posts = [s for s in case.server.seen if s.method == "POST"]
    assert [s.path for s in posts] == ["/upload/image", "/prompt"]
    body = json.loads(posts[1].body)
    graph = body["prompt"]
    assert graph["52"]["inputs"]["image"] in case.server.uploads
    assert graph["6"]["inputs"]["text"] == case.request.prompt
    assert graph["50"]["inputs"]["length"] == 65 and graph["57"]["inputs"]["fps"] == 16
    assert body["extra_data"][KEY_FIELD] == "key-1"
    status, _ = run_job(provider, handle)
    assert status.state is JobState.SUCCEEDED and status.handle is not None
    assert status.handle.state["file"]["subfolder"] == "video"


def test_a_lost_submission_is_found_by_its_key(case: Case) -> None:
    """A submission whose answer was lost is looked up in the queue; one never made is ABSENT."""
    provider = case.provider()
    handle = provider.submit(case.request, "key-1")
    record = case.work_dir / "submissions" / "key-1.json"
    saved = json.loads(record.read_text())
    record.write_text(json.dumps({k: v for k, v in saved.items() if k != "prompt_id"}))
    found = provider.lookup("key-1")
    assert isinstance(found, JobHandle) and found.job_id == handle.job_id
    record.write_text(json.dumps({"sent_at": 0, "expected_seconds": 4}))
    (case.work_dir / "submissions" / "key-2.json").write_text(record.read_text())
    assert provider.lookup("key-2") is LookupResult.ABSENT
    assert provider.lookup("never-sent") is LookupResult.UNKNOWN


def test_an_execution_error_fails_the_job(case: Case) -> None:
    """A workflow that stops with an error is FAILED with the node and its message."""
    case.server.outcome = "failed"
    provider = case.provider()
    status, _ = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.state is JobState.FAILED and status.message
    assert "node 3 (KSampler): Allocation on device failed" in status.message


def test_an_animated_gif_is_a_clip(case: Case, tmp_path: Path) -> None:
    """VHS_VideoCombine saving image/gif lists it under ``gifs``: it is the clip, fetched
    whole (the stitch conforms it like any clip)."""
    case.server.saves = "gif"
    provider = case.provider()
    status, _ = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.state is JobState.SUCCEEDED and status.handle is not None
    assert status.handle.state["file"]["filename"].endswith(".gif")
    provider.download(status.handle, tmp_path / "clip.mp4")
    info = probe_clip(tmp_path / "clip.mp4")
    assert info.video_codec == "gif" and abs(info.duration - 65 / 16) < 0.2


def test_a_workflow_that_saves_no_video_says_what_it_saved(case: Case) -> None:
    """An animated WebP (which FFmpeg cannot decode) is not taken for a clip: the job fails
    naming the file it saved and the formats that work."""
    case.server.saves = "webp"
    provider = case.provider()
    status, _ = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.state is JobState.FAILED and status.message
    assert "saved no video (it saved ComfyUI_" in status.message and ".webp)" in status.message
    assert "mp4, webm or gif" in status.message


def test_output_nodes_the_server_left_out_are_named(case: Case) -> None:
    """ComfyUI queues a workflow whose other outputs are valid and leaves the invalid ones
    out (HTTP 200 with ``node_errors``): when no video comes of it, the failure names them."""
    case.server.node_errors = invalid("58", "VHS_VideoCombine", "format not in list")["node_errors"]
    provider = case.provider()
    status, _ = run_job(provider, provider.submit(case.request, "key-1"))
    assert status.state is JobState.FAILED and status.message
    assert "the server left out node 58 (VHS_VideoCombine): format not in list" in status.message


def test_a_refused_workflow_says_which_node_and_why(case: Case) -> None:
    """A 400 from /prompt names the node and the reason, not only "Prompt outputs failed
    validation"; nothing was queued."""
    provider = case.provider()
    request = type(case.request)(**{**case.request.__dict__, "seed": "x"})  # type: ignore[arg-type]
    with pytest.raises(GenerationFailedError) as caught:
        provider.submit(request, "key-1")
    said = str(caught.value)
    assert "Prompt outputs failed validation" in said
    assert "node 3 (KSampler): seed must be an integer" in said
    assert caught.value.no_job and case.server.submissions == 0


def test_cancel_drops_or_interrupts(case: Case) -> None:
    """cancel removes a pending prompt from the queue, or interrupts the running one."""
    case.server.outcome = "never"
    provider = case.provider()
    first = provider.submit(case.request, "key-1")
    second = provider.submit(case.request, "key-2")
    provider.cancel(second)
    provider.cancel(first)
    assert case.server.prompts[first.job_id].cancelled
    assert case.server.prompts[second.job_id].cancelled


def test_an_edited_workflow_is_not_submitted_under_the_old_key(case: Case) -> None:
    """A workflow changed since the plan (its digest differs) is refused, proving no job."""
    provider = case.provider()
    stale = {**case.request.options, workflows.DIGEST_KEY: "0" * 64}
    with pytest.raises(GenerationFailedError, match="changed since this build was planned"):
        provider.submit(type(case.request)(**{**case.request.__dict__, "options": stale}), "k")
    assert case.server.submissions == 0


def test_an_unreachable_server_proves_no_job(case: Case) -> None:
    """A refused connection at the upload means nothing was queued."""
    from fake_http import free_port

    provider = case.provider(base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderError, match="cannot connect") as caught:
        provider.submit(case.request, "key-1")
    assert caught.value.no_job


MANIFEST = """
    schema_version: 1
    title: Comfy
    output: {size: 1280x720, fps: 24}
    provider:
      name: comfyui
      model: wan2.2-ti2v-5b
      options:
        workflow: workflows/wan.json
        inputs: {prompt: "6.text", image: "52.image", seed: "3.seed", length: "50.length"}
    defaults: {seconds: 4}
    segments:
      - id: one
        reference: assets/start.png
        prompt: "A kite."
"""


def comfy_project(root: Path, manifest: str = MANIFEST) -> Path:
    from PIL import Image

    (root / "assets").mkdir(parents=True)
    Image.new("RGB", (64, 36), (9, 9, 9)).save(root / "assets" / "start.png")
    install_workflow(root)
    (root / "cinestitch.yaml").write_text(textwrap.dedent(manifest).lstrip())
    return root


def test_the_workflows_digest_joins_the_options_at_load_time(tmp_path: Path) -> None:
    """A loaded project's comfyui options carry the workflow's digest (so it is in the key)."""
    root = comfy_project(tmp_path / "p")
    project = load_project(root)
    digest = workflows.read_workflow(root, "workflows/wan.json")[1]
    assert project.segments[0].provider.options[workflows.DIGEST_KEY] == digest
    assert project.provider.options[workflows.DIGEST_KEY] == digest


def test_a_mapping_to_a_missing_node_is_one_line_at_load_time(tmp_path: Path) -> None:
    """validate names the manifest line and the node that does not exist in the workflow."""
    root = comfy_project(tmp_path / "p", MANIFEST.replace('"52.image"', '"520.image"'))
    with pytest.raises(ProjectError) as caught:
        load_project(root)
    (problem,) = caught.value.problems
    assert str(problem).startswith(
        "cinestitch.yaml:9 provider.options.inputs.image: node '520' is not in workflows/wan.json"
    )
