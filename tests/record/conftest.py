"""The record's tests run on both backends: a SQLite file in tmp and a fresh PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def record_url(request, tmp_path: Path) -> str:
    """An empty record database: SQLite, then PostgreSQL (the session's own server, tests/pg.py)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'record.sqlite'}"
    return request.getfixturevalue("pg_url")
