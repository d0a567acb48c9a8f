"""The plan's rows for keyframes, pictures and existing clips, as the table, JSON and
Markdown show them (from a loaded manifest, nothing built)."""

from __future__ import annotations

from PIL import Image

from cinestitch.manifest import load_project
from cinestitch.plan import plan_build
from cinestitch.plan_formats import build_plan_json, render_plan
from cinestitch.state import run_forecast
from tests.conftest import ProjectFactory
from tests.media.media_support import write_clip

MANIFEST = """
    schema_version: 1
    title: Rows
    output: {size: 128x72, fps: 12}
    provider: {name: animatic}
    defaults: {seconds: 1}
    keyframes:
      - {id: start, image: assets/start.png}
      - {id: end, prompt: "The end."}
    segments:
      - {id: intro, clip: assets/intro.mp4}
      - {id: move, between: [start, end], prompt: "Move."}
"""


def test_keyframe_picture_and_footage_rows(make_project: ProjectFactory) -> None:
    """Keyframes come first, labelled keyframe:<id> and of kind keyframe; a picture and an
    existing clip are rows that cost nothing; every format renders them."""
    root = make_project(MANIFEST)
    (root / "assets").mkdir()
    Image.new("RGB", (128, 72), "navy").save(root / "assets" / "start.png")
    write_clip(root / "assets" / "intro.mp4", seconds=1.0, fps=12, width=128, height=72)
    plan = plan_build(load_project(root))
    forecast, _ = run_forecast(plan)
    data = build_plan_json(forecast, plan.project.budget, 0.0, "rows", "Rows")
    rows = {r["id"]: r for r in data["segments"]}
    assert list(rows) == ["keyframe:start", "keyframe:end", "intro", "move"]
    assert rows["keyframe:start"]["status"] == "picture" and rows["intro"]["status"] == "footage"
    assert rows["keyframe:end"]["kind"] == "keyframe" and rows["move"]["kind"] == "segment"
    assert data["to_generate"] == ["keyframe:end", "move"]
    table = render_plan(forecast, plan.project.budget, 0.0, "rows", "Rows", "text")
    assert "2 to generate (1 still), 1 s of video" in table
    markdown = render_plan(forecast, plan.project.budget, 0.0, "rows", "Rows", "markdown")
    assert "| keyframe:start | picture |" in markdown
