"""Pure planning: from a loaded project to the build's files, requests and stitch plan.

Nothing here touches the disk or the network; doit tasks, dry runs and explanations all read
the same ``BuildPlan``, so they cannot disagree.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cinestitch.finish_plan import clip_extras, colour_anchor, finished_stitch, stitch_extras
from cinestitch.labels import keyframe_label, keyframe_of
from cinestitch.lock import LOCK_NAME
from cinestitch.manifest.model import Keyframe, Project, ProviderSpec, Segment
from cinestitch.media.fit import FitMode
from cinestitch.media.types import AudioBed, ClipSpec, EncoderSettings, StitchPlan

BUILD_DIR = "build"
STATE_DIR = ".cinestitch"
STILL_VIEW = "still"
"""The name of a keyframe's pixel-digest record in the cache (a still is its own frame)."""


@dataclass(frozen=True)
class BuildPaths:
    """Where every build artifact of a project lives."""

    root: Path

    @property
    def build(self) -> Path:
        return self.root / BUILD_DIR

    @property
    def state(self) -> Path:
        """Provider job state and (later) the generation cache; ignored by git."""
        return self.root / STATE_DIR

    def prompt(self, segment_id: str) -> Path:
        return self.build / "prompts" / f"{segment_id}.txt"

    def settings(self, segment_id: str) -> Path:
        return self.build / "settings" / f"{segment_id}.json"

    def clip(self, segment_id: str) -> Path:
        return self.build / "segments" / f"{segment_id}.mp4"

    def conformed(self, segment_id: str) -> Path:
        """The clip as the stitcher takes it (the generated one, or it re-encoded once)."""
        return self.build / "conformed" / f"{segment_id}.mp4"

    def frame(self, segment_id: str) -> Path:
        return self.build / "frames" / f"{segment_id}.last.png"

    def stitch_settings(self) -> Path:
        return self.build / "stitch.json"

    def take_clip(self, segment_id: str, take: int) -> Path:
        return self.build / "takes" / segment_id / f"take-{take}.mp4"

    def contact_sheet(self, segment_id: str) -> Path:
        return self.build / "takes" / f"{segment_id}.contact.png"

    def keyframe(self, keyframe_id: str) -> Path:
        """A generated keyframe's still."""
        return self.build / "keyframes" / f"{keyframe_id}.png"

    @property
    def keyframe_sheet(self) -> Path:
        """Every keyframe side by side, for approval before any clip is paid."""
        return self.build / "keyframes" / "contact.png"

    @property
    def storyboard(self) -> Path:
        """The review page: every segment's takes, scores and status, and the video."""
        return self.build / "storyboard.html"

    @property
    def storyboard_files(self) -> Path:
        """The page's pictures (thumbnails named by what they show)."""
        return self.build / "storyboard"

    @property
    def seam_scores(self) -> Path:
        """Each seam's continuity and each segment's colour drift (``doit seams``)."""
        return self.build / "seam-scores.json"

    @staticmethod
    def beside_output(output: Path, suffix: str) -> Path:
        """A file that travels with the final video: ``<name>.chapters.vtt``, ``<name>.otio``."""
        return output.with_name(output.stem + suffix)

    @property
    def lock(self) -> Path:
        return self.root / LOCK_NAME

    @property
    def lock_mutex(self) -> Path:
        return self.state / "lock.mutex"

    @property
    def lock_pending(self) -> Path:
        """Lock entries written by a build in progress (see ``lock``)."""
        return self.state / "lock-pending"

    @property
    def digest_memo(self) -> Path:
        """Digests of build/ files by size and mtime (a speed-up only)."""
        return self.state / "digests.json"

    @property
    def default_cache(self) -> Path:
        return self.state / "cache"

    def provider_work(self, provider: str) -> Path:
        return self.state / provider


@dataclass(frozen=True)
class SegmentStep:
    """What building one segment involves."""

    segment: Segment
    prompt: str
    template: str
    """Where the prompt came from (a template file, or the manifest for inline prompts)."""
    settings: dict[str, Any]
    """The generation settings besides prompt, take and reference: provider, model, size,
    fps, seconds, seed, options. A change here regenerates the segment."""
    reference: Path | None
    """The reference image file (an upstream segment's last frame, or a project image)."""
    reference_segment: str | None
    upstream_sharpest_of: int
    """How the upstream segment's reference frame is picked (1 when not chained)."""
    needs_frame: bool
    """Some later segment starts from this one's last frame."""
    end_image: Path | None = None
    """The image the clip should end on (``end_frame``), if any."""
    extend: bool = False
    """The clip continues its reference segment's clip natively (``extend: true``)."""

    @property
    def extends(self) -> str | None:
        """The segment whose clip this one continues natively, if it does."""
        return self.reference_segment if self.extend else None

    footage: Path | None = None
    """The project's video this segment plays (``clip:``): it is never generated."""
    anchor: str | None = None
    """The segment whose colour this one's clip is matched to when conformed, if any."""
    reference_images: tuple[Path, ...] = ()
    """The pictures of the characters who appear, in the order they are sent."""
    keyframes: tuple[str, ...] = ()
    """The keyframes it runs between (``between``): its reference is the first one's still
    and its end image the second's; it depends on no other segment."""
    pin: bool = False
    """Keep the locked clip whatever changed upstream (``pin: true``)."""


@dataclass(frozen=True)
class KeyframeStep:
    """What making one keyframe involves (nothing, for a picture in the project)."""

    keyframe: Keyframe
    prompt: str
    template: str
    settings: dict[str, Any]
    """The generation settings of a still (``kind: image``; no length, no rate)."""
    image: Path
    """Where the still is: the project's picture, or ``build/keyframes/<id>.png``."""
    reference_images: tuple[Path, ...] = ()

    @property
    def label(self) -> str:
        return keyframe_label(self.keyframe.id)

    @property
    def generated(self) -> bool:
        return self.keyframe.generated


@dataclass(frozen=True)
class BuildPlan:
    project: Project
    paths: BuildPaths
    steps: tuple[SegmentStep, ...]
    stitch: StitchPlan
    output: Path
    keyframes: tuple[KeyframeStep, ...] = ()

    def step(self, segment_id: str) -> SegmentStep:
        return self._steps_by_id[segment_id]

    @functools.cached_property
    def _steps_by_id(self) -> dict[str, SegmentStep]:
        """Steps by segment id (looked up once per segment by many steps: kept linear)."""
        return {s.segment.id: s for s in self.steps}

    def keyframe_step(self, keyframe_id: str) -> KeyframeStep:
        return next(k for k in self.keyframes if k.keyframe.id == keyframe_id)

    def provider_of(self, name: str) -> ProviderSpec:
        """Who generates a segment (by id) or a keyframe (by label)."""
        keyframe = keyframe_of(name)
        if keyframe is not None:
            return self.keyframe_step(keyframe).keyframe.provider
        return self.step(name).segment.provider

    def source(self, segment_id: str) -> Path:
        """The clip a segment's conform and frame steps read: the generated one, or the
        project's own file for a ``clip:`` segment."""
        return self.step(segment_id).footage or self.paths.clip(segment_id)


def canonical_json(value: Any) -> str:
    """Stable text for settings files: sorted keys, no incidental whitespace differences."""
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class FrameView:
    """How a reference frame is taken from a clip: the sharpest of its last frames, fitted
    to the output's size and rate as the viewer sees it."""

    sharpest_of: int
    width: int
    height: int
    fps: int
    fit: FitMode

    @property
    def name(self) -> str:
        """The name of its pixel-digest record in the cache."""
        return f"{self.sharpest_of}-{self.width}x{self.height}@{self.fps}-{self.fit}"


def frame_view(project: Project, sharpest_of: int) -> FrameView:
    out = project.output
    return FrameView(sharpest_of, out.width, out.height, out.fps, out.fit)


def plan_build(project: Project) -> BuildPlan:
    paths = BuildPaths(project.root)
    referenced = {s.reference.value for s in project.segments if s.reference.kind == "segment"}
    steps = tuple(_plan_segment(project, paths, s, s.id in referenced) for s in project.segments)
    return BuildPlan(
        project=project,
        paths=paths,
        steps=steps,
        stitch=plan_stitch(project, paths),
        output=project.root / project.output.path,
        keyframes=tuple(_plan_keyframe(project, paths, k) for k in project.keyframes),
    )


def still_settings(project: Project, keyframe: Keyframe) -> dict[str, Any]:
    """A keyframe's generation settings: a still of the output's size (no length, no rate,
    so changing the output's frame rate regenerates no keyframe)."""
    out, spec = project.output, keyframe.provider
    return {
        "provider": spec.name,
        "model": spec.model,
        "options": dict(spec.options),
        "size": f"{out.width}x{out.height}",
        "fps": 0,
        "seconds": 0.0,
        "seed": keyframe.seed,
        "kind": "image",
    }


def keyframe_image(project: Project, paths: BuildPaths, keyframe_id: str) -> Path:
    """Where keyframe ``keyframe_id``'s still is (a picture of the project, or the build's)."""
    keyframe = project.keyframe(keyframe_id)
    return project.root / keyframe.image if keyframe.image else paths.keyframe(keyframe_id)


def sent_pictures(project: Project, spec: ProviderSpec, names: tuple[str, ...]) -> tuple[Path, ...]:
    """The characters' pictures a request carries: all of them where the model takes
    reference images (the checks hold them to its limit), none where it takes none."""
    from cinestitch.providers import PROVIDERS

    info = PROVIDERS.get(spec.name)
    if info is None or not names or info.capabilities(spec.model).max_reference_images == 0:
        return ()
    return tuple(project.root / p for p in project.cast_images(names))


def _plan_keyframe(project: Project, paths: BuildPaths, k: Keyframe) -> KeyframeStep:
    prompt = project.prompts.get(keyframe_label(k.id))
    return KeyframeStep(
        keyframe=k,
        prompt=prompt.text if prompt else "",
        template=prompt.template if prompt else (k.image or ""),
        settings=still_settings(project, k) if k.generated else {},
        image=keyframe_image(project, paths, k.id),
        reference_images=sent_pictures(project, k.provider, k.characters),
    )


def generation_settings(project: Project, segment: Segment) -> dict[str, Any]:
    out = project.output
    spec = segment.provider  # the project's block with the segment's merged over it
    return {
        "provider": spec.name,
        "model": spec.model,
        "options": dict(spec.options),
        "size": f"{out.width}x{out.height}",
        "fps": out.fps,
        "seconds": segment.seconds,
        "seed": segment.seed,
    }


def _plan_segment(
    project: Project, paths: BuildPaths, s: Segment, needs_frame: bool
) -> SegmentStep:
    ref = s.reference
    reference: Path | None = None
    if ref.kind == "segment" and ref.value:
        reference = paths.frame(ref.value)
    elif ref.kind == "image" and ref.value:
        reference = project.root / ref.value
    elif ref.kind == "keyframe" and s.between:
        reference = keyframe_image(project, paths, s.between[0])
    upstream = ref.value if ref.kind == "segment" else None
    end_image = project.root / s.end_frame if s.end_frame else None
    if s.end_keyframe is not None:
        end_image = keyframe_image(project, paths, s.end_keyframe)
    return SegmentStep(
        segment=s,
        prompt=project.prompts[s.id].text,
        template=project.prompts[s.id].template,
        settings=generation_settings(project, s),
        reference=reference,
        reference_segment=upstream,
        upstream_sharpest_of=project.segment(upstream).sharpest_of if upstream else 1,
        needs_frame=needs_frame,
        end_image=end_image,
        footage=project.root / s.clip if s.clip else None,
        anchor=colour_anchor(project, s),
        extend=bool(s.extend) and upstream is not None,
        reference_images=sent_pictures(project, s.provider, s.characters),
        keyframes=s.between if ref.kind == "keyframe" else (),
        pin=s.pin,
    )


def plan_stitch(project: Project, paths: BuildPaths) -> StitchPlan:
    out = project.output
    clips = tuple(
        ClipSpec(
            path=paths.conformed(s.id),
            head_trim=s.head_trim,
            tail_trim=s.tail_trim,
            transition_out=s.transition,
        )
        for s in project.segments
    )
    bed = None
    if project.audio is not None:
        a = project.audio
        bed = AudioBed(project.root / a.music, a.volume, a.fade_in, a.fade_out, a.loop)
    plan = StitchPlan(
        clips=clips,
        width=out.width,
        height=out.height,
        fps=out.fps,
        audio_bed=bed,
        encoder=EncoderSettings(crf=out.crf, preset=out.preset),
    )
    return finished_stitch(project, plan)


def stitch_settings(plan: StitchPlan, root: Path) -> dict[str, Any]:
    """Everything about the stitch except the clips' contents, with project-relative paths."""

    def rel(p: Path) -> str:
        return str(p.relative_to(root)) if p.is_relative_to(root) else str(p)

    return {
        "size": f"{plan.width}x{plan.height}",
        "fps": plan.fps,
        "encoder": vars(plan.encoder),
        "clips": [
            {
                "path": rel(c.path),
                "trim": [c.head_trim, c.tail_trim],
                "transition": [c.transition_out.kind, c.transition_out.seconds],
                **clip_extras(c, rel),
            }
            for c in plan.clips
        ],
        "audio": None
        if plan.audio_bed is None
        else {**vars(plan.audio_bed), "path": rel(plan.audio_bed.path)},
        **stitch_extras(plan),
    }
