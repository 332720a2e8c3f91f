"""Statements compiled once for the driver and run on a DB-API cursor with raw parameters.

The hot paths (every inquiry's lookup, every IVR webhook's read and write) go around
SQLAlchemy's per-statement machinery (cache key, execution context, bind and result
processors), which costs more than running the statement. The statement itself is still
SQLAlchemy's, so it stays portable; what is left to the caller is what the processors
would have done: only values the driver takes as they are (text, integers, None) go in,
and the values the drivers return differently (datetimes: ``utc``) are converted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.sql.elements import DQLDMLClauseElement

# The parameters as the driver takes them: a sequence for qmark drivers (sqlite3), a
# mapping for pyformat ones (psycopg).
DriverParams = Sequence[object] | Mapping[str, object]
Values = Mapping[str, object]


class CompiledStatement:
    """A statement compiled once for a dialect: its SQL, and its parameters in the form
    the dialect's driver takes them."""

    __slots__ = ("sql", "params")

    def __init__(self, statement: DQLDMLClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        # ``values`` (by parameter name) as the driver takes them: for qmark drivers a tuple
        # in the SQL's order (``positiontup``), for pyformat ones (no order) the mapping.
        # Chosen once: this runs for every statement.
        self.params: Callable[[Values], DriverParams] = _pick(compiled.positiontup)

    def execute(self, cursor: DBAPICursor, values: Values) -> None:
        """Run on ``cursor``, in whatever transaction its connection is in."""
        cursor.execute(self.sql, self.params(values))

    def fetchone(self, engine: Engine, values: Values) -> Sequence[Any] | None:
        """Run on a pooled connection of ``engine``: the first row, as the driver gives it."""
        row: Sequence[Any] | None = _read(engine, self.sql, self.params(values), one=True)
        return row

    def fetchall(self, engine: Engine, values: Values) -> Sequence[Sequence[Any]]:
        """Run on a pooled connection of ``engine``: every row, as the driver gives them."""
        rows: Sequence[Sequence[Any]] = _read(engine, self.sql, self.params(values),
                                              one=False)
        return rows


def pieces(count: int, largest: int) -> Iterator[tuple[int, int]]:
    """``(start, size)`` pieces covering ``count`` rows or keys written in one statement
    each: as many of ``largest`` (a power of two) as fit, then the rest by powers of two,
    largest first. Few statements (a GIL round trip each: a writer waits for the GIL
    after every statement, as long as the request threads keep it, while it holds the
    writers' turn), of few sizes (each compiled, and prepared by the driver, once).

    >>> list(pieces(300, 128))
    [(0, 128), (128, 128), (256, 32), (288, 8), (296, 4)]
    """
    if largest < 1 or largest & (largest - 1):
        raise ValueError("largest must be a power of two")
    start = 0
    while count - start >= largest:
        yield start, largest
        start += largest
    size = largest
    while start < count:
        size >>= 1
        if count - start >= size:
            yield start, size
            start += size


def _read(engine: Engine, sql: str, params: DriverParams, *, one: bool) -> Any:
    """One read on a pooled connection, tried again once on another when the first
    finds the server gone (a restart: ``core.platform.db`` no longer pings a connection
    before use, and a read may be repeated).

    On PostgreSQL the read runs in autocommit: one statement sees one snapshot all the
    same, and the connection goes back to the pool with no transaction to roll back
    (the pool's ROLLBACK on return, a round trip, is then skipped by psycopg)."""
    autocommit = engine.dialect.name == "postgresql"
    for attempt in (1, 2):
        connection = engine.raw_connection()
        driver: Any = connection.driver_connection
        try:
            if autocommit:
                driver.autocommit = True
            cursor = connection.cursor()
            cursor.execute(sql, params)
            found = cursor.fetchone() if one else cursor.fetchall()
            cursor.close()
            return found
        except engine.dialect.loaded_dbapi.Error as exc:
            if attempt == 2 or not engine.dialect.is_disconnect(
                    exc, connection.dbapi_connection, None):
                raise
            connection.invalidate(exc)  # the next checkout finds the rest of the pool
        finally:
            if autocommit and connection.is_valid:
                _transactional_again(connection, driver)
            connection.close()  # back to the pool, which ends any transaction it opened
    raise AssertionError("unreachable")


def _transactional_again(connection: Any, driver: Any) -> None:
    """The connection as the pool lends it (transactions on), or not back in the pool."""
    try:
        driver.autocommit = False
    except Exception as exc:  # it cannot be: not lent to anyone again
        connection.invalidate(exc)


def _pick(order: Sequence[str] | None) -> Callable[[Values], DriverParams]:
    """The values in ``order`` as a tuple; the mapping itself when there is no order."""
    if not order:
        return _as_given
    if len(order) == 1:
        name = order[0]
        return lambda values: (values[name],)
    pick: Callable[[Values], tuple[object, ...]] = itemgetter(*order)
    return pick


def _as_given(values: Values) -> Values:
    return values


def utc(value: datetime | str | None) -> datetime | None:
    """A UTCDateTime column's value from the driver, aware and in UTC: SQLite gives
    SQLAlchemy's stored text (UTC, naive), PostgreSQL an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
