"""The plan's wall time and critical path (chained against keyframe builds), and the take
yield: what a finished second of video cost (pure, from a loaded manifest)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cinestitch.lock import Lock
from cinestitch.manifest import load_project
from cinestitch.plan import plan_build
from cinestitch.state import run_forecast
from cinestitch.take_yield import build_yield, format_yield
from cinestitch.wall_time import format_wall_time, minutes, plan_wall_time, typical_seconds
from tests.conftest import ProjectFactory
from tests.unit.test_keyframe_records import entry

HEAD = """
    schema_version: 1
    title: Long
    output: {size: 1280x720, fps: 24}
    provider: {name: veo%s}
    keyframe_provider: {name: gemini-image}
    defaults: {seconds: 8}
"""
VEO = 60.0  # veo-3.1-fast-generate-preview's typical latency in data/latency.json
STILL = 12.0  # gemini-image's


def chained(n: int) -> str:
    shots = "\n".join(f'      - {{id: s{i}, prompt: "Shot {i}."}}' for i in range(n))
    return f'    segments:\n      - {{id: first, reference: none, prompt: "Start."}}\n{shots}\n'


def between(n: int) -> str:
    stills = "\n".join(f'      - {{id: k{i}, prompt: "Still {i}."}}' for i in range(n + 1))
    shots = "\n".join(
        f'      - {{id: s{i}, between: [k{i}, k{i + 1}], prompt: "Shot {i}."}}' for i in range(n)
    )
    return f"    keyframes:\n{stills}\n    segments:\n{shots}\n"


def wall(make_project: ProjectFactory, body: str, provider: str = "", name: str = "p") -> object:
    root = make_project(HEAD % provider + body, name=name)
    plan = plan_build(load_project(root))
    return plan_wall_time(plan, run_forecast(plan)[0])


def test_a_chain_takes_one_generation_after_another(make_project: ProjectFactory) -> None:
    """Twenty chained shots wait on each other: the critical path is all of them, and a
    keyframe build of the same shots is estimated at a still and a clip."""
    found = wall(make_project, chained(19))
    assert found is not None
    assert len(found.critical) == 20 and found.critical_seconds == pytest.approx(20 * VEO)
    assert found.parallel_seconds == pytest.approx(20 * VEO) and found.processes == 1
    assert found.keyframe_seconds == pytest.approx(STILL + VEO)
    text = format_wall_time(found)
    assert "critical path: 20 in a row, ~20 min: first → s0 → s1 → … → s17 → s18" in text
    assert "in keyframe mode (segments between keyframes) ~72 s" in text


def test_segments_between_keyframes_run_at_once(make_project: ProjectFactory) -> None:
    """Twenty segments between keyframes take a still's and a clip's time with enough
    processes; max_in_flight: 5 makes four rounds of clips; one at a time adds them all."""
    found = wall(make_project, between(20))
    assert found is not None
    assert found.parallel_seconds == pytest.approx(STILL + VEO) and found.processes == 21
    assert len(found.critical) == 2 and found.keyframe_seconds is None
    assert found.serial_seconds == pytest.approx(21 * STILL + 20 * VEO)
    capped = wall(make_project, between(20), ", max_in_flight: 5", name="capped")
    assert capped is not None and capped.parallel_seconds == pytest.approx(STILL + 4 * VEO)


def test_nothing_to_generate_has_no_estimate(make_project: ProjectFactory) -> None:
    """A plan with nothing to generate has no wall time."""
    root = make_project(HEAD % "" + "    segments:\n      - {id: a, clip: assets/a.mp4}\n")
    (root / "assets").mkdir()
    from tests.media.media_support import write_clip

    write_clip(root / "assets" / "a.mp4", seconds=1.0, width=64, height=36, fps=12)
    plan = plan_build(load_project(root))
    assert plan_wall_time(plan, run_forecast(plan)[0]) is None


def test_the_animatic_latency_follows_its_speed() -> None:
    """The animatic's time grows with frames, size and its delay option; others are data."""
    from cinestitch.manifest.model import ProviderSpec

    animatic = ProviderSpec("animatic", "sketch", {})
    small = {"size": "128x72", "fps": 12, "seconds": 1.0}
    big = {"size": "1280x720", "fps": 24, "seconds": 8.0}
    assert typical_seconds(animatic, small) < typical_seconds(animatic, big)
    slow = replace(animatic, options={"delay": 5})
    assert typical_seconds(slow, small) == pytest.approx(typical_seconds(animatic, small) + 5)
    assert typical_seconds(ProviderSpec("veo", "veo-3.1-fast-generate-preview", {}), big) == VEO
    assert (minutes(45), minutes(150), minutes(4000)) == ("45 s", "2 min", "1 h 7 min")


def test_the_yield_is_spend_per_second_kept(make_project: ProjectFactory) -> None:
    """Spend over the seconds the video keeps (trims and crossfades taken off), and paid
    takes per generated segment."""
    root = make_project(
        HEAD % ""
        + """    segments:
      - id: a
        reference: none
        prompt: "A."
        trim: {head: 1}
        transition: {type: crossfade, seconds: 1}
      - {id: b, prompt: "B."}
"""
    )
    project = load_project(root)
    lock = Lock({"a": entry(spent_usd=2.4, paid_takes=3), "b": entry(spent_usd=0.8, paid_takes=1)})
    found = build_yield(project, lock)
    assert found.kept_seconds == 14.0 and found.paid_takes == 4 and found.segments == 2
    assert format_yield(found) == (
        "yield: $0.23 per second kept ($3.20 for 14.0 s in the video); 2.0 paid takes per "
        "segment kept (4 for 2)"
    )
