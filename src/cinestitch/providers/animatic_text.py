"""The animatic's text: the prompt caption and the corner label, drawn once as overlays.

Pillow's bundled font (``ImageFont.load_default(size=...)``) keeps rendering offline and equal
on every machine; sizes follow the frame height so text reads the same at any resolution.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cinestitch.providers.animatic_art import FloatArray, Overlay

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _text_overlay(
    size: tuple[int, int],
    lines: list[str],
    font: Font,
    origin: tuple[float, float],
    line_height: float,
    centre: bool,
    panel: FloatArray,
) -> Overlay:
    """White text with a soft dark shadow over a dark translucent ``panel`` alpha map."""
    text, shadow = Image.new("L", size), Image.new("L", size)
    offset = max(1, round(line_height / 16))
    for i, line in enumerate(lines):
        lw = font.getlength(line)
        x = (size[0] - lw) / 2 if centre else origin[0]
        y = origin[1] + i * line_height
        ImageDraw.Draw(text).text((x, y), line, fill=255, font=font)
        ImageDraw.Draw(shadow).text((x + offset, y + offset), line, fill=170, font=font)
    a_text = np.asarray(text, np.float32)[..., None] / 255
    a_shadow = np.asarray(shadow, np.float32)[..., None] / 255
    under = a_shadow + (1 - a_shadow) * panel[..., None]
    alpha = a_text + (1 - a_text) * under
    return Overlay(np.ascontiguousarray(a_text * 248), np.ascontiguousarray(alpha))


def wrap_text(text: str, font: Font, width: float, max_lines: int) -> list[str]:
    """Greedy word wrap to ``width`` pixels; an overflowing last line ends with an ellipsis."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > max_lines:
        last = " ".join(lines[max_lines - 1 :])
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return lines


def render_caption(prompt: str, width: int, height: int) -> tuple[Overlay, int] | None:
    """The prompt on a full-width translucent band near the bottom; returns it and its y."""
    size = max(8, round(height * 0.045))
    font = ImageFont.load_default(size=size)
    lines = wrap_text(prompt, font, width * 0.84, 3 if height >= 240 else 2)
    if not lines:
        return None
    line_h = size * 1.3
    pad = size * 0.6
    band_h = round(len(lines) * line_h + 2 * pad)
    rows = np.arange(band_h, dtype=np.float32) + 0.5
    feather = np.clip(np.minimum(rows, band_h - rows) / max(pad * 0.8, 1), 0, 1)
    panel = np.broadcast_to((feather * 0.5)[:, None], (band_h, width)).astype(np.float32)
    overlay = _text_overlay((width, band_h), lines, font, (0, pad), line_h, True, panel)
    return overlay, height - round(height * 0.04) - band_h


def render_label(text: str, height: int) -> Overlay:
    """A small corner tag: ``text`` on a dark translucent rounded box."""
    size = max(7, round(height * 0.026))
    font = ImageFont.load_default(size=size)
    pad = max(2, round(size * 0.45))
    box = (round(font.getlength(text)) + 2 * pad, round(size * 1.25) + 2 * pad)
    panel = Image.new("L", box)
    ImageDraw.Draw(panel).rounded_rectangle((0, 0, box[0] - 1, box[1] - 1), radius=pad, fill=255)
    alpha = np.asarray(panel, np.float32) / 255 * 0.45
    return _text_overlay(box, [text], font, (pad, pad), size * 1.25, False, alpha)
