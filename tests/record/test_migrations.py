"""The Alembic migrations build exactly the schema the ORM models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from loop.db.models import Base
from loop.db.session import engine_for, upgrade


def test_upgrade_head_matches_the_models(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    upgrade(url)
    with engine_for(url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"


def test_upgrade_is_idempotent(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    upgrade(url)
    upgrade(url)
    assert "experiments" in inspect(engine_for(url)).get_table_names()
