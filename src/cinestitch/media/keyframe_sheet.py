"""The keyframes' contact sheet: every keyframe of a project side by side, in manifest
order, each captioned with its id and the start of its prompt, so the stills can be
approved (or redrawn) before any clip between them is paid for."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from cinestitch.atomic import atomic_path

THUMB_WIDTH = 320
COLUMNS = 4
GAP = 10
CAPTION_LINES = 3
LINE_HEIGHT = 16
BACKGROUND = (24, 24, 28)


def write_keyframe_sheet(stills: Sequence[tuple[str, str, Path]], dest: Path) -> None:
    """A PNG of each ``(id, caption, picture)`` in a grid of ``COLUMNS`` (written atomically)."""
    thumbs = [_thumb(path) for _, _, path in stills]
    thumb_h = max((t.height for t in thumbs), default=2)
    cell_h = thumb_h + GAP + LINE_HEIGHT * (CAPTION_LINES + 1)
    columns = max(1, min(COLUMNS, len(stills)))
    rows = -(-len(stills) // columns) if stills else 1
    width = GAP + columns * (THUMB_WIDTH + GAP)
    sheet = Image.new("RGB", (width, GAP + rows * (cell_h + GAP)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    for n, ((name, caption, _), thumb) in enumerate(zip(stills, thumbs, strict=True)):
        x = GAP + (n % columns) * (THUMB_WIDTH + GAP)
        y = GAP + (n // columns) * (cell_h + GAP)
        sheet.paste(thumb, (x, y))
        text_y = y + thumb_h + 4
        draw.text((x, text_y), f"{n + 1}. {name}", fill=(250, 210, 60), font=font)
        lines = textwrap.wrap(" ".join(caption.split()), width=46)[:CAPTION_LINES]
        for k, line in enumerate(lines):
            draw.text((x, text_y + LINE_HEIGHT * (k + 1)), line, fill=(220, 220, 220), font=font)
    with atomic_path(dest) as tmp:
        sheet.save(tmp, format="PNG")


def _thumb(path: Path) -> Image.Image:
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    height = max(2, round(image.height * THUMB_WIDTH / max(image.width, 1)))
    return image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)
