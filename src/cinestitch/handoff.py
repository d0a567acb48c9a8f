"""What the build hands to an editor, and where (light: no OpenTimelineIO import).

Beside the final video: ``<name>.otio``, the stitch as an OpenTimelineIO timeline
(``otio_timeline``), and ``<name>.edl``, a CMX 3600 EDL of its picture, where the frame rate
has a SMPTE timecode.
"""

from __future__ import annotations

from pathlib import Path

from cinestitch.plan import BuildPaths, BuildPlan

EDL_RATES = (24, 25, 30, 48, 50, 60)
"""Frame rates an EDL can be written at (its timecode is SMPTE's)."""


def has_edl(fps: int) -> bool:
    return fps in EDL_RATES


def handoff_paths(plan: BuildPlan) -> tuple[Path, Path]:
    """The ``.otio`` and ``.edl`` beside the final video."""
    return (
        BuildPaths.beside_output(plan.output, ".otio"),
        BuildPaths.beside_output(plan.output, ".edl"),
    )
