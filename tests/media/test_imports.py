"""Importing the media package, its value types or the manifest model loads no PyAV, numpy
or Pillow; the package's public names still resolve to the real objects."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cinestitch.media as media
from cinestitch.media.frames import psnr
from cinestitch.media.writer import Mp4Writer

HEAVY = "{'av', 'numpy', 'PIL'}"


@pytest.mark.parametrize(
    "modules",
    ["cinestitch.media, cinestitch.media.types", "cinestitch.manifest"],
)
def test_import_loads_no_heavy_library(modules: str) -> None:
    """A fresh interpreter importing these has none of av, numpy, PIL in sys.modules."""
    code = (
        f"import sys, {modules}; "
        f"loaded = {HEAVY} & set(sys.modules); "
        "assert not loaded, sorted(loaded)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_public_names_resolve_lazily_to_their_modules() -> None:
    """``media.psnr`` and ``media.Mp4Writer`` are the functions their modules define, every
    name in ``__all__`` resolves, and an unknown name raises AttributeError."""
    assert media.psnr is psnr and media.Mp4Writer is Mp4Writer
    assert all(getattr(media, name) is not None for name in media.__all__)
    assert set(media.__all__) <= set(dir(media))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = media.nothing_here  # type: ignore[attr-defined]
