"""The loaded project: frozen values, resolved defaults, paths checked to stay inside."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cinestitch.media.finish import Caption, Comment, Duck, Speed
from cinestitch.media.fit import FitMode
from cinestitch.media.types import Transition
from cinestitch.providers.base import Transport

ReferenceKind = Literal["none", "segment", "image", "keyframe"]
MANIFEST_NAME = "cinestitch.yaml"


@dataclass(frozen=True)
class Reference:
    """What a segment starts from, resolved: nothing, an earlier segment's last frame, an
    image file (``value`` relative to the project), or a keyframe (``value``: its id)."""

    kind: ReferenceKind
    value: str | None = None

    def describe(self) -> str:
        if self.kind == "segment":
            return f"last frame of '{self.value}'"
        if self.kind == "keyframe":
            return f"keyframe '{self.value}'"
        return self.value if self.kind == "image" and self.value else "none"


@dataclass(frozen=True)
class Segment:
    id: str
    index: int
    template: str | None
    """Template name; ``None`` when the prompt is inline."""
    inline_prompt: str | None
    seconds: float
    seed: int
    vars: Mapping[str, Any]
    reference: Reference
    head_trim: float
    tail_trim: float
    transition: Transition
    sharpest_of: int
    takes: int
    """How many takes to generate."""
    take: int
    """The selected take (1-based)."""
    line: int | None
    """Line of the segment in the manifest, for messages."""
    provider: ProviderSpec = field(default_factory=lambda: ProviderSpec("animatic", "sketch", {}))
    """The project's provider block with the segment's own ``provider:`` merged over it."""
    end_frame: str | None = None
    """An image in the project the clip should end on (where the provider accepts one)."""
    extend: bool = False
    """Continue the reference segment's clip natively (Veo extend) instead of from its frame."""
    title: str | None = None
    """The segment's chapter title (``None``: its id)."""
    clip: str | None = None
    """An existing video in the project used as this segment (``clip:``): never generated;
    ``seconds`` is then its length."""
    speed: Speed | None = None
    """A speed change, applied when the clip is conformed."""
    colour_anchor: bool = False
    """Conform the clip's colour to its chain's first segment (``colour: {anchor: chain}``)."""
    captions: tuple[Caption, ...] = ()
    comments: tuple[Comment, ...] = ()
    between: tuple[str, ...] = ()
    """The keyframes the segment runs between (``between: [start, end]``; the end may be
    left out); its ``reference`` is then the first."""
    pin: bool = False
    """Keep the clip the lock records even when what it started from changed."""
    characters: tuple[str, ...] = ()
    """The characters who appear (their pictures go to providers that take them)."""

    @property
    def end_keyframe(self) -> str | None:
        """The keyframe the segment ends on, if any."""
        return self.between[1] if len(self.between) > 1 else None

    @property
    def chapter_title(self) -> str:
        """What chapters, the storyboard and editors call the segment."""
        return self.title or self.id


@dataclass(frozen=True)
class Character:
    """Someone (or something) who appears in several shots: a description for the
    templates and pictures for the providers that take reference images."""

    name: str
    index: int
    description: str
    images: tuple[str, ...]
    """Pictures in the project (relative paths), in the order they are sent."""
    line: int | None = None


@dataclass(frozen=True)
class Keyframe:
    """A still the segments between keyframes start and end on: an image in the project,
    or one an image provider generates from a prompt (paid once, like a clip)."""

    id: str
    index: int
    image: str | None
    """A picture in the project; ``None`` when the keyframe is generated."""
    template: str | None
    inline_prompt: str | None
    seed: int
    vars: Mapping[str, Any]
    provider: ProviderSpec
    """Who generates it (the keyframe's block over ``keyframe_provider``, else the
    project's provider)."""
    characters: tuple[str, ...] = ()
    line: int | None = None

    @property
    def generated(self) -> bool:
        return self.image is None


@dataclass(frozen=True)
class Output:
    path: str
    width: int
    height: int
    fps: int
    crf: int
    preset: str
    fit: FitMode = "pad"
    """How clips of another aspect ratio fill the frame: pad, crop or stretch."""


@dataclass(frozen=True)
class ProviderSpec:
    """Who generates (``name``, ``model``, ``options``: what defines the output, in every
    request key) and how to reach it (the rest: never in a key, so moving to another gateway
    regenerates nothing)."""

    name: str
    model: str
    options: Mapping[str, Any]
    price_per_second: float | None = None
    """Overrides the price table for estimates and budgets."""
    base_url: str | None = None
    key_env: str | None = None
    max_in_flight: int | None = None
    poll_interval: float | None = None
    timeout: float | None = None
    """Seconds for one HTTP request (``None``: the default)."""
    job_timeout: float | None = None
    """Seconds a job may take from submission to its end (``None``: the default)."""
    dialect: str | None = None

    def transport(self) -> Transport:
        """How to reach the provider, for ``get_provider``."""
        default = Transport()
        return Transport(
            base_url=self.base_url,
            key_env=self.key_env,
            timeout=self.timeout if self.timeout is not None else default.timeout,
            poll_interval=self.poll_interval,
            job_timeout=self.job_timeout if self.job_timeout is not None else default.job_timeout,
            max_in_flight=self.max_in_flight,
            dialect=self.dialect,
        )


@dataclass(frozen=True)
class Budget:
    """Spending limits in USD; ``None`` is no limit."""

    build: float | None = None
    total: float | None = None


@dataclass(frozen=True)
class ReviewSpec:
    """When the seam scores flag a seam or a segment (``review:`` in the manifest)."""

    seam_threshold: float = 0.5
    """A seam whose continuity (SSIM of the frames either side) is below this is flagged."""
    drift_threshold: float = 6.0
    """A segment whose colour is further than this (CIE76 Delta E) from its chain's first
    segment is flagged."""


@dataclass(frozen=True)
class AudioSpec:
    music: str
    volume: float
    fade_in: float
    fade_out: float
    loop: bool
    duck: Duck | None = None
    """How the music ducks under the segments' own sound (``audio.duck``)."""


@dataclass(frozen=True)
class RenderedPrompt:
    segment_id: str
    text: str
    template: str
    """The template file (as the user would name it) or ``cinestitch.yaml`` for inline."""


@dataclass(frozen=True)
class Project:
    root: Path
    title: str
    output: Output
    provider: ProviderSpec
    bible: Mapping[str, Any]
    segments: tuple[Segment, ...]
    audio: AudioSpec | None
    budget: Budget = field(default_factory=Budget)
    cache: str | None = None
    """The manifest's cache, as written: a directory, or a URL (``s3://…``, ``gs://…``,
    ``az://…``, ``file://…``) for a remote tier behind ``.cinestitch/cache``
    (``CINESTITCH_CACHE`` overrides it)."""
    prompts: Mapping[str, RenderedPrompt] = field(default_factory=dict)
    """Rendered at load time, so template errors surface before anything runs."""
    review: ReviewSpec = field(default_factory=ReviewSpec)
    keyframes: tuple[Keyframe, ...] = ()
    characters: tuple[Character, ...] = ()
    manifest_key: str = field(default="", compare=False)
    """``validity_key`` of the manifest bytes this project was loaded from (empty when it
    was made otherwise): what a successful load is remembered by."""

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def name(self) -> str:
        return self.root.name

    def segment(self, segment_id: str) -> Segment:
        return self._segments_by_id[segment_id]

    @functools.cached_property
    def _segments_by_id(self) -> dict[str, Segment]:
        return {s.id: s for s in self.segments}

    def keyframe(self, keyframe_id: str) -> Keyframe:
        return next(k for k in self.keyframes if k.id == keyframe_id)

    def character(self, name: str) -> Character | None:
        return next((c for c in self.characters if c.name == name), None)

    def cast_images(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The pictures of the named characters, in order (unknown names are skipped: the
        checks report them)."""
        found = (self.character(n) for n in names)
        return tuple(image for c in found if c is not None for image in c.images)
