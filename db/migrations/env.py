"""Alembic environment: migrations run against the URL set by loop.db.session.alembic_config."""

from alembic import context
from sqlalchemy import pool

from loop.db.models import Base
from loop.db.session import engine_for

config = context.config
target_metadata = Base.metadata
# The record's schema version has a table of its own: Optuna (the sweep agent's study lives in the
# same database) keeps its version in `alembic_version`.
VERSION_TABLE = "autoresearch_schema_version"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Only the record's own tables; Optuna's tables in the same database are not ours to migrate."""
    return type_ != "table" or name in target_metadata.tables


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True, version_table=VERSION_TABLE,
                      include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = engine_for(url) if url.startswith("sqlite") else __import__("sqlalchemy").create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          version_table=VERSION_TABLE, include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
