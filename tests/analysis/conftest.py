"""Analysis fixtures: a research repository whose record the real daemon wrote (`run --once`: the baseline 0
and one sweep experiment 1, replay runner, proxy judge), copied fresh for each test, and the CLI on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ..daemon.conftest import cli as daemon_cli
from ..daemon.conftest import fresh_copy, make_repo


@pytest.fixture(scope="session")
def researched(tmp_path_factory) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("researched") / "repo")
    done = daemon_cli(repo, "run", "--once", "--no-live")
    assert done.returncode == 0, done.stderr
    return repo


@pytest.fixture
def repo(researched: Path, tmp_path: Path) -> Path:
    return fresh_copy(researched, tmp_path)


def cli(repo: Path, *args: str, env: dict | None = None):
    """`autoresearch ...` on the repository and its record (judge proxy, runner replay, no credentials
    unless `env` gives ANTHROPIC_BASE_URL)."""
    return daemon_cli(repo, *args, env={"ANTHROPIC_BASE_URL": "", **(env or {})})


def rows(repo: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(repo.parent / "record.sqlite") as conn:
        return conn.execute(sql).fetchall()
