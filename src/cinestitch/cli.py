"""The ``cinestitch`` command: new, validate, plan, build, cache.

Exit codes: 0 success, 1 build failed, 2 usage error, 3 the project does not load (every
problem printed, one line each, nothing generated), 4 a frozen build would have had to
generate (``--frozen``; plain ``doit`` with ``CINESTITCH_FROZEN=1`` exits 4 too).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from cinestitch import __version__
from cinestitch.cache_commands import add_cache_commands
from cinestitch.ci import CI_SYSTEMS, WORKFLOW_PATH, write_ci
from cinestitch.doit_commands import plan_text, why_text
from cinestitch.errors import EXIT_PROJECT_ERROR, CinestitchError, ProjectError
from cinestitch.frozen import FROZEN_ENV
from cinestitch.gc_tuning import settle
from cinestitch.generation import RESUBMIT_ENV
from cinestitch.manifest import MANIFEST_NAME, load_project
from cinestitch.plan import plan_build
from cinestitch.plan_formats import FORMATS
from cinestitch.providers import provider_info, provider_names
from cinestitch.resources import SCAFFOLD_DIR
from cinestitch.scaffold import manifest_for


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settle()
    try:
        return int(args.run(args))
    except ProjectError as exc:
        print(exc.report(), file=sys.stderr)
        return EXIT_PROJECT_ERROR
    except CinestitchError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"cinestitch: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cinestitch",
        description="Build long videos from short generated clips. In a project directory, "
        "`doit` builds; `doit list` shows the steps.",
    )
    parser.add_argument("--version", action="version", version=f"cinestitch {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    new = sub.add_parser("new", help="scaffold a project that builds as it is")
    new.add_argument("dir", type=Path)
    new.add_argument("--title", help="the video's title (default: from the directory name)")
    new.add_argument(
        "--provider",
        choices=provider_names(),
        default="animatic",
        help="who generates the shots (default: animatic, offline and free)",
    )
    new.add_argument(
        "--ci",
        choices=CI_SYSTEMS,
        help=f"also write a CI workflow ({WORKFLOW_PATH}): frozen builds on pull requests",
    )
    new.set_defaults(run=cmd_new)

    validate = sub.add_parser("validate", help="check the manifest and templates; build nothing")
    validate.add_argument("dir", type=Path, nargs="?", default=Path("."))
    validate.set_defaults(run=cmd_validate)

    plan = sub.add_parser(
        "plan", help="show what a build would generate, why, and what it would cost"
    )
    plan.add_argument("dir", type=Path, nargs="?", default=Path("."))
    plan.add_argument(
        "--format", choices=FORMATS, default="text", help="text, json (bots) or markdown (CI)"
    )
    plan.set_defaults(run=cmd_plan)

    why = sub.add_parser("why", help="explain whether and why one segment would be generated")
    why.add_argument("segment")
    why.add_argument("dir", type=Path, nargs="?", default=Path("."))
    why.set_defaults(run=cmd_why)

    jobs = sub.add_parser("jobs", help="list the jobs in flight, or cancel one")
    jobs.add_argument("action", nargs="?", choices=["list", "cancel"], default="list")
    jobs.add_argument("job", nargs="?", help="with cancel: the job id or the start of its key")
    jobs.add_argument("--dir", type=Path, default=Path("."), help="the project (default: here)")
    jobs.set_defaults(run=cmd_jobs)

    build = sub.add_parser("build", help="build the project (runs doit in its directory)")
    build.add_argument("dir", type=Path, nargs="?", default=Path("."))
    build.add_argument(
        "--resubmit",
        action="store_true",
        help="submit again jobs that an interrupted build left and that cannot be resumed "
        "(they may have been billed)",
    )
    build.add_argument(
        "--frozen",
        action="store_true",
        help="never submit a job: stop (exit 4) if anything would be generated",
    )
    build.add_argument("doit_args", nargs=argparse.REMAINDER, help="passed on to doit")
    build.set_defaults(run=cmd_build)

    keyframes = sub.add_parser(
        "keyframes", help="build and show just the keyframes' stills (no clip is generated)"
    )
    keyframes.add_argument("dir", type=Path, nargs="?", default=Path("."))
    keyframes.add_argument("doit_args", nargs=argparse.REMAINDER, help="passed on to doit")
    keyframes.set_defaults(run=cmd_keyframes)
    add_cache_commands(sub)
    return parser


def cmd_new(args: argparse.Namespace) -> int:
    target: Path = args.dir
    if target.exists() and any(target.iterdir()):
        print(
            f"cinestitch: {target}: exists and is not empty — choose a new directory",
            file=sys.stderr,
        )
        return 2
    title = args.title or target.resolve().name.replace("-", " ").replace("_", " ").capitalize()
    shutil.copytree(SCAFFOLD_DIR, target, dirs_exist_ok=True)
    manifest = target / MANIFEST_NAME
    text = manifest.read_text(encoding="utf-8").replace("{{TITLE}}", title)
    manifest.write_text(manifest_for(text, args.provider), "utf-8")
    (target / "gitignore").rename(target / ".gitignore")
    key_env = provider_info(args.provider).key_env
    if args.ci:
        workflow = write_ci(target, args.ci, key_env).relative_to(target)
        print(
            f"wrote {workflow} — set the repository secrets CINESTITCH_CACHE (e.g. "
            "s3://bucket/prefix), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            + (f" and {key_env}" if key_env else "")
        )
    where = shlex.quote(str(target))  # a name with spaces still pastes as one command
    if key_env:
        print(
            f"created {target}/ — put your key in ${key_env} (or {target}/.env), then: "
            f"cd {where} && doit plan && doit"
        )
    else:
        print(f"created {target}/ — build it with: cd {where} && doit")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    project = load_project(args.dir)
    total = sum(s.seconds for s in project.segments)
    stills = f", {len(project.keyframes)} keyframes" if project.keyframes else ""
    print(
        f"{project.manifest_path}: ok — {len(project.segments)} segments{stills}, {total:g} s "
        f"generated with {project.provider.name}, output {project.output.path}"
    )
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    print(plan_text(plan_build(load_project(args.dir)), args.format))
    return 0


def cmd_why(args: argparse.Namespace) -> int:
    plan = plan_build(load_project(args.dir))
    ids = [s.id for s in plan.project.segments] + [ks.label for ks in plan.keyframes]
    if args.segment not in ids:
        print(
            f"cinestitch: no segment '{args.segment}' — segments: {', '.join(ids)}", file=sys.stderr
        )
        return 2
    print(why_text(plan, args.segment))
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from cinestitch.jobs import cancel_job, format_jobs, project_journal
    from cinestitch.keys import short

    plan = plan_build(load_project(args.dir))
    if args.action == "cancel":
        if not args.job:
            print(
                "cinestitch: jobs cancel needs a job id or key — see `cinestitch jobs`",
                file=sys.stderr,
            )
            return 2
        entry = cancel_job(plan, args.job)
        print(
            f"cancelled {entry.provider} job {entry.job_id or short(entry.key)} of "
            f"'{entry.segment}' — the next build submits it again"
        )
        return 0
    print(format_jobs(project_journal(plan).pending()))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    load_project(args.dir)  # fail fast with the one-line problems
    dodo = args.dir / "dodo.py"
    if not dodo.is_file():
        print(f"cinestitch: {dodo}: missing — `cinestitch new` writes one", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "doit", "-f", str(dodo), *args.doit_args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.resubmit:
        env[RESUBMIT_ENV] = "1"
    if args.frozen:
        env[FROZEN_ENV] = "1"
    return subprocess.call(command, env=env)


def cmd_keyframes(args: argparse.Namespace) -> int:
    """``doit keyframes`` in the project, with a budget step that plans only the stills,
    then where each still is: approve them before any clip between them is paid for."""
    from cinestitch.state import ONLY_ENV

    plan = plan_build(load_project(args.dir))
    if not plan.keyframes:
        print(
            f"cinestitch: {plan.project.manifest_path}: no keyframes — declare keyframes: "
            "and give segments between: [start, end]",
            file=sys.stderr,
        )
        return 2
    dodo = args.dir / "dodo.py"
    if not dodo.is_file():
        print(f"cinestitch: {dodo}: missing — `cinestitch new` writes one", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "doit", "-f", str(dodo), "keyframes", *args.doit_args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", ONLY_ENV: "keyframes"}
    done = subprocess.call(command, env=env)
    root = plan.project.root
    for ks in plan.keyframes:
        state = "" if ks.image.is_file() else "  (not drawn)"
        print(f"   {ks.keyframe.id:<16} {ks.image.relative_to(root)}{state}")
    sheet = plan.paths.keyframe_sheet
    if sheet.is_file():
        print(f"keyframes side by side: {sheet.relative_to(root)}")
    return done


if __name__ == "__main__":
    sys.exit(main())
