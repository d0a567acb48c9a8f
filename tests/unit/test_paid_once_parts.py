"""The parts behind "never pay twice": request keys, the cache store, the lock, budgets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cinestitch.cache import GenerationStore, RunRecord
from cinestitch.errors import ProjectError
from cinestitch.forecast import Forecast, SegmentForecast, Status, check_budget
from cinestitch.keys import request_key
from cinestitch.lock import Lock, LockEntry, TakeRecord, parse_lock, render_lock
from cinestitch.manifest import Budget
from cinestitch.media import pixel_digest

SETTINGS = {
    "provider": "animatic",
    "model": "sketch",
    "options": {},
    "size": "128x72",
    "fps": 12,
    "seconds": 1.0,
    "seed": 0,
}


def test_key_covers_every_identity_field_and_nothing_else() -> None:
    """Each identity field, the prompt, the take and the reference change the key; the
    takes count and other settings do not."""
    base = request_key("a fox", SETTINGS, 1, None)
    assert request_key("a fox", dict(SETTINGS), 1, None) == base
    changed = [
        request_key("a fox", {**SETTINGS, name: value}, 1, None)
        for name, value in [
            ("provider", "veo"),
            ("model", "x"),
            ("options", {"palette": "day"}),
            ("size", "64x64"),
            ("fps", 24),
            ("seconds", 2.0),
            ("seed", 1),
        ]
    ]
    changed += [
        request_key("a cat", SETTINGS, 1, None),
        request_key("a fox", SETTINGS, 2, None),
        request_key("a fox", SETTINGS, 1, "ab" * 32),
    ]
    assert base not in changed and len(set(changed)) == len(changed)
    assert request_key("a fox", {**SETTINGS, "takes": 3, "take": 2}, 1, None) == base


def test_pixel_digest_follows_pixels_not_file_bytes(tmp_path: Path) -> None:
    """Re-saving a reference with other compression keeps its digest; one pixel changes it."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 255, (36, 64, 3), dtype=np.uint8)
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    Image.fromarray(pixels).save(a, compress_level=1)
    Image.fromarray(pixels).save(b, compress_level=9)
    assert a.read_bytes() != b.read_bytes()
    assert pixel_digest(a) == pixel_digest(b)
    pixels[0, 0] ^= 1
    Image.fromarray(pixels).save(c)
    assert pixel_digest(c) != pixel_digest(a)


def record(key: str) -> RunRecord:
    return RunRecord(key, "", "animatic", "sketch", "job-1", None, None, 0.0, "test")


def test_store_round_trip_and_damage(tmp_path: Path) -> None:
    """A stored clip is restored byte for byte; once damaged it is a miss, never served."""
    store = GenerationStore(tmp_path / "cache")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00video" * 1000)
    stored = store.put(clip, record("k1"))
    assert store.has("k1") and store.lookup("k1") == stored
    dest = tmp_path / "out" / "restored.mp4"
    assert store.restore(stored, dest) and dest.read_bytes() == clip.read_bytes()
    store.object_path(stored.output).write_bytes(b"garbage")
    assert store.lookup("k1") is None
    assert not store.restore(stored, tmp_path / "out" / "again.mp4")
    assert not (tmp_path / "out" / "again.mp4").exists()
    assert store.lookup("missing") is None


def test_lock_is_stable_and_round_trips() -> None:
    """Equal locks render to equal text, sorted by key; parsing gives the lock back."""
    entry = LockEntry(
        take=2, key="k", output="o", provider="animatic", model="sketch", job_id="j",
        cost_usd=0.5, prompt="One.\n\nTwo.", settings={"seed": 0, "fps": 12},
        reference=None, takes={2: TakeRecord("k", "o"), 1: TakeRecord("k1", "o1")},
    )  # fmt: skip
    lock = Lock().with_entry("zeta", entry, 0.5).with_entry("alpha", entry, 0.25)
    text = render_lock(lock)
    assert text == render_lock(parse_lock(text))
    assert parse_lock(text) == lock
    assert text.index("alpha:") < text.index("zeta:")
    assert "spent_usd: 0.25" in text and "spent_usd: 0.5" in text
    assert lock.spent_usd == 0.75 and "spent_usd: 0.75" not in text  # no project-wide total
    more = lock.spending("zeta", 0.1)
    assert more.spent_usd == 0.85 and more.segments["zeta"].spent_usd == 0.6
    assert lock.spending("absent", 0.1) == lock


def test_damaged_lock_is_one_line() -> None:
    """A lock that does not parse names the file and line."""
    with pytest.raises(ProjectError) as caught:
        parse_lock("lock_version: 1\nsegments: [\n")
    assert str(caught.value).startswith("cinestitch.lock:")
    assert "\n" not in str(caught.value)


def forecast(cost: float | None) -> Forecast:
    s = SegmentForecast("s3", Status.GENERATE, (), (1,), 12.0, cost, None)
    return Forecast((s,), None)


def test_budgets() -> None:
    """A plan over the build or project budget is refused with the amount over."""
    assert check_budget(forecast(3.6), Budget(), 0.0) is None
    assert check_budget(forecast(3.6), Budget(build=5.0, total=10.0), 6.0) is None
    over_build = check_budget(forecast(3.6), Budget(build=2.0), 0.0)
    assert over_build and "$1.60 over the build budget of $2.00" in over_build
    over_total = check_budget(forecast(3.6), Budget(total=10.0), 8.0)
    assert over_total and "$1.60 over the project budget of $10.00" in over_total
    unknown = check_budget(forecast(None), Budget(build=2.0), 0.0)
    assert unknown and "price_per_second" in unknown
