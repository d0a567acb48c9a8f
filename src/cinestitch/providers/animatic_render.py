"""Render an animatic clip for a GenerationRequest: picture, motion, captions and a soft chord.

The clip is a pure function of the request (prompt, seed, size, fps, seconds, the reference
image's pixels and the ``palette`` option); the job id, the clock and other options play no
part, and Mp4Writer encodes bit-exactly, so equal requests give byte-identical files.

Made for chaining (each segment starts from the previous segment's last frame):

- the first frame is the reference exactly (cover-fitted), before H.264;
- the camera drifts (a push-in of at most 4 % with a pan along the subject's way) and eases
  back to rest before the end, so the last frame is not resampled and five chained segments
  do not zoom or blur cumulatively;
- the subject walks in from off-screen and stands still for the last fifth of the clip, so it
  is visible in the last frame and the next segment begins with it;
- the caption and the corner label fade in after ~0.5 s and out before the last ~0.5 s, so
  neither the first nor the last frame carries text.

Made for keyframes too (each segment runs from one still to the next):

- with an end image, the picture blends towards it over the last ``END_BLEND`` of the clip
  (eased), so the last frame is the end image exactly (cover-fitted), before H.264;
- characters' reference images show as a strip of small portraits that fades with the text
  (never on the first or last frame), and the first one colours the subject.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from cinestitch.media.writer import Mp4Writer
from cinestitch.providers.animatic_art import (
    PALETTES,
    ByteImage,
    FloatArray,
    Overlay,
    blend,
    choose_palette,
    fit_reference,
    overlay_from_image,
    render_backdrop,
    render_figure,
    render_shadow,
)
from cinestitch.providers.animatic_text import render_caption, render_label
from cinestitch.providers.base import GenerationRequest

SAMPLE_RATE = 48_000
PEAK = 0.2
MAX_ZOOM = 0.04
CAMERA_SETTLES_AT = 0.9
"""Fraction of the clip after which the camera is back at rest."""
WALK = (0.05, 0.8)
"""Fraction of the clip during which the subject walks to its mark."""
TEXT_MARGIN = 0.5
TEXT_RAMP = 0.4
RENDER_THREADS = 2
LOOKAHEAD = 4
END_BLEND = 0.45
"""Fraction of the clip over which the picture turns into its end image."""
CAST_HEIGHT = 0.16
"""A character's portrait, as a fraction of the frame's height."""


def frame_count(seconds: float, fps: int) -> int:
    return max(1, round(seconds * fps))


@dataclass(frozen=True)
class Motion:
    """The clip's choreography, in fractions of the frame; drawn from the prompt and seed."""

    zoom: float
    pan_x: float
    pan_y: float
    """Pan at the camera's peak, as a fraction of the room the zoom leaves (-1..1)."""
    from_left: bool
    """The subject enters from the left (walking right), else from the right."""
    end_x: float
    feet_y: float
    figure_height: float


@dataclass(frozen=True)
class Scene:
    """Everything drawn once per clip; frames are composed from it."""

    request: GenerationRequest
    frames: int
    backdrop: ByteImage
    figure: Overlay
    shadow: Overlay
    motion: Motion
    caption: tuple[Overlay, int] | None
    end: ByteImage | None = None
    """The picture the clip ends on (``end_image``, cover-fitted), if any."""
    cast: tuple[Overlay, ...] = ()
    """Portraits of the characters (``reference_images``)."""


def request_digest(request: GenerationRequest) -> bytes:
    """The hash every creative choice derives from (not the size: compositions scale).
    Takes after the first vary it, so each take is a different draw."""
    key: list[object] = [request.prompt, request.seed, request.options.get("palette")]
    if request.take != 1:
        key.append(request.take)
    return hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).digest()


def build_scene(request: GenerationRequest) -> Scene:
    digest = request_digest(request)
    seed = int.from_bytes(digest[:16], "big")
    w, h = request.width, request.height
    palette = PALETTES[choose_palette(request.prompt, request.options.get("palette"), digest[0])]
    if request.reference_image is not None:
        with Image.open(request.reference_image) as image:
            backdrop = fit_reference(image, w, h)
    else:
        backdrop = render_backdrop(w, h, palette, np.random.default_rng([seed, 0]))
    motion = _choose_motion(np.random.default_rng([seed, 1]))
    pictures = [_open_rgb(path) for path in request.reference_images]
    accent = _mean_colour(pictures[0]) if pictures else palette.accent
    figure = render_figure(round(h * motion.figure_height), accent)
    end = None
    if request.end_image is not None:
        with Image.open(request.end_image) as image:
            end = fit_reference(image, w, h)
    return Scene(
        request=request,
        frames=frame_count(request.seconds, request.fps),
        backdrop=backdrop,
        figure=figure,
        shadow=render_shadow(round(figure.width * 1.3)),
        motion=motion,
        caption=render_caption(request.prompt, w, h),
        end=end,
        cast=tuple(_portrait(p, max(2, round(h * CAST_HEIGHT))) for p in pictures),
    )


def _open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        rgb: Image.Image = image.convert("RGB")
    return rgb


def _mean_colour(picture: Image.Image) -> tuple[int, int, int]:
    """A character's colour, for the subject's body: the mean of its picture weighted by
    how saturated each pixel is (a red jersey on a pale ground reads as red)."""
    pixels = np.asarray(picture, np.float32).reshape(-1, 3)
    weight = pixels.max(axis=1) - pixels.min(axis=1) + 1.0
    r, g, b = (round(float(v)) for v in (pixels * weight[:, None]).sum(axis=0) / weight.sum())
    return r, g, b


def _portrait(picture: Image.Image, height: int) -> Overlay:
    width = max(2, round(picture.width * height / max(picture.height, 1)))
    return overlay_from_image(picture.resize((width, height), Image.Resampling.LANCZOS))


def _choose_motion(rng: np.random.Generator) -> Motion:
    direction = 1 if rng.uniform() < 0.5 else -1
    return Motion(
        zoom=float(rng.uniform(0.025, MAX_ZOOM)),
        pan_x=direction * float(rng.uniform(0.3, 0.8)),
        pan_y=float(rng.uniform(-0.4, 0.4)),
        from_left=direction > 0,
        end_x=float(rng.uniform(0.3, 0.7)),
        feet_y=float(rng.uniform(0.72, 0.78)),
        figure_height=float(rng.uniform(0.18, 0.24)),
    )


def _smoothstep(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _camera_box(scene: Scene, u: float) -> tuple[float, float, float, float] | None:
    """The source rectangle the camera sees at ``u`` (0..1), or None when at rest."""
    lift = math.sin(math.pi * min(u / CAMERA_SETTLES_AT, 1.0)) ** 2
    if lift < 1e-9:
        return None
    w, h = scene.request.width, scene.request.height
    m = scene.motion
    zoom = 1 + m.zoom * lift
    bw, bh = w / zoom, h / zoom
    cx = w / 2 + m.pan_x * lift * (w - bw) / 2
    cy = h / 2 + m.pan_y * lift * (h - bh) / 2
    return (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)


def _place_subject(scene: Scene, canvas: ByteImage, u: float) -> None:
    """Draw the subject walking to its mark: eased, bobbing with its steps, then still."""
    w, h = scene.request.width, scene.request.height
    m = scene.motion
    s = (u - WALK[0]) / (WALK[1] - WALK[0])
    eased = _smoothstep(s)
    speed = 6 * s * (1 - s) if 0 < s < 1 else 0.0
    offstage = max(scene.figure.width, scene.shadow.width) / 2 + 1
    start = -offstage if m.from_left else w + offstage
    x = start + (m.end_x * w - start) * eased
    steps = abs(x - start) / max(scene.figure.height * 0.45, 1)
    bob = abs(math.sin(math.pi * steps)) * min(speed, 1.0) * scene.figure.height * 0.05
    feet = m.feet_y * h
    shadow = scene.shadow
    blend(canvas, shadow, round(x - shadow.width / 2), round(feet - shadow.height / 2))
    fig = scene.figure
    blend(canvas, fig, round(x - fig.width / 2), round(feet - fig.height - bob))


def text_strength(index: int, frames: int, fps: int) -> float:
    """Caption/label opacity at frame ``index``: 0 on the first and last frame."""
    end = (frames - 1) / fps
    margin = min(TEXT_MARGIN, end * 0.15)
    ramp = min(TEXT_RAMP, end * 0.15)
    if ramp <= 0:
        return 0.0
    t = index / fps
    return _smoothstep((t - margin) / ramp) * _smoothstep((end - margin - t) / ramp)


class FrameRenderer:
    """Composes frame ``i`` of a scene; caches the corner labels it has drawn."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self._labels: dict[str, Overlay] = {}

    def frame(self, index: int) -> ByteImage:
        scene = self.scene
        req = scene.request
        u = index / (scene.frames - 1) if scene.frames > 1 else 0.0
        canvas = scene.backdrop.copy()
        _place_subject(scene, canvas, u)
        box = _camera_box(scene, u)
        if box is not None:
            image = Image.fromarray(canvas).resize(
                (req.width, req.height), Image.Resampling.BICUBIC, box=box
            )
            canvas = np.array(image, dtype=np.uint8)
        strength = text_strength(index, scene.frames, req.fps)
        if strength > 0:
            if scene.caption is not None:
                blend(canvas, scene.caption[0], 0, scene.caption[1], strength)
            margin = round(req.height * 0.03)
            blend(canvas, self._label(index), margin, margin, strength)
            _draw_cast(scene, canvas, strength)
        if scene.end is not None:
            canvas = _towards_end(canvas, scene.end, u)
        return canvas

    def _label(self, index: int) -> Overlay:
        req = self.scene.request
        total = self.scene.frames / req.fps
        text = f"animatic · seed {req.seed} · {index / req.fps:.1f}/{total:.1f} s"
        if text not in self._labels:
            self._labels[text] = render_label(text, req.height)
        return self._labels[text]


def _draw_cast(scene: Scene, canvas: ByteImage, strength: float) -> None:
    """The characters' portraits in a row at the bottom right."""
    h, w = canvas.shape[:2]
    margin = round(h * 0.03)
    x = w - margin
    for portrait in scene.cast:
        x -= portrait.width
        blend(canvas, portrait, x, h - margin - portrait.height, strength)
        x -= margin // 2


def end_weight(u: float) -> float:
    """How much of the end image frame ``u`` (0..1) shows: 0 until the last ``END_BLEND`` of
    the clip, then eased to exactly 1 on the last frame."""
    if u >= 1.0:
        return 1.0
    return _smoothstep((u - (1 - END_BLEND)) / END_BLEND)


def _towards_end(canvas: ByteImage, end: ByteImage, u: float) -> ByteImage:
    weight = end_weight(u)
    if weight <= 0:
        return canvas
    if weight >= 1:
        return end.copy()
    mixed = canvas.astype(np.float32) * (1 - weight) + end.astype(np.float32) * weight
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


def render_audio(request: GenerationRequest, samples: int) -> FloatArray:
    """A soft, slowly breathing chord (2, samples) chosen from the prompt; peak ``PEAK``."""
    digest = request_digest(request)
    t = np.arange(samples, dtype=np.float64) / SAMPLE_RATE
    roots = (146.83, 164.81, 174.61, 196.0, 220.0, 246.94)
    root = roots[digest[1] % len(roots)]
    third = 5 / 4 if digest[2] % 2 else 6 / 5
    out = np.zeros((2, samples), dtype=np.float64)
    for k, (ratio, level) in enumerate(((1, 1.0), (third, 0.6), (1.5, 0.7), (2, 0.35))):
        phase = digest[3 + k] / 255 * 2 * np.pi
        for ch, detune in enumerate((0.9985, 1.0015)):
            f = root * ratio * detune
            out[ch] += level * (
                np.sin(2 * np.pi * f * t + phase) + 0.12 * np.sin(4 * np.pi * f * t)
            )
    out *= 1 + 0.2 * np.sin(2 * np.pi * 0.23 * t + digest[7] / 40)
    out *= _envelope(t, samples / SAMPLE_RATE)
    peak = float(np.max(np.abs(out))) if samples else 0.0
    return (out * (PEAK / peak if peak > 0 else 0.0)).astype(np.float32)


def _envelope(t: FloatArray, total: float) -> FloatArray:
    attack, release = min(0.8, total * 0.2), min(1.2, total * 0.25)
    rise = np.clip(t / max(attack, 1e-6), 0, 1)
    fall = np.clip((total - t) / max(release, 1e-6), 0, 1)
    return np.asarray((0.5 - 0.5 * np.cos(np.pi * rise)) * (0.5 - 0.5 * np.cos(np.pi * fall)))


def _ahead(make: Callable[[int], ByteImage], count: int) -> Iterator[ByteImage]:
    """``make(0) .. make(count - 1)`` in order, computed a few frames ahead on two threads.

    Composing a frame is mostly Pillow and numpy work that releases the GIL, so it overlaps
    with encoding; the order (and so the output) does not depend on the threads' timing.
    """
    with ThreadPoolExecutor(max_workers=RENDER_THREADS) as pool:
        pending: deque[Future[ByteImage]] = deque()
        for i in range(count):
            pending.append(pool.submit(make, i))
            if len(pending) > LOOKAHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def render_still(request: GenerationRequest, dest: Path) -> None:
    """A keyframe (``kind: image``): the scene as it stands at the end of its walk — the
    subject at its mark, the camera at rest, no text — written as a PNG at ``dest``
    (atomically). A pure function of the request, like a clip."""
    from cinestitch.atomic import atomic_path

    scene = build_scene(request)
    canvas = scene.backdrop.copy()
    _place_subject(scene, canvas, 1.0)
    with atomic_path(dest) as tmp:
        Image.fromarray(canvas).save(tmp, format="PNG")


def render_animatic(
    request: GenerationRequest, dest: Path, progress: Callable[[float], None] | None = None
) -> None:
    """Render ``request`` to an H.264/AAC MP4 at ``dest`` (atomically); report 0..1 progress."""
    scene = build_scene(request)
    frames, fps = scene.frames, request.fps
    audio = render_audio(request, round(frames * SAMPLE_RATE / fps))
    renderer = FrameRenderer(scene)
    with Mp4Writer(dest, request.width, request.height, fps) as writer:
        for i, frame in enumerate(_ahead(renderer.frame, frames)):
            writer.write_frame(frame)
            a0, a1 = round(i * SAMPLE_RATE / fps), round((i + 1) * SAMPLE_RATE / fps)
            writer.write_audio(audio[:, a0:a1])
            if progress is not None:
                progress((i + 1) / frames)
