"""Load and validate a project's manifest into frozen dataclasses (the only YAML/schema I/O)."""

from cinestitch.manifest.load import load_project
from cinestitch.manifest.model import (
    MANIFEST_NAME,
    AudioSpec,
    Budget,
    Character,
    Keyframe,
    Output,
    Project,
    ProviderSpec,
    Reference,
    RenderedPrompt,
    Segment,
)

__all__ = [
    "MANIFEST_NAME",
    "AudioSpec",
    "Budget",
    "Character",
    "Keyframe",
    "Output",
    "Project",
    "ProviderSpec",
    "Reference",
    "RenderedPrompt",
    "Segment",
    "load_project",
]
