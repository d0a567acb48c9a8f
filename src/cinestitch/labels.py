"""What the build calls the things it generates: a segment by its id, a keyframe (a still
the segments between keyframes start and end on) as ``keyframe:<id>``.

The same label names a keyframe in the plan, the lock, the ledger and doit's task list, and
it can never be a segment's id (ids have no colon), so one namespace serves both.
"""

from __future__ import annotations

KEYFRAME_PREFIX = "keyframe:"


def keyframe_label(keyframe_id: str) -> str:
    return KEYFRAME_PREFIX + keyframe_id


def keyframe_of(label: str) -> str | None:
    """The keyframe id a label names, or ``None`` for a segment's id."""
    return label[len(KEYFRAME_PREFIX) :] if label.startswith(KEYFRAME_PREFIX) else None


def file_stem(label: str) -> str:
    """A label as part of a file name (no colon: ``keyframe~<id>``)."""
    return label.replace(":", "~")


def label_of_stem(stem: str) -> str:
    return stem.replace("~", ":")
