"""The finishing keys in cinestitch.yaml: parsed into values, and every mistake in them one
line naming the manifest's line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from finishing_support import wav, write_clip

from cinestitch.errors import ProjectError
from cinestitch.manifest import load_project
from cinestitch.media.finish import Caption, Comment, Duck, SoundEffect, Speed, TextStyle
from cinestitch.plan import plan_build
from tests.conftest import ProjectFactory

GOOD = """
    schema_version: 1
    title: Finished
    output: {size: 64x36, fps: 12}
    defaults: {seconds: 2}
    colour: {anchor: chain}
    segments:
      - id: intro
        clip: assets/intro.mp4
        transition: {type: cut, sfx: {file: assets/whoosh.wav, offset: -0.1, volume: 0.8}}
      - id: run
        prompt: "The fox runs."
        speed: {rate: 0.5, start: 0.5, end: 1.5, audio: mute}
        captions:
          - {text: "Kick-off", start: 0.2, end: 1.0, position: top,
             style: {size: 0.1, color: "#ffcc00", box: 0}}
        comments: [{text: "wow", at: 0.5}]
        transition: {type: crossfade, seconds: 0.5, sfx: assets/whoosh.wav}
      - id: slow
        prompt: "The fox jumps."
        speed: 2
        colour: {anchor: none}
    audio: {music: assets/theme.wav, duck: 9, duck_ramp: 0.3}
"""


def assets(root: Path) -> None:
    write_clip(root / "assets" / "intro.mp4", seconds=1.5, fps=12, width=64, height=36)
    wav(root / "assets" / "whoosh.wav", 2000, 0.2)
    wav(root / "assets" / "theme.wav", 220, 2)
    (root / "assets" / "notes.wav").write_text("not a sound\n")


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ProjectError) as info:
        load_project(root)
    return [str(p) for p in info.value.problems]


def test_finishing_keys_are_parsed(make_project: ProjectFactory) -> None:
    """Clip, speed, colour, captions, comments, sound effects and ducking become values; a
    clip segment lasts as long as its file and starts no chain of its own reference."""
    root = make_project(GOOD)
    assets(root)
    project = load_project(root)
    intro, run, slow = project.segments
    assert (intro.clip, intro.seconds, intro.reference.kind) == ("assets/intro.mp4", 1.5, "none")
    assert intro.transition.sfx == SoundEffect(Path("assets/whoosh.wav"), -0.1, 0.8)
    assert run.speed == Speed(0.5, 0.5, 1.5, "mute")
    assert run.captions == (Caption("Kick-off", 0.2, 1.0, "top", TextStyle(0.1, "#ffcc00", 0)),)
    assert run.comments == (Comment("wow", 0.5),)
    assert run.transition.sfx == SoundEffect(Path("assets/whoosh.wav"))
    assert (slow.speed, run.colour_anchor, slow.colour_anchor) == (Speed(2.0), True, False)
    assert project.audio is not None and project.audio.duck == Duck(9.0, -40.0, 0.3)
    plan = plan_build(project)
    assert plan.step("intro").footage == root / "assets" / "intro.mp4"
    assert plan.source("intro") == root / "assets" / "intro.mp4"
    assert plan.step("run").anchor == "intro"
    stitch = plan.stitch
    assert stitch.clips[0].transition_out.sfx == SoundEffect(root / "assets/whoosh.wav", -0.1, 0.8)
    assert (stitch.clips[1].head_trim, stitch.clips[1].tail_trim) == (0.0, 0.0)
    assert stitch.duck == Duck(9.0, -40.0, 0.3)


BAD = """
    schema_version: 1
    title: Mistakes
    output: {size: 64x36, fps: 12}
    defaults: {seconds: 1}
    segments:
      - id: intro
        clip: assets/intro.mp4
        prompt: "A title card."
        seconds: 3
      - id: run
        prompt: "The fox runs."
        speed: 10
        captions:
          - {text: "Late", start: 0.5, end: 0.25}
          - {text: "Long", start: 0.5, end: 3}
        comments: [{text: "wow", at: 2}]
        transition: {type: cut, sfx: assets/notes.wav}
      - id: jump
        prompt: "The fox jumps."
        speed: {rate: 0.5, start: 0.8, end: 0.2}
        captions: [{text: "x", start: 0, end: 1, style: {color: red}}]
        colour: {anchor: always}
"""


def test_every_finishing_mistake_is_one_line(make_project: ProjectFactory) -> None:
    """Each wrong finishing value is reported once, at its own line and key, with a fix."""
    root = make_project(BAD)
    assets(root)
    assert problems_of(root) == [
        "cinestitch.yaml:8 segments[0].prompt: 'intro' plays an existing clip and is not "
        "generated — remove prompt, or remove clip to generate the segment",
        "cinestitch.yaml:9 segments[0].seconds: 'intro' plays an existing clip and is not "
        "generated — its length is the clip's: cut it with trim",
        "cinestitch.yaml:12 segments[1].speed: 10 is above the maximum of 4",
        "cinestitch.yaml:14 segments[1].captions[0].end: end 0.25 s is not after start 0.5 s "
        "— a caption needs time",
        "cinestitch.yaml:15 segments[1].captions[1].end: ends at 3 s, after 'run' ends (1 s) "
        "— end it by then",
        "cinestitch.yaml:16 segments[1].comments[0].at: at 2 s is after 'run' ends (1 s) — "
        "move it earlier",
        "cinestitch.yaml:17 segments[1].transition.sfx: 'assets/notes.wav' is not a readable "
        "audio file (Invalid data found when processing input) — use an audio file (wav, ogg, "
        "mp3, m4a, flac, …)",
        "cinestitch.yaml:20 segments[2].speed.end: end 0.2 s is not after start 0.8 s — swap them",
        'cinestitch.yaml:21 segments[2].captions[0].style.color: "red" does not match '
        "^#[0-9a-fA-F]{6}$",
        'cinestitch.yaml:22 segments[2].colour.anchor: "always" is not one of chain, none',
    ]
