"""Runway's video models: ratios, durations, frames, sound and credits, as static data.

Sources (protocol sheet ``video-apis.md`` §3, from Runway's Python SDK 5.13 types and its
API skill): ``gen4.5`` takes an integer duration of 2-10 s and six ratios (two for text
alone), a first frame only, a seed; ``gen4_turbo`` the same ratios, a first frame only
(2-10 s per a third party); ``veo3.1`` / ``veo3.1_fast`` 4/6/8 s, four ratios, a first and an
optional last frame, ``audio`` on or off, a negative prompt; ``veo3`` 8 s only. Credits per
second (1 credit = $0.01): gen4.5 12, gen4_turbo 5, veo3 40, veo3.1 20 silent / 40 with
sound, veo3.1_fast 10 / 15. The frame rate of what Runway returns is UNCONFIRMED (24 here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cinestitch.providers.base import Capabilities
from cinestitch.providers.spec import Shot

NAME = "runway"
KEY_ENV = "RUNWAYML_API_SECRET"
PUBLIC_BASE_URL = "https://api.dev.runwayml.com"
API_VERSION = "2024-11-06"
MAX_DATA_URI_BYTES = 5 * 1024 * 1024
"""An image sent inline: the data URI itself may be 5 MB (so the bytes about 3.7 MB)."""
MAX_PROMPT_CHARS = 1000
GEN4_RATIOS = ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")
VEO_RATIOS = ("1280:720", "720:1280", "1080:1920", "1920:1080")
RATIO_SLACK = 0.03
"""How far (relative) the output's aspect may be from a ratio for that ratio to be picked."""


@dataclass(frozen=True)
class RunwayModel:
    name: str
    durations: tuple[int, ...]
    ratios: tuple[str, ...]
    text_ratios: tuple[str, ...] = ()
    """Ratios of ``/v1/text_to_video`` for this model; empty: it needs a first frame."""
    last_frame: bool = False
    audio: bool = False
    """Takes ``audio`` (and then returns sound)."""
    seed: bool = False
    negative_prompt: bool = False
    public_figures: bool = False
    """Takes ``contentModeration.publicFigureThreshold``."""
    credits: float = 0.0
    """Credits per second (with sound, where sound is a choice)."""
    silent_credits: float | None = None
    """Credits per second without sound, where that is cheaper."""
    duration_required: bool = True


MODELS: dict[str, RunwayModel] = {
    m.name: m
    for m in (
        RunwayModel(
            "gen4.5",
            tuple(range(2, 11)),
            GEN4_RATIOS,
            text_ratios=("1280:720", "720:1280"),
            seed=True,
            public_figures=True,
            credits=12,
        ),
        RunwayModel(
            "gen4_turbo",
            tuple(range(2, 11)),
            GEN4_RATIOS,
            seed=True,
            public_figures=True,
            credits=5,
        ),
        RunwayModel(
            "veo3.1",
            (4, 6, 8),
            VEO_RATIOS,
            text_ratios=VEO_RATIOS,
            last_frame=True,
            audio=True,
            negative_prompt=True,
            credits=40,
            silent_credits=20,
        ),
        RunwayModel(
            "veo3.1_fast",
            (4, 6, 8),
            VEO_RATIOS,
            text_ratios=VEO_RATIOS,
            last_frame=True,
            audio=True,
            negative_prompt=True,
            credits=15,
            silent_credits=10,
        ),
        RunwayModel(
            "veo3", (8,), VEO_RATIOS, text_ratios=VEO_RATIOS, negative_prompt=True, credits=40
        ),
    )
}
DEFAULT_MODEL = "gen4.5"


def capabilities(model: str) -> Capabilities:
    m = MODELS[model]
    return Capabilities(
        min_seconds=float(min(m.durations)),
        max_seconds=float(max(m.durations)),
        allowed_seconds=tuple(float(d) for d in m.durations),
        accepts_reference_image=True,
        accepts_end_image=m.last_frame,
        extends=False,
        audio=m.audio,
        seed=m.seed,
        fps=24,
        max_prompt_chars=MAX_PROMPT_CHARS,
    )


def option_keys(m: RunwayModel) -> tuple[str, ...]:
    keys = ["ratio"]
    if m.audio:
        keys.append("audio")
    if m.negative_prompt:
        keys.append("negative_prompt")
    if m.public_figures:
        keys.append("public_figure_threshold")
    return tuple(keys)


def check_options(model: str, options: Mapping[str, Any]) -> list[str]:
    m = MODELS[model]
    accepted = option_keys(m)
    problems = [
        f"{key}: unknown option — runway {model} accepts: {', '.join(accepted)}"
        for key in sorted(set(options) - set(accepted))
    ]
    if "ratio" in options and options["ratio"] not in m.ratios:
        problems.append(f"ratio: {model} makes {', '.join(m.ratios)}")
    if "audio" in options and "audio" in accepted and not isinstance(options["audio"], bool):
        problems.append("audio: must be true or false")
    negative = options.get("negative_prompt")
    given = "negative_prompt" in options and "negative_prompt" in accepted
    if given and not (isinstance(negative, str) and negative.strip()):
        problems.append("negative_prompt: must be non-empty text")
    threshold = options.get("public_figure_threshold")
    if "public_figure_threshold" in options and threshold not in ("auto", "low"):
        problems.append("public_figure_threshold: must be auto or low")
    return problems


def check_shot(model: str, options: Mapping[str, Any], shot: Shot) -> list[str]:
    m = MODELS[model]
    problems = []
    ratios = m.ratios if shot.has_reference else m.text_ratios
    if not shot.has_reference and not m.text_ratios:
        problems.append(
            f"reference: runway {model} makes video only from a first frame — give the segment "
            "a reference image, or use gen4.5 or veo3.1 for it"
        )
    elif pick_ratio(ratios, shot.width, shot.height, options) is None:
        problems.append(
            f"ratio: {shot.width}x{shot.height} has no {model} ratio of its shape — use an output "
            f"size of one of {', '.join(ratios)}, or set provider.options.ratio"
        )
    if shot.has_end_frame and not shot.has_reference:
        problems.append(
            f"end_frame: runway {model} takes a last frame only with a first frame — give the "
            "segment a reference too"
        )
    return problems


def _size(ratio: str) -> tuple[int, int]:
    w, _, h = ratio.partition(":")
    return int(w), int(h)


def pick_ratio(
    ratios: tuple[str, ...], width: int, height: int, options: Mapping[str, Any]
) -> str | None:
    """The ``ratio`` option if it is one of ``ratios``, else the ratio of the output's shape
    (the smallest that covers the output, else the largest); ``None`` when none has it."""
    chosen = options.get("ratio")
    if isinstance(chosen, str) and chosen in ratios:
        return chosen
    want = math.log(width / height)
    shaped = [r for r in ratios if abs(math.log(_size(r)[0] / _size(r)[1]) - want) <= RATIO_SLACK]
    if not shaped:
        return None
    by_area = sorted(shaped, key=lambda r: _size(r)[0] * _size(r)[1])
    return next((r for r in by_area if _size(r)[0] >= width), by_area[-1])


def credits_for(m: RunwayModel, seconds: float, audio: bool) -> float:
    """What Runway bills for a clip: credits per second times its length."""
    rate = m.credits if audio or m.silent_credits is None else m.silent_credits
    return rate * seconds
