"""Every broken or hostile project is refused the same way: exit 3, one `file:line key` line
per problem, no traceback, nothing written, nothing from outside the project shown, within
200 MB and 5 s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_cases import CASES, DOIT
from hostile_support import (
    MAX_RSS_MB,
    MAX_SECONDS,
    Case,
    assert_refused,
    assert_untouched,
    run_capped,
    snapshot,
    write_case,
)

from cinestitch.cli import main

BY_NAME = {case.name: case for case in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_refuses(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cinestitch validate` refuses the project with exactly its problems, one line each (a
    bomb runs in a fresh process under a memory and CPU cap and stays small and quick)."""
    root = write_case(case, tmp_path)
    before = snapshot(root)
    if case.capped:
        ran = run_capped(["-m", "cinestitch.cli", "validate", str(root)], cwd=tmp_path)
        assert ran.rss_mb < MAX_RSS_MB and ran.seconds < MAX_SECONDS, ran
        code, out, err = ran.code, ran.out, ran.err
    else:
        code = main(["validate", str(root)])
        captured = capsys.readouterr()
        out, err = captured.out, captured.err
    assert_refused(case, code, out, err)
    assert_untouched(root, before)


@pytest.mark.parametrize("name", DOIT)
def test_doit_refuses(name: str, tmp_path: Path) -> None:
    """`doit` in the project prints the same lines, exits 3 and leaves no build/, .cinestitch/
    or .doit.db behind."""
    case = BY_NAME[name]
    root = write_case(case, tmp_path)
    before = snapshot(root)
    ran = run_capped(["-m", "doit"], cwd=root)
    assert ran.rss_mb < MAX_RSS_MB and ran.seconds < MAX_SECONDS, ran
    assert_refused(case, ran.code, ran.out, ran.err)
    assert_untouched(root, before)


ALL_IN_ONE = """
import contextlib, io, json, resource, sys, time
from cinestitch.cli import main
seconds = {}
for root in sys.argv[1:]:
    start = time.monotonic()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        code = main(["validate", root])
    seconds[root] = (code, time.monotonic() - start)
print(json.dumps(seconds))
"""


def test_every_case_is_small_and_quick(tmp_path: Path) -> None:
    """Run one after another in one capped process, no case takes 5 s, and the process never
    holds 200 MB (its peak is the largest case's)."""
    roots = [str(write_case(case, tmp_path / case.name)) for case in CASES]
    ran = run_capped(["-c", ALL_IN_ONE, *roots], cwd=tmp_path, timeout=120)
    assert ran.code == 0, ran.err
    results = json.loads(ran.out)
    assert {code for code, _ in results.values()} == {3}
    slow = {root: took for root, (_, took) in results.items() if took >= MAX_SECONDS}
    assert not slow and ran.rss_mb < MAX_RSS_MB, (slow, ran.rss_mb)
