"""`doit` at the repository root builds every project under projects/.

Each project keeps its own doit state (projects/<name>/.doit.db), so building it from here or
from inside its directory is the same build.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DOIT_CONFIG = {"verbosity": 2, "default_tasks": ["projects"]}


def task_projects():  # type: ignore[no-untyped-def]
    """Build each project under projects/ (a doit run inside its directory)."""
    for dodo in sorted(ROOT.glob("projects/*/dodo.py")):
        yield {
            "name": dodo.parent.name,
            "actions": [[sys.executable, "-m", "doit", "-f", str(dodo)]],
            "uptodate": [False],
            "clean": [[sys.executable, "-m", "doit", "-f", str(dodo), "clean"]],
            "verbosity": 2,
        }
