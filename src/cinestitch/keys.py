"""The request key: one SHA-256 over everything that determines a provider's output (pure).

Two generations with equal keys are the same purchase, so the cache serves the second one.
The key covers provider, model, rendered prompt, seconds, size, fps, seed, take, provider
options and the reference image's decoded pixels (so re-encoding a PNG does not change it);
for a still (a keyframe) also its kind, and where characters' pictures are sent, their
pixels. What a request does not use is left out of its encoding, so the keys of projects
that use none of it stay as they were.
Transitions, trims, the audio bed and output quality are not in it: they only restitch.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

KEY_VERSION = 1
"""Bumped when the encoding changes, so old cache entries can never be mistaken for new."""

IDENTITY_SETTINGS = ("provider", "model", "options", "size", "fps", "seconds", "seed")
"""The generation settings that are part of a request's identity."""


def canonical_request(
    prompt: str, settings: Mapping[str, Any], take: int, reference: str | None
) -> bytes:
    """The canonical encoding of a request: sorted keys, no whitespace, UTF-8."""
    identity = {name: settings[name] for name in IDENTITY_SETTINGS}
    if settings.get("kind", "video") != "video":
        identity["kind"] = settings["kind"]
    identity.update(key_version=KEY_VERSION, prompt=prompt, take=take, reference_pixels=reference)
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def request_key(prompt: str, settings: Mapping[str, Any], take: int, reference: str | None) -> str:
    """The hex SHA-256 of ``canonical_request``."""
    return hashlib.sha256(canonical_request(prompt, settings, take, reference)).hexdigest()


def reference_identity(
    reference: str | None, end: str | None, extend: bool = False, cast: tuple[str, ...] = ()
) -> str | None:
    """What the key records of the pictures a request carries: the reference's pixel digest,
    joined by the end frame's where there is one, marked when the clip continues the
    upstream clip natively, and followed by the characters' pictures' digests in the order
    they are sent (keys with none of these stay as they were)."""
    if end is None and not extend and not cast:
        return reference
    text = reference or "-"
    if end is not None:
        text += f"|end:{end}"
    if extend:
        text += "|extend"
    return text + f"|cast:{','.join(cast)}" if cast else text


def take_keys(
    prompt: str, settings: Mapping[str, Any], takes: int, reference: str | None
) -> dict[int, str]:
    """The request key of each take of a segment (the one place keys are made from a plan)."""
    return {n: request_key(prompt, settings, n, reference) for n in range(1, takes + 1)}


def short(digest: str | None) -> str:
    """The first 12 hex digits, for messages and listings."""
    return (digest or "-")[:12]


def conform_key(clip: str, settings: Mapping[str, Any]) -> str:
    """The key of a conformed clip: the source clip's digest and the output settings."""
    identity = {"key_version": KEY_VERSION, "conform": clip, **settings}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
