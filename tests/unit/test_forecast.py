"""The one decider: each status and reason of ``forecast_build``, from a plan, a lock and a
view of the cache held in dicts (pure: no build, no disk beyond loading the manifest)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field, replace

import pytest

from cinestitch.forecast import Forecast, Status, forecast_build
from cinestitch.keys import take_keys
from cinestitch.lock import Lock, LockEntry
from cinestitch.manifest import load_project
from cinestitch.plan import BuildPlan, SegmentStep, plan_build
from cinestitch.prices import Price

MANIFEST = """
    schema_version: 1
    title: Decide
    output: {size: 64x36, fps: 12}
    defaults: {seconds: 2, transition: {type: cut}}
    segments:
      - {id: a, reference: none, prompt: "Shot a."}
      - {id: b, prompt: "Shot b."}
      - {id: c, prompt: "Shot c."}
      - {id: d, reference: none, prompt: "Shot d.", takes: 2, take: 2}
"""
PRICE = Price(0.5, "test price")


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> BuildPlan:
    root = tmp_path_factory.mktemp("decide")
    (root / "cinestitch.yaml").write_text(textwrap.dedent(MANIFEST).lstrip())
    return plan_build(load_project(root))


@dataclass
class View:
    """A cache, a journal and build/ held in dicts."""

    clips: dict[str, str] = field(default_factory=dict)
    """request key -> clip digest the cache (or build/) can give without a call"""
    frames: dict[str, str] = field(default_factory=dict)
    """clip digest -> pixel digest of its reference frame"""
    jobs: dict[str, str] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    in_build: dict[str, str] = field(default_factory=dict)

    def available(self, key: str) -> bool:
        return key in self.clips

    def output_of(self, key: str) -> str | None:
        return self.clips.get(key)

    def frame_of(self, output: str, sharpest_of: int) -> str | None:
        return self.frames.get(output)

    def in_flight(self, key: str) -> str | None:
        return self.jobs.get(key)

    def damaged(self, key: str) -> str | None:
        return self.broken.get(key)

    def built(self, segment_id: str, output: str) -> bool:
        return self.in_build.get(segment_id) == output


def entry_for(step: SegmentStep, key: str, output: str, reference: str | None) -> LockEntry:
    return LockEntry(
        take=step.segment.take, key=key, output=output, provider="animatic", model="sketch",
        job_id="j", cost_usd=0.0, prompt=step.prompt, settings=dict(step.settings),
        reference=reference, reference_source=None,
    )  # fmt: skip


def built_world(plan: BuildPlan) -> tuple[Lock, View]:
    """Every segment built and cached: clip of x is 'clip-x', its frame 'frame-x'."""
    lock, view = Lock(), View()
    upstream_frame: str | None = None
    for step in plan.steps:
        sid = step.segment.id
        ref = upstream_frame if step.reference_segment else None
        keys = take_keys(step.prompt, step.settings, step.segment.takes, ref)
        for n, key in keys.items():
            view.clips[key] = f"clip-{sid}" if n == step.segment.take else f"clip-{sid}-{n}"
        entry = entry_for(step, keys[step.segment.take], f"clip-{sid}", ref)
        if step.reference_segment:
            entry = replace(entry, reference_source=f"clip-{step.reference_segment}")
        lock = lock.with_entry(sid, entry)
        view.frames[f"clip-{sid}"] = f"frame-{sid}"
        view.in_build[sid] = f"clip-{sid}"
        upstream_frame = f"frame-{sid}"
    return lock, view


def decide(plan: BuildPlan, lock: Lock, view: View) -> Forecast:
    return forecast_build(plan, lock, view, {}, PRICE)


def statuses(forecast: Forecast) -> dict[str, tuple[str, str]]:
    return {
        s.segment_id: (s.status.value, "; ".join(str(r) for r in s.reasons))
        for s in forecast.segments
    }


def test_nothing_built_every_segment_is_new(plan: BuildPlan) -> None:
    """A first build: every segment is generated, each because it is new (chained ones
    too — not 'reference frame changed'), at the segment's price per take."""
    forecast = decide(plan, Lock(), View())
    got = statuses(forecast)
    assert all(status == "generate" and why.startswith("new") for status, why in got.values())
    assert forecast.segment("d").takes_to_generate == (1, 2)
    assert forecast.cost == pytest.approx(0.5 * 2 * 5)


def test_everything_built_is_up_to_date(plan: BuildPlan) -> None:
    """With every clip in build/ as the lock records, nothing runs and nothing costs."""
    lock, view = built_world(plan)
    forecast = decide(plan, lock, view)
    assert {s.status for s in forecast.segments} == {Status.UP_TO_DATE}
    assert forecast.cost == 0 and not forecast.to_generate
    assert all(forecast.is_up_to_date(s.segment.id) for s in plan.steps)


def test_prompt_change_regenerates_it_and_the_chain_after_it(plan: BuildPlan) -> None:
    """Editing b's prompt: b is 'prompt changed', c 'reference frame changed (after b)',
    a and d stay up to date."""
    lock, view = built_world(plan)
    old = lock.entry("b")
    assert old is not None
    lock = Lock({**lock.segments, "b": replace(old, prompt="Shot b, before.")})
    view.clips = {k: v for k, v in view.clips.items() if v != "clip-b"}
    got = statuses(decide(plan, lock, view))
    assert got["a"][0] == got["d"][0] == "up to date"
    assert got["b"] == ("generate", "prompt changed (cinestitch.yaml)")
    assert got["c"] == ("generate", "reference frame changed (after 'b')")


def test_a_shared_edit_downstream_says_the_prompt_changed_first(plan: BuildPlan) -> None:
    """A template every segment uses is edited: c's own prompt changed as well as its
    reference, and the plan says both, the prompt first (what the edit did to it), so that
    `reference: none` is not taken for a way out."""
    lock, view = built_world(plan)
    for sid in ("b", "c"):
        old = lock.entry(sid)
        assert old is not None
        lock = Lock({**lock.segments, sid: replace(old, prompt=f"Shot {sid}, before.")})
        view.clips = {k: v for k, v in view.clips.items() if v != f"clip-{sid}"}
    got = statuses(decide(plan, lock, view))
    assert got["b"] == ("generate", "prompt changed (cinestitch.yaml)")
    assert got["c"] == (
        "generate",
        "prompt changed (cinestitch.yaml); reference frame changed (after 'b')",
    )


def test_settings_change_is_named(plan: BuildPlan) -> None:
    """A lock entry made with other settings names the setting that changed."""
    lock, view = built_world(plan)
    old = lock.entry("a")
    assert old is not None
    lock = Lock({**lock.segments, "a": replace(old, settings={**old.settings, "seed": 9})})
    view.clips = {k: v for k, v in view.clips.items() if v != "clip-a"}
    assert statuses(decide(plan, lock, view))["a"] == ("generate", "settings changed (seed)")


def test_clip_missing_from_build_is_restored(plan: BuildPlan) -> None:
    """The lock's clip is in the cache but not in build/: restored, no cost."""
    lock, view = built_world(plan)
    del view.in_build["a"]
    s = decide(plan, lock, view).segment("a")
    assert (s.status, str(s.reasons[0]), s.cost) == (Status.RESTORE, "restored into build/", 0.0)


def test_cached_but_not_locked_is_from_cache(plan: BuildPlan) -> None:
    """A clone without a lock but with the shared cache: 'from cache', nothing to pay."""
    _, view = built_world(plan)
    forecast = decide(plan, Lock(), view)
    assert {s.status for s in forecast.segments} == {Status.RESTORE}
    assert forecast.cost == 0


def test_damaged_cache_entry_is_generated_and_says_so(plan: BuildPlan) -> None:
    """A cached clip whose bytes do not match: generated (and paid), and the plan says why."""
    lock, view = built_world(plan)
    key = lock.entry("d").key  # type: ignore[union-attr]
    del view.clips[key]
    del view.in_build["d"]
    view.broken[key] = "c0ffee" * 10
    s = decide(plan, lock, view).segment("d")
    assert s.status is Status.GENERATE and s.cost == pytest.approx(1.0)
    assert str(s.reasons[0]).startswith("cache entry damaged (c0ffeec0ffee")


def test_job_in_flight_is_resumed_at_no_cost(plan: BuildPlan) -> None:
    """A journaled job for the key: 'resume job', already paid."""
    lock, view = built_world(plan)
    key = lock.entry("a").key  # type: ignore[union-attr]
    del view.clips[key]
    view.jobs[key] = "anim-123"
    s = decide(plan, lock, view).segment("a")
    assert (s.status, s.cost) == (Status.RESUME, 0.0)
    assert "anim-123" in str(s.reasons[0])


def test_new_take_and_take_switch(plan: BuildPlan) -> None:
    """Asking for a third take generates only it; switching to a cached take restores."""
    lock, view = built_world(plan)
    three = replace(plan.step("d").segment, takes=3)
    step = replace(plan.step("d"), segment=three)
    more = replace(plan, steps=tuple(step if s.segment.id == "d" else s for s in plan.steps))
    s = decide(more, lock, view).segment("d")
    assert (s.status, s.takes_to_generate, str(s.reasons[0])) == (
        Status.GENERATE, (3,), "new take (3)",
    )  # fmt: skip
    first = replace(plan.step("d").segment, take=1)
    step = replace(plan.step("d"), segment=first)
    switched = replace(plan, steps=tuple(step if s.segment.id == "d" else s for s in plan.steps))
    s = decide(switched, lock, view).segment("d")
    assert s.status is Status.RESTORE and str(s.reasons[0]) == "take switched (2 → 1)"


def test_upstream_restored_keeps_the_chain_known(plan: BuildPlan) -> None:
    """When b comes from the cache (not regenerated), c's key is still known from b's
    cached frame, so c is judged on its own."""
    lock, view = built_world(plan)
    del view.in_build["b"]
    got = statuses(decide(plan, lock, view))
    assert got["b"][0] == "from cache" and got["c"][0] == "up to date"


def test_segment_price_overrides_the_project_price(plan: BuildPlan) -> None:
    """A segment's own price (another provider or model) is what its estimate uses."""
    forecast = forecast_build(plan, Lock(), View(), {}, PRICE, {"a": Price(2.0, "own")})
    assert forecast.segment("a").cost == pytest.approx(4.0)
    assert forecast.segment("b").cost == pytest.approx(1.0)
