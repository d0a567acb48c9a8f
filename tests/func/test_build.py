"""End to end: doit builds a small chained project; rebuilds do exactly what edits require."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import av
import pytest

from cinestitch.media import probe_clip, psnr, read_frames_rgb
from tests.conftest import provider_calls, run_doit

FPS = 12
MANIFEST = """
    schema_version: 1
    title: Chain
    output: {size: 128x72, fps: 12}
    bible: {hero: a red fox}
    defaults: {seconds: 1, transition: {type: cut}}
    segments:
      - id: s1
        template: s1.j2
        reference: none
      - id: s2
        template: s2.j2
        transition: {type: crossfade, seconds: 0.25}
      - id: s3
        template: s3.j2
      - id: s4
        template: s4.j2
        transition: {type: fade, seconds: 0.5}
      - id: s5
        template: s5.j2
"""
TEMPLATES = {f"s{i}.j2": f"Shot {i}: {{{{ hero }}}} does thing {i}.\n" for i in range(1, 6)}


def generated(result_stdout: str) -> list[str]:
    """Segment ids whose generate task ran (doit prints '.  generate:<id>')."""
    return [
        line.split("generate:")[1].strip()
        for line in result_stdout.splitlines()
        if line.startswith(".  generate:")
    ]


def stitched(result_stdout: str) -> bool:
    return any(line.startswith(".  stitch") for line in result_stdout.splitlines())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clean build of the chained project, shared (read-only) by the checks below."""
    from tests.conftest import PROJECT_DODO

    root = tmp_path_factory.mktemp("built") / "chain"
    (root / "prompts").mkdir(parents=True)
    import textwrap

    (root / "cinestitch.yaml").write_text(textwrap.dedent(MANIFEST).lstrip())
    for name, text in TEMPLATES.items():
        (root / "prompts" / name).write_text(text)
    (root / "dodo.py").write_text(PROJECT_DODO)
    result = run_doit(root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def test_build_writes_final_video(built: Path) -> None:
    """The final MP4 has one H.264 and one AAC stream, the manifest's size and fps, and the
    duration of the segments minus crossfade overlaps, within one frame."""
    out = built / "build" / "chain.mp4"
    with av.open(str(out)) as container:
        media = [s for s in container.streams if s.type in ("audio", "video")]
        kinds = sorted((s.type, s.codec_context.name) for s in media)
        others = [s.type for s in container.streams if s not in media]
    assert kinds == [("audio", "aac"), ("video", "h264")]
    assert others == ["data"]  # the chapter track
    info = probe_clip(out)
    assert (info.width, info.height, info.fps) == (128, 72, FPS)
    expected = 5 * 1.0 - 0.25
    assert abs(info.duration - expected) <= 1 / FPS
    assert info.frame_count == round(expected * FPS)


def test_chained_seams_continue(built: Path) -> None:
    """Each chained segment starts on the previous segment's last frame (PSNR > 35 dB)."""
    clips = built / "build" / "segments"
    for before, after in [("s1", "s2"), ("s2", "s3"), ("s3", "s4"), ("s4", "s5")]:
        (last,) = read_frames_rgb(clips / f"{before}.mp4", [-1])
        (first,) = read_frames_rgb(clips / f"{after}.mp4", [0])
        assert psnr(last, first) > 35, (before, after)


def test_second_build_does_nothing(built: Path) -> None:
    """An unchanged project regenerates and restitches nothing."""
    calls = provider_calls(built)
    result = run_doit(built)
    assert result.returncode == 0
    assert generated(result.stdout) == [] and not stitched(result.stdout)
    assert provider_calls(built) == calls


def copy_of(built: Path, tmp_path: Path) -> Path:
    """A copy of the built project (with doit's state) to edit."""
    root = tmp_path / "chain"
    shutil.copytree(built, root)
    return root


def test_edit_third_template_regenerates_three_to_five(built: Path, tmp_path: Path) -> None:
    """Editing segment 3's template regenerates exactly 3, 4 and 5, then restitches."""
    root = copy_of(built, tmp_path)
    (root / "prompts" / "s3.j2").write_text("Shot 3, reworded: {{ hero }} leaps.\n")
    result = run_doit(root)
    assert result.returncode == 0, result.stderr
    assert generated(result.stdout) == ["s3", "s4", "s5"]
    assert stitched(result.stdout)


def test_edit_transition_only_restitches(built: Path, tmp_path: Path) -> None:
    """Changing a transition regenerates nothing but restitches."""
    root = copy_of(built, tmp_path)
    manifest = root / "cinestitch.yaml"
    manifest.write_text(manifest.read_text().replace("seconds: 0.25", "seconds: 0.5"))
    result = run_doit(root)
    assert result.returncode == 0, result.stderr
    assert generated(result.stdout) == []
    assert stitched(result.stdout)
    assert abs(probe_clip(root / "build" / "chain.mp4").duration - 4.5) <= 1 / FPS


def test_reference_none_stops_the_cascade(built: Path, tmp_path: Path) -> None:
    """A segment with reference: none does not regenerate when an upstream segment changes."""
    root = copy_of(built, tmp_path)
    manifest = root / "cinestitch.yaml"
    text = manifest.read_text().replace(
        "template: s4.j2\n", "template: s4.j2\n    reference: none\n"
    )
    manifest.write_text(text)
    first = run_doit(root)
    assert generated(first.stdout) == ["s4", "s5"]  # s4's reference changed to none
    (root / "prompts" / "s2.j2").write_text("Shot 2, reworded.\n")
    second = run_doit(root)
    assert second.returncode == 0, second.stderr
    assert generated(second.stdout) == ["s2", "s3"]


def test_clean_builds_are_byte_identical(built: Path, tmp_path: Path) -> None:
    """Two clean builds of the same project give the same final video bytes."""
    root = copy_of(built, tmp_path)
    for junk in ("build", ".cinestitch"):
        shutil.rmtree(root / junk)
    for db in root.glob(".doit.db*"):
        db.unlink()
    result = run_doit(root)
    assert result.returncode == 0, result.stderr

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    assert digest(root / "build" / "chain.mp4") == digest(built / "build" / "chain.mp4")


def test_parallel_build_and_doit_commands(built: Path, tmp_path: Path) -> None:
    """`doit -n 2`, `list`, `info`, `forget` and `clean` work as doit users expect."""
    root = copy_of(built, tmp_path)
    listing = run_doit(root, "list", "--all")
    assert "generate:s3" in listing.stdout and "stitch" in listing.stdout
    info = run_doit(root, "info", "generate:s2")
    assert "frames/s1.last.png" in info.stdout
    assert run_doit(root, "clean").returncode == 0
    assert not (root / "build" / "chain.mp4").exists()
    result = run_doit(root, "-n", "2")
    assert result.returncode == 0, result.stderr
    assert sorted(generated(result.stdout)) == ["s1", "s2", "s3", "s4", "s5"]
    assert (root / "build" / "chain.mp4").exists()


def test_prompt_and_settings_files(built: Path) -> None:
    """Rendered prompts and generation settings are written to build/ for review."""
    assert (
        built / "build" / "prompts" / "s2.txt"
    ).read_text() == "Shot 2: a red fox does thing 2.\n"
    settings = json.loads((built / "build" / "settings" / "s2.json").read_text())
    assert settings["size"] == "128x72" and settings["seconds"] == 1
