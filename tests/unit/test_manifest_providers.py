"""The provider block: transport settings, segment overrides, end frames, extension, and
the load-time checks against each provider's static capabilities (no key needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from cinestitch.errors import ProjectError
from cinestitch.manifest import load_project
from cinestitch.plan import generation_settings
from tests.conftest import ProjectFactory

SHOT = "{{ action }}\n"


def manifest(provider: str, segments: str = "", size: str = "1280x720", seconds: int = 8) -> str:
    body = (
        segments
        or """
      - id: one
        reference: none
        vars: {action: a fox runs}
      - id: two
        vars: {action: the fox jumps}
    """
    )
    return f"""
    schema_version: 1
    title: Test
    output: {{size: {size}, fps: 24}}
    provider: {provider}
    defaults: {{seconds: {seconds}, template: shot.j2}}
    segments:{body}"""


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ProjectError) as info:
        load_project(root)
    return [str(p) for p in info.value.problems]


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_a_veo_project_loads_without_a_key(make_project: ProjectFactory) -> None:
    """validate needs no key and no network: capabilities are static data."""
    project = load_project(make_project(manifest("{name: veo}"), {"shot.j2": SHOT}))
    assert project.provider.model == "veo-3.1-fast-generate-preview"
    assert project.segments[1].provider == project.provider


def test_transport_settings_load_and_stay_out_of_the_settings(
    make_project: ProjectFactory,
) -> None:
    """base_url, key_env, dialect, timeouts and concurrency reach the transport, never the key."""
    block = (
        "{name: openai, model: sora-2, base_url: 'http://127.0.0.1:9/v1', key_env: GW_KEY, "
        "dialect: new-api, max_in_flight: 2, poll_interval: 5, timeout: 30, job_timeout: 900}"
    )
    project = load_project(make_project(manifest(block), {"shot.j2": SHOT}))
    transport = project.provider.transport()
    assert transport.base_url == "http://127.0.0.1:9/v1" and transport.key_env == "GW_KEY"
    assert transport.dialect == "new-api" and transport.max_in_flight == 2
    assert (transport.poll_interval, transport.timeout, transport.job_timeout) == (5, 30, 900)
    settings = generation_settings(project, project.segments[0])
    assert settings["provider"] == "openai" and settings["model"] == "sora-2"
    assert "127.0.0.1" not in str(settings) and "new-api" not in str(settings)


def test_moving_to_another_gateway_keeps_the_settings(make_project: ProjectFactory) -> None:
    """Only identity is in the generation settings: another base_url changes nothing there."""
    one = make_project(
        manifest("{name: openai, base_url: 'https://a.example/v1'}"), {"shot.j2": SHOT}, "a"
    )
    two = make_project(
        manifest("{name: openai, base_url: 'https://b.example', dialect: litellm}"),
        {"shot.j2": SHOT},
        "b",
    )
    first, second = load_project(one), load_project(two)
    for s1, s2 in zip(first.segments, second.segments, strict=True):
        assert generation_settings(first, s1) == generation_settings(second, s2)


def test_a_segment_overrides_the_provider_block(make_project: ProjectFactory) -> None:
    """segments[].provider merges over the project's: its model and options, the rest kept."""
    segments = """
      - id: one
        reference: none
        vars: {action: a fox runs}
      - id: hero
        provider: {model: veo-3.1-generate-preview, options: {enhance_prompt: true}}
        vars: {action: the fox jumps}
    """
    block = "{name: veo, base_url: 'http://127.0.0.1:9', options: {negative_prompt: blur}}"
    project = load_project(make_project(manifest(block, segments), {"shot.j2": SHOT}))
    one, hero = project.segments
    assert one.provider.model == "veo-3.1-fast-generate-preview"
    assert hero.provider.model == "veo-3.1-generate-preview"
    assert hero.provider.base_url == "http://127.0.0.1:9"
    assert hero.provider.options == {"negative_prompt": "blur", "enhance_prompt": True}
    assert generation_settings(project, hero)["model"] == "veo-3.1-generate-preview"
    assert generation_settings(project, one)["model"] == "veo-3.1-fast-generate-preview"


def test_a_segment_may_name_another_provider(make_project: ProjectFactory) -> None:
    """A segment naming another provider starts from that provider's defaults."""
    segments = """
      - id: one
        reference: none
        vars: {action: a fox runs}
      - id: two
        provider: {name: animatic}
        vars: {action: the fox jumps}
    """
    project = load_project(
        make_project(
            manifest("{name: veo, options: {negative_prompt: x}}", segments), {"shot.j2": SHOT}
        )
    )
    two = project.segments[1]
    assert (two.provider.name, two.provider.model, dict(two.provider.options)) == (
        "animatic",
        "sketch",
        {},
    )


def test_a_duration_veo_does_not_make_names_the_ones_it_does(make_project: ProjectFactory) -> None:
    """Veo makes 4, 6 or 8 s: another length is a one-line error naming them."""
    root = make_project(manifest("{name: veo}", seconds=5), {"shot.j2": SHOT})
    assert problems_of(root) == [
        "cinestitch.yaml:5 defaults.seconds: 5 is not a duration veo makes (segment 'one') "
        "— use 4, 6, 8",
        "cinestitch.yaml:5 defaults.seconds: 5 is not a duration veo makes (segment 'two') "
        "— use 4, 6, 8",
    ]


def test_a_size_veo_does_not_make_names_the_sizes(make_project: ProjectFactory) -> None:
    """An output size the model does not make is one error naming the sizes it does."""
    root = make_project(
        manifest("{name: veo, model: veo-3.1-lite-generate-preview}", size="3840x2160"),
        {"shot.j2": SHOT},
    )
    assert problems_of(root) == [
        "cinestitch.yaml:3 output.size: 3840x2160 is not a size veo veo-3.1-lite-generate-preview "
        "makes — use 1280x720, 720x1280, 1920x1080, 1080x1920"
    ]


def test_1080p_veo_makes_only_8_seconds(make_project: ProjectFactory) -> None:
    """At 1080p Veo forces 8 s: a shorter segment is refused at load time."""
    root = make_project(manifest("{name: veo}", size="1920x1080", seconds=4), {"shot.j2": SHOT})
    problems = problems_of(root)
    assert len(problems) == 2
    assert "makes only 8 s clips at 1080p — use seconds: 8 or output size 1280x720" in problems[0]


def test_an_unknown_model_option_or_dialect_is_named(make_project: ProjectFactory) -> None:
    """Unknown models, options and dialects each get a line naming what is accepted."""
    root = make_project(manifest("{name: veo, model: veo-9, dialect: x}"), {"shot.j2": SHOT})
    problems = problems_of(root)
    assert problems[0].startswith(
        "cinestitch.yaml:4 provider.model: unknown model 'veo-9' — veo has: "
    )
    assert "provider.dialect: 'x' is not a dialect of veo — it has: none" in problems[1]
    root = make_project(manifest("{name: veo, options: {speed: 2}}"), {"shot.j2": SHOT}, "b")
    assert problems_of(root) == [
        "cinestitch.yaml:4 provider.options: speed: unknown option — veo accepts: "
        "negative_prompt, person_generation, enhance_prompt"
    ]
    root = make_project(manifest("{name: openai, dialect: sora}"), {"shot.j2": SHOT}, "c")
    assert (
        "'sora' is not a dialect of openai — it has: openai, litellm, new-api"
        in problems_of(root)[0]
    )


def test_an_unknown_provider_in_a_segment_is_named(make_project: ProjectFactory) -> None:
    """A segment naming an unknown provider is reported at its own key."""
    segments = """
      - id: one
        provider: {name: sora}
        vars: {action: a fox runs}
    """
    root = make_project(manifest("{name: veo}", segments), {"shot.j2": SHOT})
    assert problems_of(root) == [
        "cinestitch.yaml:8 segments[0].provider.name: unknown provider 'sora' — known: "
        "animatic, comfyui, fal, openai, runway, veo"
    ]


def _png(root: Path, name: str) -> None:
    (root / "assets").mkdir(exist_ok=True)
    Image.new("RGB", (64, 36)).save(root / "assets" / name)


def test_end_frame_where_the_model_accepts_one(make_project: ProjectFactory) -> None:
    """end_frame loads for Veo Standard/Fast, and is refused for Lite and for openai."""
    segments = """
      - id: one
        reference: assets/start.png
        end_frame: assets/end.png
        vars: {action: a fox runs}
    """
    root = make_project(manifest("{name: veo}", segments), {"shot.j2": SHOT})
    _png(root, "start.png")
    _png(root, "end.png")
    assert load_project(root).segments[0].end_frame == "assets/end.png"
    lite = root / "cinestitch.yaml"
    lite.write_text(
        lite.read_text().replace("{name: veo}", "{name: veo, model: veo-3.1-lite-generate-preview}")
    )
    assert problems_of(root) == [
        "cinestitch.yaml:9 segments[0].end_frame: veo veo-3.1-lite-generate-preview takes no "
        "end frame — remove end_frame"
    ]
    lite.write_text(
        lite.read_text().replace(
            "{name: veo, model: veo-3.1-lite-generate-preview}", "{name: openai}"
        )
    )
    assert "openai sora-2 takes no end frame" in problems_of(root)[0]


def test_a_missing_end_frame_is_named(make_project: ProjectFactory) -> None:
    """An end frame that is not in the project is reported at its key."""
    segments = """
      - id: one
        reference: none
        end_frame: assets/none.png
        vars: {action: a fox runs}
    """
    root = make_project(manifest("{name: veo}", segments), {"shot.j2": SHOT})
    problems = problems_of(root)
    assert any("segments[0].end_frame: 'assets/none.png' does not exist" in p for p in problems)


def test_extend_where_the_provider_can(make_project: ProjectFactory) -> None:
    """extend loads for Veo continuing an earlier segment, and is refused elsewhere."""
    segments = """
      - id: one
        reference: none
        vars: {action: a fox runs}
      - id: two
        extend: true
        vars: {action: the fox jumps}
    """
    root = make_project(manifest("{name: veo}", segments), {"shot.j2": SHOT})
    assert load_project(root).segments[1].extend is True
    path = root / "cinestitch.yaml"
    path.write_text(path.read_text().replace("{name: veo}", "{name: openai}"))
    assert problems_of(root) == [
        "cinestitch.yaml:11 segments[1].extend: openai sora-2 cannot extend a clip natively "
        "— remove extend"
    ]


def test_extend_continues_only_a_clip_of_its_own_provider(make_project: ProjectFactory) -> None:
    """Veo extends only Veo's videos (and another provider's clip is behind its own key):
    an extension of a clip another provider makes is refused at the key, before any call."""
    segments = """
      - id: one
        reference: none
        provider: {name: openai}
        vars: {action: a fox runs}
      - id: two
        extend: true
        vars: {action: the fox jumps}
    """
    root = make_project(manifest("{name: veo}", segments), {"shot.j2": SHOT})
    assert problems_of(root) == [
        "cinestitch.yaml:12 segments[1].extend: veo can continue only a clip it made, and "
        "'one' is made by openai — give it the same provider, or remove extend (the segment "
        "then starts from its last frame)"
    ]


def test_wan_continues_clips_of_two_to_ten_seconds(make_project: ProjectFactory) -> None:
    """fal's Wan 2.7 takes a 2-10 s clip to continue: a 12 s upstream is refused (fal may
    bill the refusal), a 10 s one loads."""
    segments = """
      - id: one
        reference: none
        seconds: 12
        vars: {action: a fox runs}
      - id: two
        extend: true
        seconds: 5
        vars: {action: the fox jumps}
    """
    wan = "{name: fal, model: fal-ai/wan/v2.7/image-to-video}"
    root = make_project(manifest(wan, segments), {"shot.j2": SHOT})
    assert problems_of(root) == [
        "cinestitch.yaml:12 segments[1].extend: fal fal-ai/wan/v2.7/image-to-video continues "
        "clips of 2-10 s, and 'one' is 12 s — shorten it, or remove extend"
    ]
    path = root / "cinestitch.yaml"
    path.write_text(path.read_text().replace("seconds: 12", "seconds: 10"))
    assert load_project(root).segments[1].extend is True
    # a chain: 'two' holds 'one' too (Wan answers with the input, then the new footage)
    text = path.read_text().replace("seconds: 10", "seconds: 6")
    indent = text[: text.index("- id: two")].rsplit("\n", 1)[1]
    more = ["- id: three", "  extend: true", "  seconds: 5", "  vars: {action: the fox lands}"]
    path.write_text(text.rstrip("\n") + "\n" + "".join(f"{indent}{m}\n" for m in more))
    assert problems_of(root) == [
        "cinestitch.yaml:16 segments[2].extend: fal fal-ai/wan/v2.7/image-to-video continues "
        "clips of 2-10 s, and 'two' is 11 s (with the clips it extends, which it holds) — "
        "shorten it, or remove extend"
    ]


def test_extend_needs_an_earlier_segment(make_project: ProjectFactory) -> None:
    """A native extension without a segment to continue is refused."""
    segments = """
      - id: one
        reference: none
        extend: true
        vars: {action: a fox runs}
    """
    root = make_project(manifest("{name: veo}", segments), {"shot.j2": SHOT})
    assert problems_of(root) == [
        "cinestitch.yaml:9 segments[0].extend: extend continues an earlier segment's clip — "
        "set reference to that segment"
    ]


def test_a_key_in_the_manifest_is_impossible(make_project: ProjectFactory) -> None:
    """The provider block has no place for a key: an api_key entry is an unknown key."""
    root = make_project(manifest("{name: veo, api_key: abc}"), {"shot.j2": SHOT})
    assert "provider.api_key: unknown key" in problems_of(root)[0]
