"""Dashboard fixtures: a record full of realistic experiments, a matching ruler, and a server on
127.0.0.1 (a free port, a background thread) that every test stops when it ends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from loop.dashboard.app import create_app
from loop.dashboard.server import BackgroundServer, allowed_hosts
from tests.support.dashboard_records import Generated, populate, write_ruler


@dataclass
class Record:
    url: str
    path: Path
    ruler_dir: Path
    generated: Generated | None


@pytest.fixture
def ruler_dir(tmp_path: Path) -> Path:
    return write_ruler(tmp_path / "ruler")


@pytest.fixture
def record(tmp_path: Path, ruler_dir: Path) -> Record:
    path = tmp_path / "record.sqlite"
    generated = populate(f"sqlite:///{path}", 40, running=True)
    return Record(f"sqlite:///{path}", path, ruler_dir, generated)


@pytest.fixture
def serve():
    """serve(url, ruler_dir) -> a started BackgroundServer; all are stopped after the test."""
    started: list[BackgroundServer] = []

    def start(url: str, ruler_dir: Path) -> BackgroundServer:
        server = BackgroundServer(create_app(url, ruler_dir, allowed_hosts=allowed_hosts("127.0.0.1"))).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        assert not server._thread.is_alive(), "the dashboard server thread did not stop"
