"""The Alembic migrations build exactly the schema the ORM models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from loop.db.models import Base
from loop.db.session import engine_for, upgrade


def schema_diff(url: str) -> list:
    """What autogenerate would change: the record's own tables only (not versions, not Optuna's)."""
    def ours(obj, name, type_, reflected, compare_to) -> bool:
        return type_ != "table" or name in Base.metadata.tables

    with engine_for(url).connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"include_object": ours}), Base.metadata)


def test_upgrade_head_matches_the_models(record_url: str):
    url = record_url
    upgrade(url)
    diff = schema_diff(url)
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"


def test_upgrade_is_idempotent(record_url: str):
    url = record_url
    upgrade(url)
    upgrade(url)
    assert "experiments" in inspect(engine_for(url)).get_table_names()


def test_optuna_and_the_record_share_a_database_without_colliding(record_url: str):
    import optuna

    url = record_url
    optuna.storages.RDBStorage(url)  # Optuna first: it stamps its own alembic_version
    upgrade(url)
    optuna.storages.RDBStorage(url)  # and still passes its own schema check afterwards
    upgrade(url)
    tables = inspect(engine_for(url)).get_table_names()
    assert {"experiments", "autoresearch_schema_version", "alembic_version", "studies"} <= set(tables)
    assert schema_diff(url) == []


def test_the_chain_downgrades_to_nothing_and_upgrades_again(record_url: str):
    from alembic import command

    from loop.db.session import alembic_config

    upgrade(record_url)
    command.downgrade(alembic_config(record_url), "base")
    assert set(inspect(engine_for(record_url)).get_table_names()) & set(Base.metadata.tables) == set()
    upgrade(record_url)
    assert schema_diff(record_url) == []
