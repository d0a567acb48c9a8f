"""Reading which tasks a doit command line asks for: a keyframe-only build is recognised
through doit's own options, and anything unclear budgets the whole plan."""

from __future__ import annotations

import os

import doit
import pytest

from cinestitch.doit_selection import asked_tasks, only_keyframes

DOIT = "/venv/bin/doit"
MODULE = os.path.join(os.path.dirname(doit.__file__), "__main__.py")


@pytest.mark.parametrize(
    ("argv", "names", "keyframes_only"),
    [
        ([MODULE, "keyframes"], ["keyframes"], True),
        ([DOIT, "-n", "2", "--continue", "keyframes"], ["keyframes"], True),
        ([DOIT, "run", "keyframe:a", "keyframe:b"], ["keyframe:a", "keyframe:b"], True),
        ([DOIT, "-f", "dodo.py", "keyframes", "x=1"], ["keyframes"], True),
        ([DOIT, "-f", "dodo.py", "run", "-n", "2", "keyframe"], ["keyframe"], True),
        ([DOIT], None, False),
        ([DOIT, "-n", "2"], None, False),
        ([DOIT, "keyframes", "generate:walk"], ["keyframes", "generate:walk"], False),
        ([DOIT, "stitch"], ["stitch"], False),
        ([DOIT, "keyframesheet"], ["keyframesheet"], False),
        ([DOIT, "-n", "two", "keyframes"], None, False),
        (["/usr/bin/pytest", "keyframes"], None, False),
        ([], None, False),
    ],
)
def test_asked_tasks(argv: list[str], names: list[str] | None, keyframes_only: bool) -> None:
    assert asked_tasks(argv) == names
    assert only_keyframes(argv) is keyframes_only
