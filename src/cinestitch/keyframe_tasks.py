"""The keyframe steps of a build: ``keyframe:<id>`` draws a generated keyframe's still
(paid once, like a clip) into ``build/keyframes/<id>.png``, and ``keyframes`` lays every
keyframe side by side in ``build/keyframes/contact.png``.

``doit keyframes`` (or ``cinestitch keyframes``) builds just these, so the stills can be
approved before any clip is paid for. The segments between keyframes depend on the two
stills they touch (a file dependency each) and on no other segment, so ``doit -n`` makes them
all at once, and an edited keyframe regenerates only its two neighbours.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doit.tools import config_changed

from cinestitch import keyframe_actions
from cinestitch.doit_selection import only_keyframes
from cinestitch.lock import Lock
from cinestitch.plan import BuildPlan, KeyframeStep, canonical_json
from cinestitch.state import cache_dir, is_generated, remote_cache, still_prices

if TYPE_CHECKING:
    from cinestitch.generation import SegmentJob

TaskDict = dict[str, Any]


def _rel(plan: BuildPlan, path: Path) -> str:
    root = str(plan.project.root)
    text = str(path)
    if text.startswith(root) and text[len(root) : len(root) + 1] == os.sep:
        return text[len(root) + 1 :]
    return text


def keyframe_tasks(plan: BuildPlan, lock: Lock, build: str) -> Iterator[TaskDict]:
    """The keyframe steps (none for a project without keyframes: ``doit keyframes`` there
    says why in one line, as ``cinestitch keyframes`` does, instead of doit's "Invalid
    parameter")."""
    if not plan.keyframes:
        if only_keyframes(sys.argv):
            print(
                f"cinestitch: {plan.project.manifest_path}: no keyframes — declare keyframes: "
                "and give segments between: [start, end]",
                file=sys.stderr,
            )
            raise SystemExit(2)
        return
    yield {"basename": "keyframe", "name": None, "doc": "Draw each generated keyframe's still."}
    prices = still_prices(plan)
    for ks in plan.keyframes:
        if ks.generated:
            yield keyframe_task(plan, ks, lock, build, prices.get(ks.label))
    yield sheet_task(plan)


def keyframe_task(
    plan: BuildPlan, ks: KeyframeStep, lock: Lock, build: str, price: float | None
) -> TaskDict:
    from cinestitch import actions

    spec = ks.keyframe.provider
    sheet = plan.paths.keyframe_sheet  # not written by this step (one still, no takes)
    return {
        "basename": "keyframe",
        "name": ks.keyframe.id,
        "doc": f"still '{ks.keyframe.id}' with {spec.name} {spec.model}",
        "actions": [(actions.run_generate, [keyframe_job(plan, ks, lock, build, price), sheet])],
        "file_dep": [_rel(plan, p) for p in ks.reference_images],
        "task_dep": ["budget"],
        "uptodate": [(is_generated, [plan, ks.label])],
        "targets": [_rel(plan, ks.image)],
        "clean": True,
    }


def keyframe_job(
    plan: BuildPlan, ks: KeyframeStep, lock: Lock, build: str, price: float | None
) -> SegmentJob:
    """What obtaining a still needs: a one-take request of ``kind: image``."""
    from cinestitch.generation import Budgets, SegmentJob

    paths, spec, budget = plan.paths, ks.keyframe.provider, plan.project.budget
    return SegmentJob(
        segment_id=ks.label,
        prompt=ks.prompt,
        settings=ks.settings,
        takes=1,
        take=1,
        reference=None,
        reference_clip=None,
        clip=ks.image,
        take_clips=(),
        cache_dir=cache_dir(plan),
        provider_dir=paths.provider_work(spec.name),
        project_dir=plan.project.root,
        lock_pending=paths.lock_pending,
        state_dir=paths.state,
        build_id=build,
        locked=lock.entry(ks.label),
        budgets=Budgets(budget.build, budget.total, lock.spent_usd, price),
        transport=spec.transport(),
        remote_cache=remote_cache(plan),
        kind="image",
        reference_images=ks.reference_images,
    )


def sheet_task(plan: BuildPlan) -> TaskDict:
    """Every keyframe side by side, captioned with its id and prompt."""
    captions = [(ks.keyframe.id, ks.prompt or ks.template) for ks in plan.keyframes]
    return {
        "basename": "keyframes",
        "doc": f"Every keyframe side by side in {_rel(plan, plan.paths.keyframe_sheet)}",
        "actions": [(keyframe_actions.run_keyframe_sheet, [plan])],
        "file_dep": [_rel(plan, ks.image) for ks in plan.keyframes],
        "targets": [_rel(plan, plan.paths.keyframe_sheet)],
        "uptodate": [config_changed(canonical_json(captions))],
        "clean": True,
    }
