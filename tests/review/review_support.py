"""The review tests' small project: five 1 s shots at 64x36, 24 fps, with
a planted jump (a fresh shot in the middle of a chain), two takes of one shot, a crossfade,
a fade, chapter titles and a music bed."""

from __future__ import annotations

import math
import struct
import textwrap
import wave
from pathlib import Path

from tests.conftest import PROJECT_DODO

FPS = 24
MANIFEST = """
    schema_version: 1
    title: Review & finish
    output: {size: 64x36, fps: 24}
    defaults: {seconds: 1, transition: {type: cut}}
    segments:
      - id: intro
        title: The <intro>
        reference: none
        prompt: "A red fox runs across a field at night."
      - id: leap
        prompt: "The fox leaps over a stream."
        takes: 2
        take: 2
        transition: {type: crossfade, seconds: 0.25}
      - id: land
        prompt: "The fox lands on the far bank."
        transition: {type: fade, seconds: 0.5}
      - id: jump
        reference: none
        prompt: "A blue bird sings in the bright day."
      - id: fly
        title: Flight
        prompt: "The bird flies away over the trees."
    audio: {music: assets/tone.wav, volume: 0.5}
"""
IDS = ["intro", "leap", "land", "jump", "fly"]


def write_tone(path: Path, seconds: float, hz: float = 440.0, rate: int = 48_000) -> None:
    """A mono 16-bit sine WAV (the music bed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(
        struct.pack("<h", round(8000 * math.sin(2 * math.pi * hz * n / rate)))
        for n in range(round(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


def make_review_project(root: Path, manifest: str = MANIFEST) -> Path:
    root.mkdir(parents=True)
    (root / "cinestitch.yaml").write_text(textwrap.dedent(manifest).lstrip())
    (root / "dodo.py").write_text(PROJECT_DODO)
    write_tone(root / "assets" / "tone.wav", 2.0)
    return root
