"""Request keys and the lock for keyframes and characters: what is new is keyed and recorded
only where it is used, so other projects' keys and locks read as before."""

from __future__ import annotations

import json
from pathlib import Path

from cinestitch.keys import canonical_request, reference_identity, request_key
from cinestitch.labels import file_stem, keyframe_label, keyframe_of, label_of_stem
from cinestitch.lock import (
    Lock,
    LockEntry,
    apply_pending,
    merge_pending,
    parse_lock,
    read_pending,
    render_lock,
    write_pending_entry,
    write_pending_spend,
)

SETTINGS = {
    "provider": "animatic",
    "model": "sketch",
    "options": {},
    "size": "128x72",
    "fps": 12,
    "seconds": 1.0,
    "seed": 0,
}


def entry(key: str = "k1", output: str = "o1", **changes: object) -> LockEntry:
    fields: dict[str, object] = {
        "take": 1, "key": key, "output": output, "provider": "animatic", "model": "sketch",
        "job_id": "anim-1", "cost_usd": 0.0, "prompt": "a fox", "settings": SETTINGS,
        "reference": None,
    }  # fmt: skip
    return LockEntry(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_clip_request_is_encoded_as_before() -> None:
    """A request with no kind, no end and no characters encodes exactly as it always did."""
    assert canonical_request("a fox", SETTINGS, 1, "px") == (
        b'{"fps":12,"key_version":1,"model":"sketch","options":{},"prompt":"a fox",'
        b'"provider":"animatic","reference_pixels":"px","seconds":1.0,"seed":0,'
        b'"size":"128x72","take":1}'
    )
    assert reference_identity("px", None) == "px" and reference_identity(None, None) is None
    video = {**SETTINGS, "kind": "video"}
    assert request_key("a fox", video, 1, "px") == request_key("a fox", SETTINGS, 1, "px")


def test_a_still_and_characters_change_the_key() -> None:
    """A still (kind image) is another request than a clip; characters' pictures are part
    of the identity in the order they are sent."""
    still = {**SETTINGS, "kind": "image", "seconds": 0, "fps": 0}
    assert b'"kind":"image"' in canonical_request("a fox", still, 1, None)
    plain = reference_identity("px", "end")
    one = reference_identity("px", "end", cast=("hero",))
    two = reference_identity("px", "end", cast=("hero", "dog"))
    swapped = reference_identity("px", "end", cast=("dog", "hero"))
    assert plain == "px|end:end" and one == "px|end:end|cast:hero"
    assert len({plain, one, two, swapped}) == 4
    assert reference_identity(None, None, cast=("hero",)) == "-|cast:hero"


def test_labels_name_keyframes_apart_from_segments() -> None:
    """A keyframe's label is keyframe:<id>, never a segment id, and survives a file name."""
    label = keyframe_label("dawn")
    assert label == "keyframe:dawn" and keyframe_of(label) == "dawn" and keyframe_of("dawn") is None
    assert ":" not in file_stem(label) and label_of_stem(file_stem(label)) == label


def test_a_lock_without_keyframes_reads_and_writes_as_before() -> None:
    """A lock with segments only has no keyframes section, and entries carry no pixels or
    paid_takes lines until they say something."""
    lock = Lock({"s1": entry()})
    text = render_lock(lock)
    assert "keyframes" not in text and "pixels" not in text and "paid_takes" not in text
    assert parse_lock(text) == lock


def test_keyframes_have_their_own_section() -> None:
    """Keyframe entries sit under keyframes: with their pixel digest; they are found by
    label, and count in what the project spent."""
    lock = Lock({"s1": entry(spent_usd=0.5)}).with_entry(
        keyframe_label("dawn"), entry("k2", "o2", pixels="p2"), spent=0.04
    )
    text = render_lock(lock)
    assert text.index("keyframes:") < text.index("lock_version:") < text.index("segments:")
    again = parse_lock(text)
    assert again.entry("keyframe:dawn") == lock.keyframes["dawn"]
    assert again.entry("keyframe:dawn").pixels == "p2"  # type: ignore[union-attr]
    assert again.entry("dawn") is None
    assert again.spent_usd == 0.54


def test_pending_keyframe_entries_and_paid_takes_merge(tmp_path: Path) -> None:
    """A build's pending keyframe entry and every paid take are folded into the lock once:
    spend and paid takes add up, the files go."""
    pending = tmp_path / "pending"
    write_pending_entry(pending, "keyframe:dawn", entry("k2", "o2", pixels="p2"))
    write_pending_spend(pending, "keyframe:dawn", 0.04)
    write_pending_entry(pending, "s1", entry())
    write_pending_spend(pending, "s1", 0.05)
    write_pending_spend(pending, "s1", 0.25)
    assert all(":" not in p.name for p in pending.iterdir())
    seen = apply_pending(Lock(), read_pending(pending))
    assert seen.keyframes["dawn"].paid_takes == 1 and seen.segments["s1"].paid_takes == 2
    lock_path = tmp_path / "cinestitch.lock"
    merged = merge_pending(lock_path, pending, tmp_path / "mutex")
    assert merged is not None and merged.spent_usd == 0.34
    assert list(pending.glob("*.json")) == []
    text = lock_path.read_text()
    assert "paid_takes: 2" in text and "pixels: p2" in text
    data = json.loads(json.dumps(parse_lock(text).keyframes["dawn"].settings))
    assert data == SETTINGS
