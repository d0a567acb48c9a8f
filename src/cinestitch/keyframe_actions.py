"""The effectful body of the ``keyframes`` step: the contact sheet of every keyframe, and a
line per keyframe saying where its still is, for approval before any clip is paid."""

from __future__ import annotations

from cinestitch.actions import reported
from cinestitch.plan import BuildPlan
from cinestitch.report import ProgressReporter


@reported("keyframes")
def run_keyframe_sheet(plan: BuildPlan) -> None:
    from cinestitch.media.keyframe_sheet import write_keyframe_sheet

    root = plan.project.root
    stills = [(ks.keyframe.id, ks.prompt or ks.template, ks.image) for ks in plan.keyframes]
    dest = plan.paths.keyframe_sheet
    write_keyframe_sheet(stills, dest)
    reporter = ProgressReporter("keyframes")
    for ks in plan.keyframes:
        how = "generated" if ks.generated else "a picture of the project"
        reporter.line(f"{ks.keyframe.id:<16} {ks.image.relative_to(root)} ({how})")
    reporter.line(f"{len(stills)} keyframes side by side → {dest.relative_to(root)}")
