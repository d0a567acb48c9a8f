"""What the doit command line asked to run: a build of just the keyframes (``doit keyframes``,
``doit keyframe:<id>``) prices and approves just the stills, as ``cinestitch keyframes``
does, rather than every clip the project would make (which it will not make).

Read with doit's own option tables, so that ``doit -n 2 --continue keyframes`` is understood;
a command line that is not doit's, or that doit's parser refuses, names no tasks (the whole
plan is then budgeted, as before).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

KEYFRAME_STEPS = frozenset({"keyframes", "keyframe"})
"""The task basenames of a keyframe-only build: the contact sheet and the stills."""


def asked_tasks(argv: Sequence[str]) -> list[str] | None:
    """The tasks a doit ``run`` command line names (``argv`` as in ``sys.argv``), or None:
    it names none (doit's default tasks), runs another command, or is not doit's."""
    if not argv or not _is_doit(argv[0]):
        return None
    from doit.cmd_base import DodoTaskLoader, DoitCmdBase
    from doit.cmd_run import Run
    from doit.cmdparse import CmdOption, CmdParse, CmdParseError

    loader = [CmdOption(o) for o in DodoTaskLoader.cmd_options]
    run = [CmdOption(o) for o in (*DoitCmdBase.base_options, *Run.cmd_options)]
    try:
        _, args = CmdParse(loader).parse_only(list(argv[1:]))
    except CmdParseError:
        args = list(argv[1:])
    args = [a for a in args if "=" not in a]  # doit's command-line variables
    if args and args[0] == "run":
        args = args[1:]
    try:
        _, names = CmdParse(run).parse_only(args)
    except CmdParseError:
        return None
    return names or None


def only_keyframes(argv: Sequence[str]) -> bool:
    """Whether the command line asks for keyframe steps and nothing else."""
    names = asked_tasks(argv)
    return bool(names) and all(n.split(":", 1)[0] in KEYFRAME_STEPS for n in names or ())


def _is_doit(program: str) -> bool:
    """``doit`` itself, or ``python -m doit`` (whose argv[0] is doit's ``__main__.py``)."""
    path = os.path.normpath(program)
    name = os.path.basename(path)
    return name == "doit" or (
        name == "__main__.py" and os.path.basename(os.path.dirname(path)) == "doit"
    )
