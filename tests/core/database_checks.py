"""What the tests of the background runs share when they look at the database itself: runs
racing on engines of their own, and the plan of the statement a run sent."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import sleep
from typing import TypeVar

from sqlalchemy import Engine, event

from core.platform.db import Database

T = TypeVar("T")


def at_once(url: str, run: Callable[[Database], T], runners: int = 4) -> list[T]:
    """``run`` on ``runners`` threads at once, each with its own engine, as separate
    machines have; the results of all of them (each must finish).

    Each pauses a little after each of its commits, as a run on another machine does (the
    network's round trip): without it, on SQLite, the first writer would take every batch
    while the others wait for the lock, and nothing would race.
    """
    databases = [Database(url) for _ in range(runners)]
    for db in databases:
        event.listen(db.write_engine, "checkin", lambda *_: sleep(0.005))
    start = threading.Barrier(runners)
    results: list[T] = []

    def go(db: Database) -> None:
        start.wait()
        results.append(run(db))

    threads = [threading.Thread(target=go, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in databases:
        db.dispose()
    assert len(results) == runners  # none failed
    return results


@contextmanager
def statements_sent(engine: Engine, wanted: Callable[[str], bool]
                    ) -> Iterator[list[tuple[str, object]]]:
    """The statements (with their parameters) ``engine`` sends in the block that
    ``wanted`` picks."""
    statements: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if wanted(statement):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def plan_of(db: Database, statement: str, parameters: object, *,
            no_sort: bool = False) -> str:
    """The database's plan for ``statement``, in one line to search for an index's name
    (``no_sort``: on PostgreSQL, with sorting discouraged too, for a statement whose
    index is there to give its order: on a few rows another index and a sort may cost
    the same, and the planner's choice between them then follows its statistics)."""
    with db.engine.connect() as connection:
        if db.is_sqlite:
            return " ".join(row[-1] for row in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters))
        # The tables are small here: ask whether the index serves, not what is cheapest.
        connection.exec_driver_sql("SET enable_seqscan = off")
        if no_sort:
            connection.exec_driver_sql("SET enable_sort = off")
        return " ".join(row[0] for row in connection.exec_driver_sql(
            f"EXPLAIN {statement}", parameters))
