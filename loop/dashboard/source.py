"""Where the dashboard reads the record: a read-only engine that never creates a file or a table.

`open_source(url)` checks the database before the first page: a SQLite path that does not exist
raises `DatabaseMissing` (the page answers 404 naming the path), anything else that stops a query
(not a database, no schema yet, server down) raises `DatabaseUnavailable` (503 naming URL and error).
Connections are `PRAGMA query_only`: the dashboard can never change the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError


class DatabaseMissing(Exception):
    def __init__(self, where: str):
        super().__init__(f"no database at {where}")
        self.where = where


class DatabaseUnavailable(Exception):
    def __init__(self, where: str, error: str):
        super().__init__(f"cannot open the database {where}: {error}")
        self.where, self.error = where, error


def _query_only(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MB page cache: the data endpoint scans every experiment row
    cursor.execute("PRAGMA mmap_size=268435456")  # read pages in place instead of copying them
    cursor.close()


@dataclass
class Source:
    """The record the dashboard shows; `where` is the path (SQLite) or the URL without password."""

    url: str
    where: str
    sqlite_path: Path | None
    engine: Engine

    def check(self) -> None:
        """Raise DatabaseMissing / DatabaseUnavailable unless the record can be queried now."""
        if self.sqlite_path is not None and not self.sqlite_path.is_file():
            raise DatabaseMissing(self.where)
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT number FROM experiments LIMIT 1")).all()
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(self.where, describe(exc)) from None

    def dispose(self) -> None:
        self.engine.dispose()


def describe(exc: SQLAlchemyError) -> str:
    """The driver's own one-line message, without SQL text or parameters."""
    orig = getattr(exc, "orig", None)
    message = str(orig) if orig is not None else str(exc).split("\n")[0]
    if "no such table" in message:
        message += " (the schema is missing: run `autoresearch init`)"
    return message


def open_source(url: str) -> Source:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise DatabaseUnavailable(url, "an in-memory database holds no record")
        path = Path(database).expanduser().resolve()
        # mode=rw: never create a missing file (a plain sqlite:/// connect would)
        engine = create_engine(f"sqlite:///file:{quote(str(path))}?mode=rw&uri=true",
                               connect_args={"timeout": 10, "check_same_thread": False})
        event.listen(engine, "connect", _query_only)
        return Source(url=url, where=str(path), sqlite_path=path, engine=engine)
    engine = create_engine(url, pool_pre_ping=True)
    return Source(url=url, where=parsed.render_as_string(hide_password=True), sqlite_path=None, engine=engine)
