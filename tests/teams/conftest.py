"""Fixtures of the team tests: one S3 protocol server (moto's server mode) on 127.0.0.1 for
the session, and one project built once whose clips seed the buckets of the tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import provider_calls
from tests.teams.teams_support import S3, doit, output, s3_env, write_project


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    """A real S3 server speaking HTTP on a free loopback port, stopped after the tests."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3(f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def origin(tmp_path_factory: pytest.TempPathFactory, s3: S3) -> Path:
    """The project as first built on one machine with a local cache only (four clips)."""
    root = write_project(tmp_path_factory.mktemp("origin") / "reel")
    result = doit(root, env=s3_env(s3.endpoint, None))
    assert result.returncode == 0, output(result)
    assert provider_calls(root) == 4
    return root
