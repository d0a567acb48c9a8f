"""On-screen text: captions and scrolling comments, laid out on the output's frames and
burned into the pictures that carry them.

``plan_text`` turns the plan's captions and comments into items, each an image (drawn once
with Pillow's bundled font) shown on a range of output frames at a place: a caption stands
still, a comment moves from the right edge to the left one. ``TextLayout.ranges`` are the
frames that carry text: the smart render re-encodes those (widened to the clips' GOPs) and
still copies the rest; ``recipe`` is what a re-encoded piece's digest takes of them, so
adding a caption re-encodes only the piece it falls in.

Text is composited in Y'CbCr (limited range, BT.601) straight onto the yuv420p planes: a
dark box or outline first, then the coloured glyphs; chroma takes the 2x2 mean of the alpha.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from cinestitch.media.finish import Caption, Comment, TextStyle
from cinestitch.media.timeline import Timeline
from cinestitch.media.types import StitchPlan
from cinestitch.media.yuv import Yuv, split_planes

if TYPE_CHECKING:
    from PIL import ImageFont

    Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Alpha = npt.NDArray[np.float32]
MARGIN = 0.06
"""Distance of a caption from the top or bottom edge, as a fraction of the height."""
COMMENT_AREA = 0.75
"""The top part of the frame that comment lanes fill."""
LANE_GAP = 0.5
"""Space kept between two comments in one lane, in text heights."""


@dataclass(frozen=True, eq=False)
class Stamp:
    """One piece of text drawn once: its alpha and premultiplied colour on each plane."""

    key: str
    width: int
    height: int
    alpha_y: Alpha
    paint_y: Alpha
    alpha_c: Alpha
    paint_u: Alpha
    paint_v: Alpha


@dataclass(frozen=True, eq=False)
class TextItem:
    """A stamp on output frames [first, stop): still at (x, y), or scrolling from the right
    edge to past the left one over ``travel`` frames."""

    stamp: Stamp
    first: int
    stop: int
    x: int
    y: int
    travel: int = 0

    def place(self, frame: int, width: int) -> tuple[int, int]:
        """Top-left corner of the stamp on ``frame`` (even, so chroma lines up)."""
        if not self.travel:
            return self.x, self.y
        m = frame - self.first
        x = width - round((width + self.stamp.width) * (m + 0.5) / self.travel)
        return x - x % 2, self.y


@dataclass(frozen=True, eq=False)
class TextLayout:
    """Every text item of a stitch, by output frame."""

    width: int
    height: int
    items: tuple[TextItem, ...]

    @functools.cached_property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        """The output frame ranges that carry text, merged and in order."""
        merged: list[list[int]] = []
        for a, b in sorted((i.first, i.stop) for i in self.items if i.stop > i.first):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return tuple((a, b) for a, b in merged)

    def shown(self, frame: int) -> list[tuple[TextItem, int, int]]:
        """The items on ``frame`` with where each goes."""
        return [
            (item, *item.place(frame, self.width))
            for item in self.items
            if item.first <= frame < item.stop
        ]

    def recipe(self, start: int, stop: int) -> list[list[object]]:
        """What frames [start, stop) show of the text, for a piece's digest (empty: none)."""
        out: list[list[object]] = []
        for frame in range(start, stop):
            shown = [[item.stamp.key, x, y] for item, x, y in self.shown(frame)]
            if shown:
                out.append([frame - start, shown])
        return out

    def draw(self, frame: int, picture: Yuv) -> Yuv:
        """``picture`` (output frame ``frame``) with its text burned in; a new array."""
        shown = self.shown(frame)
        if not shown:
            return picture
        out = picture.copy()
        y, u, v = split_planes(out, self.width, self.height)
        for item, x0, y0 in shown:
            _composite(y, item.stamp.alpha_y, item.stamp.paint_y, x0, y0)
            _composite(u, item.stamp.alpha_c, item.stamp.paint_u, x0 // 2, y0 // 2)
            _composite(v, item.stamp.alpha_c, item.stamp.paint_v, x0 // 2, y0 // 2)
        return out

    def applied(self, pictures: Iterator[Yuv], start: int) -> Generator[Yuv, None, None]:
        """``pictures`` (output frames from ``start``) with their text; closing this closes
        them."""
        try:
            for n, picture in enumerate(pictures):
                yield self.draw(start + n, picture)
        finally:
            close = getattr(pictures, "close", None)
            if close is not None:
                close()


def _composite(plane: Yuv, alpha: Alpha, paint: Alpha, x: int, y: int) -> None:
    """``plane = plane * (1 - alpha) + paint`` where the stamp at (x, y) covers it."""
    h, w = plane.shape
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w, x + alpha.shape[1]), min(h, y + alpha.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    p = paint[y0 - y : y1 - y, x0 - x : x1 - x]
    region = plane[y0:y1, x0:x1].astype(np.float32)
    plane[y0:y1, x0:x1] = np.clip(np.rint(region * (1 - a) + p), 0, 255).astype(np.uint8)


def plan_text(plan: StitchPlan, timeline: Timeline) -> TextLayout | None:
    """The stitch's captions and comments on its frames; ``None`` when it has none."""
    if not plan.has_text:
        return None
    w, h, fps = timeline.width, timeline.height, timeline.fps
    items = [_caption(c, first, stop, w, h) for c, first, stop in caption_frames(plan, timeline)]
    lanes: list[tuple[float, float, float] | None] = []
    total = timeline.total_frames
    for spec, track in zip(plan.clips, timeline.tracks, strict=True):
        for comment in spec.comments:
            first = track.start + round(comment.at * fps)
            travel = max(1, round(comment.seconds * fps))
            if first < total:
                items.append(_comment(comment, first, travel, total, w, h, fps, lanes))
    return TextLayout(w, h, tuple(items))


def caption_frames(plan: StitchPlan, timeline: Timeline) -> list[tuple[Caption, int, int]]:
    """Each caption with the output frames [first, stop) it is shown on (within its clip)."""
    shown = []
    fps, total = timeline.fps, timeline.total_frames
    for spec, track in zip(plan.clips, timeline.tracks, strict=True):
        end = min(total, track.start + track.kept)
        for caption in spec.captions:
            first = min(end, track.start + round(caption.start * fps))
            stop = min(end, track.start + round(caption.end * fps))
            if stop > first:
                shown.append((caption, first, stop))
    return shown


def _caption(caption: Caption, first: int, stop: int, w: int, h: int) -> TextItem:
    stamp = make_stamp(caption.text, caption.style, h, wrap=round(w * 0.9))
    x = (w - stamp.width) // 2
    margin = round(h * MARGIN)
    y = {"top": margin, "middle": (h - stamp.height) // 2}.get(
        caption.position, h - margin - stamp.height
    )
    return TextItem(stamp, first, stop, x - x % 2, max(0, y - y % 2))


def _comment(
    comment: Comment,
    first: int,
    travel: int,
    total: int,
    w: int,
    h: int,
    fps: int,
    lanes: list[tuple[float, float, float] | None],
) -> TextItem:
    """A scrolling comment in the first lane where it never runs into the one before it."""
    stamp = make_stamp(comment.text, comment.style, h, wrap=None)
    line = stamp.height + round(stamp.height * LANE_GAP / 2)
    count = max(1, int(h * COMMENT_AREA) // max(1, line))
    while len(lanes) < count:
        lanes.append(None)
    start, speed = first / fps, (w + stamp.width) * fps / travel
    gap = stamp.height * LANE_GAP
    lane = next((i for i in range(count) if _fits(lanes[i], start, speed, w, gap)), None)
    if lane is None:  # every lane is busy: the one that clears first
        lane = min(range(count), key=lambda i: _clears(lanes[i]))
    lanes[lane] = (start, speed, float(stamp.width))
    y = round(h * 0.04) + lane * line
    return TextItem(stamp, first, min(total, first + travel), w, y - y % 2, travel)


def _fits(
    before: tuple[float, float, float] | None, start: float, speed: float, w: int, gap: float
) -> bool:
    """Whether a comment entering at ``start`` stays behind the lane's previous one: its
    head behind that one's tail when it enters and when that one leaves the frame."""
    if before is None:
        return True
    t0, s0, w0 = before
    leaves = t0 + (w + w0) / s0
    if start >= leaves:
        return True
    tail_at_start = w + w0 - s0 * (start - t0)
    head_at_leave = w - speed * (leaves - start)
    return tail_at_start + gap <= w and head_at_leave >= gap


def _clears(before: tuple[float, float, float] | None) -> float:
    if before is None:
        return 0.0
    t0, s0, w0 = before
    return t0 + w0 / s0


@functools.cache
def font(size: int) -> Font:
    """Pillow's bundled font at ``size`` pixels (offline and equal on every machine).
    Pillow is imported here, by the first text drawn: a stitch without text never loads it."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def wrap(text: str, face: Font, width: float) -> list[str]:
    """Greedy word wrap to ``width`` pixels; explicit line breaks are kept."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            if line and face.getlength(f"{line} {word}") > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def make_stamp(text: str, style: TextStyle, frame_height: int, wrap: int | None) -> Stamp:
    """``text`` drawn once in ``style``: the glyphs in the style's colour with a dark
    outline, over a dark box of the style's opacity."""
    return _stamp(text, style.size, style.color, style.box, frame_height, wrap)


@functools.lru_cache(maxsize=512)
def _stamp(
    text: str, size: float, color: str, box: float, frame_height: int, width: int | None
) -> Stamp:
    import PIL
    from PIL import Image, ImageDraw

    px = max(8, round(size * frame_height))
    face = font(px)
    lines = wrap(text, face, width) if width is not None else [" ".join(text.split())]
    line_h = round(px * 1.25)
    pad = max(2, round(px * 0.3))
    text_w = max((round(face.getlength(line)) for line in lines), default=0)
    w = _even(text_w + 2 * pad)
    h = _even(line_h * len(lines) + 2 * pad)
    glyphs, edges = Image.new("L", (w, h)), Image.new("L", (w, h))
    stroke = max(1, round(px / 12))
    for i, line in enumerate(lines):
        at = ((w - face.getlength(line)) / 2, pad + i * line_h)
        ImageDraw.Draw(edges).text(at, line, fill=255, font=face, stroke_width=stroke)
        ImageDraw.Draw(glyphs).text(at, line, fill=255, font=face)
    a_text = np.asarray(glyphs, np.float32) / 255
    a_dark = np.maximum(np.asarray(edges, np.float32) / 255 * 0.85, np.float32(box))
    alpha = (a_text + (1 - a_text) * a_dark).astype(np.float32)
    yuv = _yuv(color)
    dark = (16.0, 128.0, 128.0)
    paints = [
        (a_text * c + (1 - a_text) * a_dark * d).astype(np.float32)
        for c, d in zip(yuv, dark, strict=True)
    ]
    recipe = repr((text, px, color, box, width, PIL.__version__))
    key = hashlib.sha256(recipe.encode()).hexdigest()[:16]
    return Stamp(key, w, h, alpha, paints[0], _half(alpha), _half(paints[1]), _half(paints[2]))


def _half(plane: Alpha) -> Alpha:
    """The 2x2 mean (a chroma plane's resolution)."""
    h, w = plane.shape
    return np.asarray(plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)), dtype=np.float32)


def _yuv(color: str) -> tuple[float, float, float]:
    """``#rrggbb`` as limited-range BT.601 Y'CbCr."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return (
        16 + 0.2568 * r + 0.5041 * g + 0.0979 * b,
        128 - 0.1482 * r - 0.2910 * g + 0.4392 * b,
        128 + 0.4392 * r - 0.3678 * g - 0.0714 * b,
    )


def _even(n: int) -> int:
    return n + n % 2
