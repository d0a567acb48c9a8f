"""How long a sound file plays, for timelines that place it (music beds, sound effects)."""

from __future__ import annotations

from pathlib import Path

from cinestitch.errors import MediaError
from cinestitch.media.container import audio_stream, open_input


def sound_seconds(path: Path) -> float:
    """Seconds of the first audio stream of ``path`` (from its header, or counted)."""
    with open_input(path, what="sound") as container:
        stream = audio_stream(container)
        if stream is None:
            raise MediaError(f"{path}: not a readable sound — it has no audio stream")
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if container.duration:
            return container.duration / 1_000_000
        rate = stream.codec_context.sample_rate or 1
        return sum(frame.samples for frame in container.decode(stream)) / rate
