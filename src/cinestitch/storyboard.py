"""``build/storyboard.html``: the build as a page to look at, not a log to read.

One card per segment (its prompt, the reference it started from, the first, middle and last
frame of each take with the selected one marked, provider, model, cost, what the last build
did with it, and the seam score into the next segment), under the final video with a chapter
list that seeks to each segment. The page opens from ``file://`` with no server and no
network: its style and script are inline, its pictures are small JPEGs under
``build/storyboard/`` named by the file they show, and the video is linked relatively.

Writing the page needs no decoding unless a picture is missing: the page model reads the
ledger, the lock, the forecast, ``seam-scores.json`` and the chapters file. The page ends
with a comment holding the digest of that model (with the template it was rendered by) and
of the page's own text, so checking it is up to date costs a ``stat`` per picture, a listing
of the pictures' folder and a hash, and renders nothing.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cinestitch import __version__
from cinestitch.atomic import write_text_if_changed
from cinestitch.explain import dollars
from cinestitch.ledger import LedgerLine, ledger_path, read_ledger
from cinestitch.lock import Lock
from cinestitch.plan import BuildPaths, BuildPlan
from cinestitch.resources import DATA_DIR
from cinestitch.seam_report import DriftScore, SeamReport, SeamScore, build_seam_report
from cinestitch.seam_report import read_measures as read_seam_measures

TEMPLATE = "page.html.j2"
FRAMES = ("first", "middle", "last")
VTT_CUE = re.compile(r"^(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})")
SIGNED = re.compile(rb"\n<!-- storyboard ([0-9a-f]{64}) ([0-9a-f]{64}) -->\n\Z")
"""The page's last line: the digest of the model and template it shows, then of its text."""


@dataclass(frozen=True)
class Picture:
    """A thumbnail the page shows: which file, which frame of it (``None``: an image)."""

    source: Path
    frame: str | None
    name: str
    """File name under ``build/storyboard/``."""


@dataclass(frozen=True)
class Status:
    """What the last build did with a segment."""

    word: str
    """generated, cached, failed or skipped."""
    detail: str


@dataclass(frozen=True)
class Take:
    number: int
    selected: bool
    pictures: tuple[Picture, ...] | None
    """First, middle and last frame; ``None`` when the take's clip is not built."""


@dataclass(frozen=True)
class Card:
    number: int
    id: str
    title: str
    prompt: str
    template: str
    reference: str
    """What it started from, in words."""
    reference_picture: Picture | None
    takes: tuple[Take, ...]
    provider: str
    model: str
    cost: str
    spent: str
    seconds: float
    status: Status
    seam: SeamScore | None
    drift: DriftScore | None
    chapter_start: float | None


@dataclass(frozen=True)
class KeyframeCard:
    """A keyframe the segments run between: its still, and who made it at what cost."""

    id: str
    picture: Picture | None
    """``None`` while a drawn still is not made yet."""
    made: str
    """``picture in the project`` or ``drawn by <provider> (<model>)``."""
    prompt: str
    cost: str
    used_by: tuple[str, ...]
    """The segments that start or end on it."""


@dataclass(frozen=True)
class ChapterMark:
    segment: str
    title: str
    start: float
    end: float


@dataclass(frozen=True)
class Page:
    title: str
    video: str | None
    """The final video relative to build/, if it exists."""
    chapters_file: str | None
    chapters: tuple[ChapterMark, ...]
    cards: tuple[Card, ...]
    report: SeamReport | None
    summary: str
    spent: str
    width: int
    height: int
    keyframes: tuple[KeyframeCard, ...] = ()

    @property
    def pictures(self) -> list[Picture]:
        found = [k.picture for k in self.keyframes if k.picture is not None]
        found += [c.reference_picture for c in self.cards if c.reference_picture is not None]
        for card in self.cards:
            for take in card.takes:
                found += take.pictures or ()
        return found


def segment_statuses(
    plan: BuildPlan, lines: Iterable[LedgerLine], is_up_to_date: Callable[[str], bool]
) -> dict[str, Status]:
    """Each segment's status in the build the ledger ``lines`` come from (pure)."""
    lines = list(lines)
    failed = {x.segment: x for x in lines if x.source == "failed"}
    got: dict[str, LedgerLine] = {}
    for x in lines:
        if x.source != "failed" and (x.segment not in got or x.paid):
            got[x.segment] = x
    statuses: dict[str, Status] = {}
    for step in plan.steps:
        sid = step.segment.id
        if sid in failed:
            statuses[sid] = Status("failed", failed[sid].message)
        elif sid in got and got[sid].paid:
            statuses[sid] = Status("generated", f"generated by {got[sid].provider}")
        elif sid in got:
            statuses[sid] = Status("cached", "restored from the cache")
        elif is_up_to_date(sid):
            statuses[sid] = Status("cached", "up to date")
        else:
            upstream = step.reference_segment
            after = statuses.get(upstream) if upstream else None
            if upstream and after is not None and after.word in ("failed", "skipped"):
                statuses[sid] = Status("skipped", f"starts from '{upstream}', which {after.word}")
            else:
                statuses[sid] = Status("skipped", "not built")
    return statuses


def last_build_lines(state_dir: Path, build_id: str) -> list[LedgerLine]:
    """This build's ledger if it has started one, else the most recent build's."""
    builds = state_dir / "builds"
    if (builds / f"{build_id}.plan.json").exists():
        return read_ledger(state_dir, build_id)
    plans = sorted(builds.glob("*.plan.json"), key=_mtime) if builds.is_dir() else []
    if not plans:
        return []
    latest = plans[-1].name.removesuffix(".plan.json")
    return read_ledger(state_dir, latest) if ledger_path(state_dir, latest).exists() else []


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def picture(source: Path, frame: str | None) -> Picture | None:
    """The thumbnail of ``source`` (named by its path, size and time), if it exists."""
    sign = _file_sign(source)
    if sign is None:
        return None
    digest = hashlib.sha256(sign.encode()).hexdigest()[:16]
    return Picture(source, frame, f"{digest}-{frame or 'image'}.jpg")


def frame_pictures(clip: Path) -> tuple[Picture, ...] | None:
    """The first, middle and last frame of ``clip`` (``None`` if it is not built), the file
    looked at once for all three."""
    first = picture(clip, FRAMES[0])
    if first is None:
        return None
    stem = first.name.removesuffix(f"-{FRAMES[0]}.jpg")
    return (first, *(Picture(clip, f, f"{stem}-{f}.jpg") for f in FRAMES[1:]))


def _file_sign(source: Path) -> str | None:
    """``<resolved path>|<size>|<mtime>`` of a file, ``None`` if there is none: one
    ``lstat`` for a file that is not a link (its folder's resolved path is remembered)."""
    try:
        st = os.lstat(source)
        if stat.S_ISLNK(st.st_mode):
            st = os.stat(source)
            where = os.path.realpath(source)
        else:
            where = os.path.join(_real_dir(str(source.parent)), source.name)
    except OSError:
        return None
    return f"{where}|{st.st_size}|{st.st_mtime_ns}"


def _real_dir(folder: str) -> str:
    return _real_abs_dir(folder) if os.path.isabs(folder) else os.path.realpath(folder)


@functools.lru_cache(maxsize=256)
def _real_abs_dir(folder: str) -> str:
    return os.path.realpath(folder)


def parse_vtt(text: str) -> list[ChapterMark]:
    """The chapters of a chapters file written by ``chapters.render_vtt``."""
    marks: list[ChapterMark] = []
    blocks = text.replace("\r\n", "\n").split("\n\n")
    for block in blocks:
        lines = block.strip().split("\n")
        if len(lines) < 3 or not (m := VTT_CUE.match(lines[1])):
            continue
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        title = " ".join(lines[2:]).replace("&lt;", "<").replace("&gt;", ">")
        marks.append(ChapterMark(lines[0], title.replace("&amp;", "&"), start, end))
    return marks


def chapters_path(plan: BuildPlan) -> Path:
    return BuildPaths.beside_output(plan.output, ".chapters.vtt")


def build_page(plan: BuildPlan, build_id: str) -> Page:
    """The page for the project as it is now (reads files; decodes nothing)."""
    from cinestitch.state import current_forecast, run_forecast

    paths = plan.paths
    lines = last_build_lines(paths.state, build_id)
    # a build that obtained nothing changed nothing: the process's snapshot still holds
    forecast, lock = run_forecast(plan) if lines else current_forecast(plan)
    statuses = segment_statuses(plan, lines, forecast.is_up_to_date)
    measures = read_seam_measures(paths.seam_scores)
    report = build_seam_report(plan, measures) if measures is not None else None
    vtt = chapters_path(plan)
    try:
        marks = tuple(parse_vtt(vtt.read_text(encoding="utf-8")))
    except OSError:
        marks = ()
    starts = {m.segment: m.start for m in marks}
    seams = {s.before: s for s in reversed(report.seams)} if report else {}
    drifts = {d.segment: d for d in reversed(report.drift)} if report else {}
    cards = tuple(
        _card(plan, i, statuses, (seams, drifts), starts.get(step.segment.id), lock)
        for i, step in enumerate(plan.steps)
    )
    counts = {w: sum(c.status.word == w for c in cards) for w in ("generated", "cached")}
    counts |= {w: sum(c.status.word == w for c in cards) for w in ("failed", "skipped")}
    summary = ", ".join(f"{n} {w}" for w, n in counts.items() if n)
    return Page(
        title=plan.project.title,
        video=_relative(plan.output, paths.build) if plan.output.exists() else None,
        chapters_file=_relative(vtt, paths.build) if vtt.exists() else None,
        chapters=marks,
        cards=cards,
        report=report,
        summary=f"{len(cards)} segments; last build: {summary}",
        spent=dollars(lock.spent_usd),
        width=plan.project.output.width,
        height=plan.project.output.height,
        keyframes=_keyframe_cards(plan, lock),
    )


def _keyframe_cards(plan: BuildPlan, lock: Lock) -> tuple[KeyframeCard, ...]:
    """Each keyframe in the order declared, with the segments that touch it."""
    users: dict[str, list[str]] = {}
    for step in plan.steps:
        for name in step.segment.between:
            users.setdefault(name, []).append(step.segment.id)
    cards = []
    for ks in plan.keyframes:
        k = ks.keyframe
        entry = lock.keyframes.get(k.id)
        if ks.generated:
            made = f"drawn by {k.provider.name} ({k.provider.model})"
            cost = dollars(entry.cost_usd) if entry else "—"
        else:
            made, cost = "picture in the project", dollars(0.0)
        picture_of = picture(ks.image, None)
        cards.append(
            KeyframeCard(k.id, picture_of, made, ks.prompt, cost, tuple(users.get(k.id, ())))
        )
    return tuple(cards)


def _card(
    plan: BuildPlan,
    i: int,
    statuses: dict[str, Status],
    scores: tuple[dict[str, SeamScore], dict[str, DriftScore]],
    start: float | None,
    lock: Lock,
) -> Card:
    """Segment ``i``'s card; ``scores`` holds the report's seams by the segment before them
    and its drifts by segment (looked up, not searched, so the page is linear)."""
    step = plan.steps[i]
    segment, paths = step.segment, plan.paths
    entry = lock.entry(segment.id)
    takes = []
    for n in range(1, segment.takes + 1):
        clip = paths.take_clip(segment.id, n) if segment.takes > 1 else paths.clip(segment.id)
        clip = getattr(step, "footage", None) or clip  # a ``clip:`` segment's own file
        takes.append(Take(n, n == segment.take, frame_pictures(clip)))
    return Card(
        number=i + 1,
        id=segment.id,
        title=segment.chapter_title,
        prompt=step.prompt,
        template=step.template,
        reference=segment.reference.describe(),
        reference_picture=picture(step.reference, None) if step.reference else None,
        takes=tuple(takes),
        provider=entry.provider if entry else str(step.settings["provider"]),
        model=entry.model if entry else str(step.settings["model"]),
        cost=dollars(entry.cost_usd) if entry else "—",
        spent=dollars(entry.spent_usd) if entry else "—",
        seconds=segment.seconds,
        status=statuses[segment.id],
        seam=scores[0].get(segment.id),
        drift=scores[1].get(segment.id),
        chapter_start=start,
    )


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def render_page(page: Page, compiled: Path | None = None) -> str:
    """The page's HTML, ending with the line that signs it (``SIGNED``); ``compiled``: a
    folder that keeps the compiled template between processes (compiling it is most of the
    cost of writing the page). Jinja is imported here: deciding whether the page is
    current (every build does) needs none of it."""
    import jinja2

    from cinestitch.jinja_cache import KeptTemplates

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(DATA_DIR / "storyboard"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=None if compiled is None else KeptTemplates(compiled),
    )
    html = env.get_template(TEMPLATE).render(page=page, files=STORYBOARD_FILES)
    body = hashlib.sha256(html.encode()).hexdigest()
    return f"{html}\n<!-- storyboard {page_signature(page)} {body} -->\n"


def page_signature(page: Page) -> str:
    """The digest of what decides the page's text: its model (plain frozen values, so their
    ``repr`` says all of it), the template and cinestitch's version."""
    digest = hashlib.sha256(_template_digest().encode())
    digest.update(f"{__version__}|{STORYBOARD_FILES}|{page!r}".encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _template_digest() -> str:
    return hashlib.sha256((DATA_DIR / "storyboard" / TEMPLATE).read_bytes()).hexdigest()


def signature_of(text: bytes) -> str | None:
    """The model signature a page written by ``render_page`` carries, ``None`` if it has
    none or its text was changed since."""
    found = SIGNED.search(text)
    if found is None:
        return None
    html = text[: found.start()]
    if hashlib.sha256(html).hexdigest() != found.group(2).decode():
        return None
    return found.group(1).decode()


STORYBOARD_FILES = "storyboard"
"""The pictures' folder, relative to the page."""


def is_current(plan: BuildPlan, build_id: str) -> bool:
    """doit's up-to-date check: the page on disk is the one the build would write now (its
    signature is that of the page model built now, and it has every picture)."""
    page = build_page(plan, build_id)
    try:
        text = plan.paths.storyboard.read_bytes()
    except OSError:
        return False
    held = _pictures_held(plan.paths.storyboard_files)
    if any(p.name not in held for p in page.pictures):
        return False
    current = signature_of(text) == page_signature(page)
    if current:
        _FOUND_CURRENT[id(plan)] = (plan, build_id)
    return current


_FOUND_CURRENT: dict[int, tuple[BuildPlan, str]] = {}


def found_current(plan: BuildPlan, build_id: str) -> bool:
    """Whether ``is_current`` found the page current for this build in this process, or
    ``write_storyboard`` wrote it. The storyboard is a build's last step (it runs after
    everything the page shows), so the end of the build need not build the page again."""
    known = _FOUND_CURRENT.get(id(plan))
    return known is not None and known[0] is plan and known[1] == build_id


def _pictures_held(folder: Path) -> set[str]:
    """The names in the pictures' folder (one listing, not a ``stat`` per picture)."""
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def write_storyboard(plan: BuildPlan, build_id: str) -> bool:
    """Write the page and the pictures it lacks, drop pictures it no longer shows; whether
    the page changed."""
    page = build_page(plan, build_id)
    folder = plan.paths.storyboard_files
    held = _pictures_held(folder)
    missing = [p for p in page.pictures if p.name not in held]
    if missing:
        from cinestitch.media.storyboard_pictures import make_pictures

        make_pictures(missing, folder)
    wanted = {p.name for p in page.pictures}
    if folder.is_dir():
        for old in folder.glob("*.jpg"):
            # dot names are pictures being written (by this build's other processes)
            if old.name not in wanted and not old.name.startswith("."):
                old.unlink(missing_ok=True)
    html = render_page(page, plan.paths.state / "compiled")
    changed = write_text_if_changed(plan.paths.storyboard, html)
    _FOUND_CURRENT[id(plan)] = (plan, build_id)  # the page on disk is this one now
    return changed
