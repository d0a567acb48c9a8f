"""The storyboard's up-to-date check: the page carries the signature of the model it shows,
so a build that changed nothing renders nothing, while an edited or truncated page, or a
change in what the page shows, is written again."""

from __future__ import annotations

import shutil
from pathlib import Path

from cinestitch.storyboard import (
    ChapterMark,
    Page,
    is_current,
    page_signature,
    render_page,
    signature_of,
    write_storyboard,
)
from cinestitch.tasks import load_plan_or_exit


def small_page(title: str = "Review") -> Page:
    return Page(
        title=title,
        video=None,
        chapters_file=None,
        chapters=(ChapterMark("a", "A", 0.0, 1.0),),
        cards=(),
        report=None,
        summary="0 segments",
        spent="$0.00",
        width=64,
        height=36,
    )


def test_rendered_page_carries_its_model_signature() -> None:
    """The last line of a rendered page names the signature of its model."""
    page = small_page()
    text = render_page(page).encode()
    assert signature_of(text) == page_signature(page)
    assert page_signature(small_page("Other")) != page_signature(page)


def test_edited_or_truncated_page_has_no_signature() -> None:
    """A page whose text changed after it was written, or lost its end, carries none."""
    text = render_page(small_page()).encode()
    assert signature_of(text.replace(b"Review", b"Edited", 1)) is None
    assert signature_of(text[:-10]) is None
    assert signature_of(b"<html></html>") is None


def test_check_follows_the_page_on_disk(built_review: tuple[Path, str], tmp_path: Path) -> None:
    """Once written the page is current; edited by hand, or a picture removed, it is not
    (a copied project's pictures are named by their new paths, so its page is written)."""
    root = tmp_path / "review"
    shutil.copytree(built_review[0], root, symlinks=True)
    plan = load_plan_or_exit(root)
    assert not is_current(plan, "check")
    write_storyboard(plan, "check")
    assert is_current(plan, "check")
    page = plan.paths.storyboard
    original = page.read_bytes()
    page.write_bytes(original.replace(b"<body", b"<body data-edited", 1))
    assert not is_current(plan, "check")
    page.write_bytes(original)
    assert is_current(plan, "check")
    next(plan.paths.storyboard_files.glob("*.jpg")).unlink()
    assert not is_current(plan, "check")


def test_kept_template_renders_the_same_page(tmp_path: Path) -> None:
    """The compiled template kept between processes gives the same page; a damaged or
    unwritable folder only means it is compiled again."""
    page = small_page()
    plain = render_page(page)
    folder = tmp_path / "compiled"
    assert render_page(page, folder) == plain
    (kept,) = folder.iterdir()
    assert render_page(page, folder) == plain
    kept.write_bytes(b"damaged")
    assert render_page(page, folder) == plain
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert render_page(page, blocked) == plain
