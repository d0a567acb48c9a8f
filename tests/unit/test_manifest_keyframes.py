"""The continuity keys: keyframes (pictures and generated stills), segments between them,
pinned shots and characters — loaded into values, seen by templates, and checked at load
time with one line per problem naming the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from cinestitch.errors import ProjectError
from cinestitch.manifest import load_project
from cinestitch.manifest.model import Reference
from cinestitch.plan import plan_build
from cinestitch.state import still_prices
from tests.conftest import ProjectFactory

BASE = """
    schema_version: 1
    title: Keys
    output: {size: 128x72, fps: 12}
    provider: {name: animatic}
    defaults: {seconds: 1}
"""
KEYFRAMES = """
    characters:
      - name: hero
        description: a fox in a red scarf
        images: [assets/hero.png]
    keyframes:
      - id: start
        image: assets/start.png
      - id: middle
        prompt: "{{ title }}: the fox at the river, {{ characters[0].description }}"
        characters: [hero]
        seed: 3
      - id: end
        prompt: "the fox asleep"
    segments:
      - id: run
        between: [start, middle]
        characters: [hero]
        prompt: "From {{ keyframes.start.id }} to {{ keyframes.end.prompt }};
          {{ characters[0].name }}"
      - id: rest
        reference: keyframes
        between: [middle, end]
        pin: true
        prompt: "The fox lies down."
"""


def _pictures(root: Path, *names: str) -> None:
    (root / "assets").mkdir(exist_ok=True)
    for name in names:
        Image.new("RGB", (64, 36), (200, 80, 40)).save(root / "assets" / name)


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ProjectError) as info:
        load_project(root)
    return [str(p) for p in info.value.problems]


def test_keyframes_characters_and_between_load(make_project: ProjectFactory) -> None:
    """Keyframes, characters, between (as the reference) and pin load as values; each
    generated keyframe's prompt is rendered, and templates see characters and keyframes."""
    root = make_project(BASE + KEYFRAMES)
    _pictures(root, "hero.png", "start.png")
    project = load_project(root)
    assert [k.id for k in project.keyframes] == ["start", "middle", "end"]
    assert project.keyframes[0].image == "assets/start.png" and not project.keyframes[0].generated
    middle = project.keyframe("middle")
    assert (
        middle.seed == 3 and middle.characters == ("hero",) and middle.provider.name == "animatic"
    )
    assert (
        project.prompts["keyframe:middle"].text
        == "Keys: the fox at the river, a fox in a red scarf"
    )
    run, rest = project.segments
    assert run.reference == Reference("keyframe", "start") and run.end_keyframe == "middle"
    assert rest.reference == Reference("keyframe", "middle") and rest.pin
    assert project.cast_images(run.characters) == ("assets/hero.png",)
    assert (
        project.prompts["run"].text
        == "From start to Keys: the fox at the river, a fox in a red scarf; hero"
    )
    assert "keyframe:start" not in project.prompts  # a picture has no prompt


def test_a_project_without_them_loads_as_before(make_project: ProjectFactory) -> None:
    """A manifest with none of the new keys has no keyframes or characters, and a bible key
    named characters still reaches the templates."""
    root = make_project(
        BASE
        + """
    bible: {characters: two foxes}
    segments:
      - id: one
        reference: none
        prompt: "{{ characters }} play."
    """
    )
    project = load_project(root)
    assert project.keyframes == () and project.characters == ()
    assert project.prompts["one"].text == "two foxes play."
    assert not project.segments[0].pin and project.segments[0].between == ()


def test_unknown_keyframes_and_characters_are_named(make_project: ProjectFactory) -> None:
    """A between naming no keyframe and a character nobody declared are one line each, at
    their keys."""
    root = make_project(
        BASE
        + """
    characters:
      - {name: hero, description: a fox}
    keyframes:
      - {id: a, prompt: "a field"}
    segments:
      - id: one
        between: [a, nowhere]
        characters: [villain]
        prompt: "x"
    """
    )
    assert problems_of(root) == [
        "cinestitch.yaml:13 segments[0].between[1]: 'nowhere' is not a keyframe — keyframes: a",
        "cinestitch.yaml:14 segments[0].characters[0]: 'villain' is not a character — "
        "characters: hero",
    ]


def test_reference_keyframes_runs_between_the_keyframes_in_order(
    make_project: ProjectFactory,
) -> None:
    """Segments that say reference: keyframes without naming stills take the keyframes in
    the order declared, each from one to the next; a chained segment between them and one
    that names its own (between:) take no turn; the last may start on the last keyframe."""
    root = make_project(
        BASE
        + """
    keyframes:
      - {id: a, prompt: "a field"}
      - {id: b, prompt: "a river"}
      - {id: c, prompt: "a hill"}
    segments:
      - {id: one, reference: keyframes, prompt: "to {{ keyframes.end.id }}"}
      - {id: more, prompt: "on"}
      - {id: named, between: [a, c], prompt: "x"}
      - {id: two, reference: keyframes, prompt: "from {{ keyframes.start.id }}"}
      - {id: three, reference: keyframes, prompt: "y"}
    """
    )
    project = load_project(root)
    got = {s.id: (s.between, s.reference) for s in project.segments}
    assert got == {
        "one": (("a", "b"), Reference("keyframe", "a")),
        "more": ((), Reference("segment", "one")),
        "named": (("a", "c"), Reference("keyframe", "a")),
        "two": (("b", "c"), Reference("keyframe", "b")),
        "three": (("c",), Reference("keyframe", "c")),
    }
    assert project.prompts["one"].text == "to b" and project.prompts["two"].text == "from b"


def test_reference_keyframes_past_the_last_keyframe(make_project: ProjectFactory) -> None:
    """A segment left without a keyframe, or a project with none, says what to add."""
    root = make_project(
        BASE
        + """
    keyframes:
      - {id: a, prompt: "a field"}
    segments:
      - {id: one, reference: keyframes, prompt: "x"}
      - {id: two, reference: keyframes, prompt: "x"}
    """
    )
    assert problems_of(root) == [
        "cinestitch.yaml:11 segments[1].reference: reference: keyframes, but the 1 keyframe "
        "declared are taken by the segments before it (each runs from one keyframe to the "
        "next) — add a keyframe, or name this segment's with between: [start, end]"
    ]
    root = make_project(
        BASE
        + """
    segments:
      - {id: one, reference: keyframes, prompt: "x"}
    """,
        name="none",
    )
    assert problems_of(root) == [
        "cinestitch.yaml:8 segments[0].reference: reference: keyframes, but no keyframes are "
        "declared — add keyframes:, or start from previous, none, an earlier segment or a "
        "picture"
    ]


def test_a_keyframe_needs_exactly_one_source(make_project: ProjectFactory) -> None:
    """A keyframe with no picture or prompt, or with two, is refused; a picture takes no
    generation keys."""
    root = make_project(
        BASE
        + """
    keyframes:
      - {id: a}
      - {id: b, image: assets/b.png, prompt: "x"}
      - {id: c, image: assets/c.png, seed: 2}
    segments:
      - {id: one, reference: none, prompt: "x"}
    """
    )
    _pictures(root, "b.png", "c.png")
    assert problems_of(root) == [
        "cinestitch.yaml:8 keyframes[0]: needs exactly one of image, template or prompt; it "
        "has none",
        "cinestitch.yaml:9 keyframes[1]: needs exactly one of image, template or prompt; it "
        "has image and prompt",
        "cinestitch.yaml:10 keyframes[2].seed: 'c' is a picture in the project, never "
        "generated — remove seed",
    ]


def test_a_keyframe_provider_must_make_stills(make_project: ProjectFactory) -> None:
    """A generated keyframe whose provider makes only clips is refused, naming the ones
    that draw stills; keyframe_provider fixes it."""
    manifest = BASE.replace("{name: animatic}", "{name: veo}").replace("128x72", "1280x720")
    manifest = manifest.replace("seconds: 1", "seconds: 8")
    body = """
    keyframes:
      - {id: a, prompt: "a field"}
    segments:
      - {id: one, reference: none, prompt: "x"}
    """
    root = make_project(manifest + body)
    (problem,) = problems_of(root)
    assert problem.startswith(
        "cinestitch.yaml:4 provider: veo makes no stills, so keyframe 'a' cannot be generated "
        "— set keyframe_provider (or this keyframe's provider) to one that does: animatic, "
    )
    assert "fal-image" in problem and "gemini-image" in problem
    fixed = manifest + "    keyframe_provider: {name: gemini-image}\n" + body
    root = make_project(fixed, name="fixed")
    assert load_project(root).keyframes[0].provider.name == "gemini-image"


def test_an_end_keyframe_needs_a_model_that_ends_on_a_frame(make_project: ProjectFactory) -> None:
    """between with an end is refused for a model that takes no end frame (Veo Lite), and
    loads for one that does (Veo Fast)."""
    manifest = BASE.replace("{name: animatic}", "{name: veo, model: veo-3.1-lite-generate-preview}")
    manifest = manifest.replace("128x72", "1280x720").replace("seconds: 1", "seconds: 8")
    body = """
    keyframe_provider: {name: animatic}
    keyframes:
      - {id: a, prompt: "a field"}
      - {id: b, prompt: "a forest"}
    segments:
      - {id: one, between: [a, b], prompt: "x"}
    """
    root = make_project(manifest + body)
    assert problems_of(root) == [
        "cinestitch.yaml:12 segments[0].between: veo veo-3.1-lite-generate-preview takes no end "
        "frame, so 'one' cannot end on keyframe 'b' — use between: [a], or a model that takes one"
    ]
    fast = manifest.replace("veo-3.1-lite-generate-preview", "veo-3.1-fast-generate-preview")
    assert load_project(make_project(fast + body, name="fast")).segments[0].end_keyframe == "b"


def test_characters_pictures_within_the_model_limit(make_project: ProjectFactory) -> None:
    """More characters' pictures than the model takes is one line naming its limit; a model
    that takes none is sent none, and its templates still see the descriptions."""
    root = make_project(
        BASE
        + """
    characters:
      - {name: a, description: one, images: [assets/1.png, assets/2.png, assets/3.png]}
      - {name: b, description: two, images: [assets/4.png, assets/5.png]}
      - {name: c, description: three}
    segments:
      - {id: one, reference: none, characters: [a, b, c], prompt: "x"}
    """
    )
    _pictures(root, *(f"{n}.png" for n in range(1, 6)))
    assert problems_of(root) == [
        "cinestitch.yaml:12 segments[0].characters: 5 reference pictures of characters, but "
        "animatic sketch takes at most 4 — list fewer characters or give them fewer images"
    ]
    veo = BASE.replace("{name: animatic}", "{name: veo}").replace("128x72", "1280x720")
    veo = veo.replace("seconds: 1", "seconds: 8")
    root = make_project(
        veo
        + """
    characters:
      - {name: a, description: one, images: [assets/1.png]}
      - {name: c, description: three}
    segments:
      - {id: one, reference: none, characters: [a], prompt: "{{ characters[0].description }}"}
      - {id: two, reference: none, characters: [c], prompt: "y"}
    """,
        name="veo",
    )
    _pictures(root, "1.png")
    plan = plan_build(load_project(root))
    assert plan.step("one").prompt == "one" and plan.step("one").reference_images == ()


def test_character_pictures_are_checked_files(make_project: ProjectFactory) -> None:
    """A character's picture that is missing, or not a picture, is named at its key."""
    root = make_project(
        BASE
        + """
    characters:
      - {name: a, description: one, images: [assets/none.png, assets/text.png]}
    keyframes:
      - {id: k, image: assets/k.txt}
    segments:
      - {id: one, reference: none, prompt: "x"}
    """
    )
    (root / "assets").mkdir()
    (root / "assets" / "text.png").write_text("not a picture\n")
    (root / "assets" / "k.txt").write_text("nor this\n")
    assert problems_of(root) == [
        "cinestitch.yaml:8 characters[0].images[0]: 'assets/none.png' does not exist in the "
        "project",
        "cinestitch.yaml:8 characters[0].images[1]: 'assets/text.png' is not an image — "
        "replace it with a PNG, JPEG or WebP image",
        "cinestitch.yaml:10 keyframes[0].image: a picture must be .png, .jpg or .webp",
    ]


def test_schema_refuses_wrong_shapes(make_project: ProjectFactory) -> None:
    """between of three, a non-boolean pin and a character without a description are schema
    problems at their keys."""
    root = make_project(
        BASE
        + """
    characters:
      - {name: a}
    keyframes:
      - {id: k1, prompt: "x"}
    segments:
      - {id: one, between: [k1, k1, k1], pin: "yes", prompt: "x"}
    """
    )
    problems = problems_of(root)
    assert "cinestitch.yaml:8 characters[0]: 'description' is required" in problems
    assert any(p.startswith("cinestitch.yaml:12 segments[0].between:") for p in problems)
    assert 'cinestitch.yaml:12 segments[0].pin: expected true or false, got "yes"' in problems


def test_a_model_that_takes_no_pictures_is_checked_as_sent(make_project: ProjectFactory) -> None:
    """FLUX.1 [dev] takes no character pictures, so a keyframe with a character goes to its
    text endpoint: 4 steps load (its image-to-image endpoint's 10-step minimum does not
    apply), and the keyframe is priced at the text rate."""
    root = make_project(
        BASE.replace(
            "provider: {name: animatic}",
            "provider: {name: animatic}\n    keyframe_provider: {name: fal-image, model: "
            "fal-ai/flux/dev, options: {steps: 4}}",
        )
        + KEYFRAMES
    )
    _pictures(root, "hero.png", "start.png")
    plan = plan_build(load_project(root))
    middle = next(k for k in plan.keyframes if k.keyframe.id == "middle")
    assert middle.reference_images == ()
    assert still_prices(plan)[middle.label] == pytest.approx(0.025)
