"""Where the shared schema and templates live (the repo root's schemas/ and templates/).

They are installed with the package (``cinestitch/data``), so a project outside this repo
finds them too.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SCHEMA_PATH = DATA_DIR / "schemas" / "cinestitch.schema.json"
SHARED_TEMPLATES_DIR = DATA_DIR / "templates"
SCAFFOLD_DIR = DATA_DIR / "scaffold"
