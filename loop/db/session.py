"""Engine and session helpers; the schema is created and upgraded by Alembic only."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "db" / "migrations"


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    from loop.config import sqlalchemy_url

    url = sqlalchemy_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextmanager
def session_scope(config_or_url) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    url = config_or_url if isinstance(config_or_url, str) else config_or_url.db_url
    session = sessionmaker(engine_for(url), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    from loop.config import sqlalchemy_url

    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def upgrade(config_or_url) -> None:
    """Bring the database to the newest schema (creates it if needed)."""
    from alembic import command

    url = config_or_url if isinstance(config_or_url, str) else config_or_url.db_url
    command.upgrade(alembic_config(url), "head")
