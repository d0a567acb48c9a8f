"""What the bounds must not refuse: ordinary projects, real assets, YAML aliases and merge
keys, links that stay inside, formatting within reason; and the edges of the bounds."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hostile_support import (
    BASE,
    Case,
    dedent,
    png_bytes,
    run_capped,
    wav_bytes,
    with_base,
    write_case,
)

from cinestitch.errors import ProjectError
from cinestitch.manifest import load_project
from cinestitch.manifest.yamldoc import MAX_ALIAS_REPEATS


def loads(case: Case, tmp_path: Path) -> dict[str, str]:
    """The case's rendered prompts (it must load)."""
    project = load_project(write_case(case, tmp_path))
    return {sid: p.text for sid, p in project.prompts.items()}


def test_aliases_merge_keys_dates_and_accents_load(tmp_path: Path) -> None:
    """Anchors, aliases and ``<<`` merge keys within the bound, a date-like title, accents in
    text and a quoted key all load as written."""
    manifest = dedent(
        """
        schema_version: 1
        title: 2024-05-01
        output: {size: 64x64, fps: 12}
        bible: {hero: &hero Zoë the fox, "on": stage}
        defaults: &defaults {seconds: 1, template: shot.j2, vars: {who: *hero}}
        segments:
          - id: one
            vars: &vars {action: runs across the café}
          - id: two
            <<: {seed: 7}
            vars: *vars
        """
    )
    prompts = loads(
        Case(
            "ok", (), manifest=manifest, templates={"shot.j2": "{{ who }} {{ action }} {{ title }}"}
        ),
        tmp_path,
    )
    assert prompts == {
        "one": "Zoë the fox runs across the café 2024-05-01",
        "two": "Zoë the fox runs across the café 2024-05-01",
    }


def test_aliases_up_to_the_bound_load(tmp_path: Path) -> None:
    """A list that repeats one value exactly as often as allowed still loads."""
    repeats = ", ".join(["*w"] * MAX_ALIAS_REPEATS)
    manifest = BASE + f"bible: {{word: &w fox, many: [{repeats}]}}\n"
    assert loads(Case("ok", (), manifest=manifest), tmp_path) == {"one": "runs"}


def test_real_assets_validate(tmp_path: Path) -> None:
    """A PNG and a JPEG reference and a WAV music bed are opened, decoded and accepted."""
    manifest = BASE + (
        "  - id: two\n"
        "    reference: assets/hero.jpg\n"
        "    vars: {action: jumps}\n"
        "audio: {music: assets/theme.wav, volume: 0.5}\n"
    )
    manifest = manifest.replace(
        "    vars: {action: runs}\n",
        "    vars: {action: runs}\n    reference: assets/hero.png\n",
        1,
    )
    files = {
        "assets/hero.png": png_bytes((32, 32)),
        "assets/hero.jpg": png_bytes((32, 32), "JPEG"),
        "assets/theme.wav": wav_bytes(),
    }
    assert loads(Case("ok", (), manifest=manifest, files=files), tmp_path) == {
        "one": "runs",
        "two": "jumps",
    }


def test_links_inside_and_shared_templates(tmp_path: Path) -> None:
    """A template linked to another inside prompts/, a subfolder include and the shared base
    template all render."""
    templates = {
        "real.j2": "{% extends 'shared/shot.j2' %}{% block action %}{% include 'parts/act.j2' %}"
        "{% endblock %}",
        "parts/act.j2": "{{ action }} fast",
    }
    case = Case("ok", (), templates=templates, links={"prompts/shot.j2": "real.j2"})
    assert loads(case, tmp_path)["one"] == "New shot. runs fast"


def test_formatting_within_reason(tmp_path: Path) -> None:
    """Padding, printf and str.format, joins, repeats and replaces of ordinary size render."""
    template = (
        "{{ '%5.2f'|format(3.14159) }} {{ '{:,}'.format(1234567) }} {{ action|center(9) }}|"
        "{{ ['a', 'b']|join('-') }} {{ '=' * 3 }} {{ 2 ** 10 }} {{ 'fox'|replace('o', '0') }}"
    )
    assert loads(Case("ok", (), templates={"shot.j2": template}), tmp_path) == {
        "one": "3.14 1,234,567 runs |a-b === 1024 f0x"
    }


def test_many_copies_stop_at_the_budget(tmp_path: Path) -> None:
    """Making fresh copies in a loop stops at the budget of characters one render may make,
    even when none of them is kept."""
    template = (
        "{% set big = 'x' * 90000 %}{% for i in range(1000) %}{% set y = big|upper %}"
        "{% endfor %}{{ action }}"
    )
    with pytest.raises(ProjectError, match="made more than 5,000,000 characters in all"):
        load_project(write_case(Case("x", (), templates={"shot.j2": template}), tmp_path))


def test_time_limit_off_the_main_thread(tmp_path: Path) -> None:
    """Loading from another thread works; a runaway template still stops (by the sandbox's
    own clock checks, since the timer signal belongs to the main thread)."""
    template = (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% set x = i + j %}"
        "{% endfor %}{% endfor %}{{ action }}"
    )
    root = write_case(Case("x", (), templates={"shot.j2": template}), tmp_path)
    found: list[BaseException] = []

    def load() -> None:
        try:
            load_project(root)
        except ProjectError as exc:
            found.append(exc)

    start = time.monotonic()
    worker = threading.Thread(target=load)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert time.monotonic() - start < 5
    assert "rendering took more than 1 s" in str(found[0])


def test_later_segments_are_not_rendered_after_the_project_limit(tmp_path: Path) -> None:
    """Templates that each run out their time stop the whole project after a few seconds,
    with one line for the segments that were not rendered."""
    segments = "".join(f"  - id: s{i}\n    vars: {{action: runs}}\n" for i in range(6))
    manifest = BASE.split("segments:")[0] + "segments:\n" + segments
    forever = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    root = write_case(Case("x", (), manifest=manifest, templates={"shot.j2": forever}), tmp_path)
    ran = run_capped(["-m", "cinestitch.cli", "validate", str(root)], cwd=tmp_path)
    *lines, summary = ran.err.splitlines()
    assert ran.code == 3 and ran.seconds < 5 and summary.startswith("4 problems"), ran
    assert lines[0].startswith(
        "cinestitch.yaml:12 segments[3] (s3): not rendered, nor the 2 after it — the prompts"
    )
    assert [line.split(": ", 1)[1] for line in lines[1:]] == [
        "rendering took more than 1 s — simplify the template",
        "rendering took more than 1 s — simplify the template",
        "rendering took too long: all the prompts may take 3 s — simplify the template",
    ]


def test_loading_imports_no_media_libraries(tmp_path: Path) -> None:
    """A project without images or music loads without PyAV, numpy or Pillow."""
    root = write_case(Case("ok", ()), tmp_path)
    code = (
        "import sys; from pathlib import Path; from cinestitch.manifest import load_project; "
        f"load_project(Path({str(root)!r})); "
        "print(sorted(m for m in ('av', 'numpy', 'PIL') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_doit_keeps_an_earlier_builds_state(tmp_path: Path) -> None:
    """A project that stops loading keeps the .doit.db an earlier build wrote (only an empty
    one made by this run is removed)."""
    root = write_case(Case("x", (), manifest=with_base("fps: 12}", "fps: twelve}")), tmp_path)
    db = root / ".doit.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table doit (task_id text not null primary key, task_data json)")
        conn.execute("insert into doit values ('render:one', '{}')")
    conn.close()
    ran = run_capped(["-m", "doit"], cwd=root)
    assert ran.code == 3, ran
    with sqlite3.connect(db) as conn:
        assert conn.execute("select task_id from doit").fetchall() == [("render:one",)]
    conn.close()
