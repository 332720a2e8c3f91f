"""Engine and session factory: SQLite (WAL, foreign keys on) by default, PostgreSQL supported."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """Create the engine; for SQLite, create the file's folder and set the pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so that
        # writers take the lock at BEGIN (IMMEDIATE) and never deadlock on upgrade.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode != "NONE":
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The engine and two session factories: ``read`` for reads, ``write`` for changes.

    On SQLite a writer begins IMMEDIATE, taking the write lock up front, so two writers
    queue on the busy timeout instead of one failing when its read snapshot goes stale.
    """

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, echo=echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        write_bind = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite
            else self.engine
        )
        self.read = sessionmaker(self.engine, expire_on_commit=False)
        # For single-statement lookups on the hot path: on SQLite no BEGIN round trip,
        # each statement reads its own consistent snapshot.
        self.lookup = (
            self.engine.execution_options(sqlite_begin="NONE") if self.is_sqlite
            else self.engine
        )
        self.write = sessionmaker(write_bind, expire_on_commit=False)
        self.write_engine = write_bind

    def dispose(self) -> None:
        self.engine.dispose()
