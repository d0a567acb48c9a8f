"""Contact sheets: the takes of a segment side by side, first, middle and last frame each.

One row per take, so a user can compare takes at a glance and pick one with ``take: N``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cinestitch.atomic import atomic_path
from cinestitch.media.frames import read_frames_rgb
from cinestitch.media.probe import probe_clip

THUMB_WIDTH = 320
GAP = 8
LABEL = 22
COLUMNS = ("first", "middle", "last")


def write_contact_sheet(clips: list[Path], selected: int, dest: Path) -> None:
    """A PNG of every clip's first, middle and last frame; the selected take (1-based) is
    framed in yellow."""
    rows = [_row(clip) for clip in clips]
    thumb_h = rows[0][0].height
    width = GAP + len(COLUMNS) * (THUMB_WIDTH + GAP)
    height = GAP + len(rows) * (LABEL + thumb_h + GAP)
    sheet = Image.new("RGB", (width, height), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for r, thumbs in enumerate(rows):
        top = GAP + r * (LABEL + thumb_h + GAP)
        take = r + 1
        mark = "  (selected)" if take == selected else ""
        draw.text(
            (GAP, top + 3), f"take {take}: {clips[r].name}{mark}", fill=(230, 230, 230), font=font
        )
        for c, thumb in enumerate(thumbs):
            x, y = GAP + c * (THUMB_WIDTH + GAP), top + LABEL
            sheet.paste(thumb, (x, y))
            if take == selected:
                draw.rectangle(
                    (x - 2, y - 2, x + THUMB_WIDTH + 1, y + thumb_h + 1),
                    outline=(250, 210, 60),
                    width=2,
                )
    with atomic_path(dest) as tmp:
        sheet.save(tmp, format="PNG")


def _row(clip: Path) -> list[Image.Image]:
    frames = probe_clip(clip).frame_count
    pictures = read_frames_rgb(clip, [0, frames // 2, -1])
    return [_thumb(p) for p in pictures]


def _thumb(picture: np.ndarray) -> Image.Image:
    image = Image.fromarray(picture)
    height = max(2, round(image.height * THUMB_WIDTH / image.width))
    return image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)
