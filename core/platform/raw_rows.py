"""Many rows written, or looked up by one column, in one statement on the driver's cursor.

For the SMS short code's bursts (an MO row and an answer per message): SQLAlchemy's
many-rows INSERT spent more building each row's parameters, and its expression
building more on each small lookup, than the database spent on them. The SQL is plain
and portable (``INSERT ... VALUES (...), (...) [ON CONFLICT (col) DO NOTHING]
[RETURNING ...]``, SQLite and PostgreSQL alike); each value goes through its column
type's bind processor, so a datetime is stored exactly as SQLAlchemy stores it. Runs in
the caller's transaction (``connection``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect

# Parameters one statement may hold: SQLite's historical limit, whatever its version.
_MAX_PARAMETERS = 999


def insert_many(connection: Connection, table: Table, columns: tuple[str, ...],
                rows: Sequence[Sequence[object]], *, unique: str | None = None,
                returning: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (values in ``columns``' order); rows whose ``unique`` column is
    taken are skipped (``ON CONFLICT DO NOTHING``). The ``returning`` columns of the rows
    inserted, as the driver gives them (in no promised order)."""
    return run(connection, inserts(connection.dialect, table, columns, rows, unique=unique,
                                   returning=returning), returning=bool(returning))


# Statements and their parameters, as the driver takes them.
Statements = list[tuple[str, list[object]]]


def inserts(dialect: Dialect, table: Table, columns: tuple[str, ...],
            rows: Sequence[Sequence[object]], *, unique: str | None = None,
            returning: tuple[str, ...] = ()) -> Statements:
    """The statements ``insert_many`` runs, their values converted: everything that need
    not wait for the transaction (a writer that holds the SQLite writers' turn while it
    builds them keeps every other writer waiting, for the GIL too)."""
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in columns]
    chunk = max(1, _MAX_PARAMETERS // len(columns))
    return [(_insert_sql(table.name, columns, dialect.paramstyle, len(part), unique,
                         returning),
             [value if process is None else process(value)
              for row in part for value, process in zip(row, processors, strict=True)])
            for part in (rows[start:start + chunk] for start in range(0, len(rows), chunk))]


def run(connection: Connection, statements: Statements, *,
        returning: bool = False) -> list[tuple[Any, ...]]:
    """Run ``statements`` (``inserts``) in ``connection``'s transaction; the rows they
    return, with ``returning``."""
    out: list[tuple[Any, ...]] = []
    cursor = connection.connection.cursor()
    try:
        for sql, parameters in statements:
            cursor.execute(sql, parameters)
            if returning:
                out.extend(tuple(row) for row in cursor.fetchall())
    finally:
        cursor.close()
    return out


def select_in(connection: Connection, table: Table, column: str,
              values: Sequence[object]) -> list[Any]:
    """The values of ``column`` among ``values`` that some row of ``table`` holds."""
    if not values:
        return []
    mark = _mark(connection.dialect.paramstyle)
    out: list[Any] = []
    cursor = connection.connection.cursor()
    try:
        for start in range(0, len(values), _MAX_PARAMETERS):
            part = list(values[start:start + _MAX_PARAMETERS])
            cursor.execute(f"SELECT {column} FROM {table.name} WHERE {column} IN "
                           f"({', '.join([mark] * len(part))})", part)
            out.extend(row[0] for row in cursor.fetchall())
    finally:
        cursor.close()
    return out


def _mark(paramstyle: str) -> str:
    return "?" if paramstyle == "qmark" else "%s"


@lru_cache(maxsize=256)
def _insert_sql(table: str, columns: tuple[str, ...], paramstyle: str, count: int,
                unique: str | None, returning: tuple[str, ...]) -> str:
    row = "(" + ", ".join([_mark(paramstyle)] * len(columns)) + ")"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([row] * count)}"
    if unique is not None:
        sql += f" ON CONFLICT ({unique}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    return sql
