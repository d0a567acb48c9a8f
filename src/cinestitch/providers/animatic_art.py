"""The animatic's pictures: palettes, the generated backdrop, the subject, and compositing.

Everything here is a pure function of its arguments (sizes, colours, a seeded generator), so
equal requests draw equal pixels. Large images are computed with numpy; Pillow draws only
small things (the subject, text) once per clip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from cinestitch.providers.animatic_job import PALETTE_NAMES

FloatArray = npt.NDArray[np.floating[Any]]
"""Float pictures; float32 in practice (numpy's stubs widen arithmetic results)."""
ByteImage = npt.NDArray[np.uint8]
RGB = tuple[int, int, int]
SUPERSAMPLE = 4


@dataclass(frozen=True)
class Palette:
    sky_top: RGB
    sky_horizon: RGB
    sun: RGB
    cloud: RGB
    far: RGB
    near: RGB
    ground: RGB
    accent: RGB
    """The subject's colour."""
    stars: bool = False
    glow: float = 0.45
    """How strongly the sun (or moon) lights the sky around it."""


PALETTES = {
    "day": Palette(
        (58, 118, 196), (196, 222, 240), (255, 246, 222), (250, 252, 255),
        (122, 158, 172), (84, 134, 92), (52, 96, 60), (228, 86, 56),
    ),
    "dusk": Palette(
        (40, 44, 102), (246, 152, 104), (255, 214, 150), (250, 186, 160),
        (118, 82, 118), (68, 48, 84), (40, 30, 54), (255, 204, 110),
    ),
    "night": Palette(
        (6, 10, 30), (36, 54, 100), (236, 238, 228), (70, 84, 124),
        (34, 46, 80), (20, 28, 52), (10, 14, 28), (118, 196, 255), stars=True, glow=0.28,
    ),
    "dawn": Palette(
        (116, 142, 190), (246, 214, 198), (255, 238, 214), (255, 240, 234),
        (148, 154, 178), (102, 120, 132), (80, 96, 102), (206, 70, 104),
    ),
}  # fmt: skip

_KEYWORDS = {
    "night": r"night|moon|midnight|stars?|dark",
    "dusk": r"dusk|sunset|evening|twilight|golden",
    "dawn": r"dawn|sunrise|morning|mist|misty|fog|foggy",
    "day": r"day|sunny|sun|noon|bright|sunlit",
}


def choose_palette(prompt: str, option: str | None, pick: int) -> str:
    """The ``palette`` option, else the first palette whose keyword the prompt names, else
    the one ``pick`` (a hash byte) selects."""
    if option:
        return option
    text = prompt.lower()
    for name, pattern in _KEYWORDS.items():
        if re.search(rf"\b({pattern})\b", text):
            return name
    return PALETTE_NAMES[pick % len(PALETTE_NAMES)]


def _rgb(colour: RGB) -> FloatArray:
    return np.array(colour, dtype=np.float32)


def _mix(img: FloatArray, colour: RGB | FloatArray, amount: FloatArray) -> FloatArray:
    """Blend ``colour`` over ``img`` (h, w, 3) by ``amount`` (broadcastable to (h, w))."""
    return img + (np.asarray(colour, dtype=np.float32) - img) * amount[..., None]


def _ridge(x: FloatArray, rng: np.random.Generator, waves: int) -> FloatArray:
    """A smooth random skyline in 0..1 across ``x`` (0..1)."""
    out = np.zeros_like(x)
    for k in range(waves):
        freq = rng.uniform(1.0, 2.5) * (k + 1)
        out += np.sin(2 * np.pi * (freq * x + rng.uniform())) / (k + 1)
    return np.asarray((out - out.min()) / max(float(np.ptp(out)), 1e-6), dtype=np.float32)


def render_backdrop(
    width: int, height: int, palette: Palette, rng: np.random.Generator
) -> ByteImage:
    """A landscape: sky gradient, sun or moon with a glow, clouds, two ridges, ground."""
    y = ((np.arange(height, dtype=np.float32) + 0.5) / height)[:, None]
    x = ((np.arange(width, dtype=np.float32) + 0.5) / width)[None, :]
    aspect = width / height
    horizon = rng.uniform(0.58, 0.66)
    t = np.clip(y / horizon, 0, 1) ** 1.4
    sky = _mix(np.broadcast_to(_rgb(palette.sky_top), (height, 1, 3)), palette.sky_horizon, t)
    img = np.broadcast_to(sky, (height, width, 3)).copy()
    if palette.stars:
        _draw_stars(img, rng, horizon)
    sx, sy = rng.uniform(0.15, 0.85), rng.uniform(0.3, 0.6) * horizon
    r = rng.uniform(0.04, 0.06)
    dist = np.hypot((x - sx) * aspect, y - sy)
    img = _mix(img, palette.sun, np.exp(-((dist / (r * 5)) ** 2)) * palette.glow)
    img = _mix(img, palette.sun, np.clip((r - dist) * height + 0.5, 0, 1))
    for _ in range(int(rng.integers(2, 5))):
        img = _mix(img, palette.cloud, _cloud(x, y, aspect, horizon, rng))
    far_colour = _rgb(palette.far) * 0.8 + _rgb(palette.sky_horizon) * 0.2
    far = horizon - 0.03 - 0.08 * _ridge(x, rng, 3)
    img = _mix(img, far_colour, np.clip((y - far) * height + 0.5, 0, 1))
    near = horizon + 0.03 - 0.06 * _ridge(x, rng, 2)
    ground_t = np.clip((y - horizon) / (1 - horizon), 0, 1)
    ground = _mix(np.broadcast_to(_rgb(palette.near), (height, 1, 3)), palette.ground, ground_t)
    img = img + (ground - img) * np.clip((y - near) * height + 0.5, 0, 1)[..., None]
    vignette = 1 - 0.22 * (((x - 0.5) * 1.6) ** 2 + ((y - 0.5) * 1.6) ** 2)
    img *= vignette[..., None]
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _draw_stars(img: FloatArray, rng: np.random.Generator, horizon: float) -> None:
    height, width = img.shape[:2]
    count = int(90 * width / height)
    ys = (rng.uniform(0, horizon * 0.85, count) * height).astype(np.intp)
    xs = (rng.uniform(0, 1, count) * width).astype(np.intp)
    glow = rng.uniform(0.25, 0.9, count).astype(np.float32)[:, None]
    img[ys, xs] += (255 - img[ys, xs]) * glow


def _cloud(
    x: FloatArray, y: FloatArray, aspect: float, horizon: float, rng: np.random.Generator
) -> FloatArray:
    """A soft cloud: a few overlapping Gaussian puffs along a line."""
    cx, cy = rng.uniform(0.05, 0.95), rng.uniform(0.12, 0.5) * horizon
    size = rng.uniform(0.05, 0.09)
    alpha = np.zeros((y.shape[0], x.shape[1]), dtype=np.float32)
    for _ in range(4):
        px, py = cx + rng.uniform(-2, 2) * size / aspect, cy + rng.uniform(-0.3, 0.3) * size
        rx, ry = rng.uniform(0.8, 1.4) * size / aspect, rng.uniform(0.35, 0.55) * size
        alpha = np.maximum(alpha, np.exp(-(((x - px) / rx) ** 2 + ((y - py) / ry) ** 2)))
    return alpha * np.float32(rng.uniform(0.45, 0.7))


def fit_reference(image: Image.Image, width: int, height: int) -> ByteImage:
    """Cover-fit: scale to cover ``width`` x ``height``, then crop the centre."""
    image = ImageOps.exif_transpose(image)
    if image.mode != "RGB":
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
        image = image.convert("RGB")
    if image.size != (width, height):
        image = ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8).copy()


@dataclass(frozen=True)
class Overlay:
    """A premultiplied RGBA bitmap: ``rgb`` (h, w, 3) in 0..255 times ``alpha`` (h, w, 1)."""

    rgb: FloatArray
    alpha: FloatArray

    @property
    def width(self) -> int:
        return int(self.alpha.shape[1])

    @property
    def height(self) -> int:
        return int(self.alpha.shape[0])


def overlay_from_image(image: Image.Image) -> Overlay:
    data = np.asarray(image.convert("RGBA"), dtype=np.float32)
    alpha = data[..., 3:4] / 255
    return Overlay(np.ascontiguousarray(data[..., :3] * alpha), np.ascontiguousarray(alpha))


def blend(canvas: ByteImage, overlay: Overlay, x: int, y: int, strength: float = 1.0) -> None:
    """Composite ``overlay`` onto ``canvas`` in place at (x, y), clipped to the canvas."""
    h, w = canvas.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + overlay.width, w), min(y + overlay.height, h)
    if x0 >= x1 or y0 >= y1 or strength <= 0:
        return
    src = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    alpha = overlay.alpha[src] * np.float32(strength)
    region = region * (1 - alpha) + overlay.rgb[src] * np.float32(strength)
    canvas[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def render_figure(height: int, colour: RGB) -> Overlay:
    """A soft token figure (head and body) with a dark rim so it reads on any picture."""
    s = max(height, 8) * SUPERSAMPLE
    w = int(s * 0.62)
    rim = max(2, round(s * 0.025))
    cx = w / 2
    fill, outline = Image.new("L", (w, s)), Image.new("L", (w, s))
    for layer, grow in ((outline, rim), (fill, 0)):
        draw = ImageDraw.Draw(layer)
        r = s * 0.14 + grow
        draw.ellipse((cx - r, s * 0.18 - r, cx + r, s * 0.18 + r), fill=255)
        box = (cx - s * 0.2 - grow, s * 0.35 - grow, cx + s * 0.2 + grow, s * 0.99 + grow * 0.3)
        draw.rounded_rectangle(box, radius=s * 0.16 + grow, fill=255)
    shade = np.linspace(1.12, 0.78, s, dtype=np.float32)[:, None, None]
    body = np.clip(_rgb(colour)[None, None] * shade, 0, 255)
    shine = Image.new("L", (w, s))
    ImageDraw.Draw(shine).ellipse((cx - s * 0.09, s * 0.08, cx - s * 0.01, s * 0.14), fill=110)
    shine_a = (
        np.asarray(shine.filter(ImageFilter.GaussianBlur(s * 0.015)), np.float32)[..., None] / 255
    )
    body = body + (255 - body) * shine_a
    a_fill = np.asarray(fill, np.float32)[..., None] / 255
    a_rim = np.asarray(outline, np.float32)[..., None] / 255 * 0.5
    alpha = a_fill + a_rim * (1 - a_fill)
    rgb = np.where(alpha > 0, body * a_fill / np.maximum(alpha, 1e-6), 0)
    rgba = np.clip(np.concatenate([rgb, alpha * 255], axis=2) + 0.5, 0, 255).astype(np.uint8)
    big = Image.fromarray(rgba)  # (h, w, 4) uint8 is RGBA; naming the mode is deprecated
    return overlay_from_image(
        big.resize((w // SUPERSAMPLE, s // SUPERSAMPLE), Image.Resampling.LANCZOS)
    )


def render_shadow(width: int) -> Overlay:
    """A soft elliptical ground shadow ``width`` pixels wide."""
    w = max(width, 4) * SUPERSAMPLE
    h = max(w // 4, 4)
    mask = Image.new("L", (w, h))
    ImageDraw.Draw(mask).ellipse((w * 0.15, h * 0.3, w * 0.85, h * 0.7), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(h * 0.12)).resize(
        (w // SUPERSAMPLE, h // SUPERSAMPLE), Image.Resampling.LANCZOS
    )
    alpha = np.asarray(mask, np.float32)[..., None] / 255 * 0.4
    return Overlay(np.zeros((*alpha.shape[:2], 3), np.float32), alpha)
