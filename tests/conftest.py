"""Fixtures shared by every suite: the repo root, model files, a scratch copy of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A scratch copy of the parts of the project an evaluation reads (ruler/, agent_workspace/)."""
    dest = tmp_path / "project"
    dest.mkdir()
    for part in ("ruler", "agent_workspace"):
        shutil.copytree(REPO / part, dest / part, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".cache"))
    return dest


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL server for the session (tests/pg.py), stopped at the end, also on failure."""
    from .pg import PgServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        pytest.skip(reason="no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or under "
                    "/usr/lib/postgresql/*/bin: `make test` installs Debian's postgresql package")
    server = PgServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the session's server; dropped after the test."""
    from loop.db.session import engine_for

    name = pg_server.create_database()
    url = pg_server.url(name)
    yield url
    engine_for(url).dispose()
    pg_server.drop_database(name)
