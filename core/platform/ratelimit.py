"""Failure counters: in the database, shared by every process and machine of one
installation (the inquiry limits), or in this process's memory (a channel's own budgets,
a simulator's apart counts).

A counter is a fixed window that opens at a key's first failure: ``failures`` within
``window`` seconds of ``since``; a failure after the window starts a new one. Only
failures write; a check is one indexed read of every key the request touches. A burst
(the SMS short code's) reads its keys once and writes its failures with its own
transaction (``add_in``).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Connection, ScalarSelect, bindparam, delete, select, text

from core.platform.compiled import CompiledStatement
from core.platform.db import Database
from core.platform.models import FailureCount

Clock = Callable[[], float]


class FailureCounts(Protocol):
    """Failures per key within the window, seen alike by every user of one store."""

    window: float

    def counts(self, keys: Sequence[str]) -> Mapping[str, int]:
        """The failures of each key within its window (absent keys: none)."""
        ...

    def add(self, keys: Iterable[str]) -> None:
        """One more failure for each key."""
        ...

    def add_in(self, connection: Connection, failures: Mapping[str, int]) -> None:
        """``failures[key]`` more failures for each key, in ``connection``'s transaction
        when the store is that database (committed, or rolled back, with it)."""
        ...


class DatabaseFailureCounts:
    """The counters in the ``failure_counts`` table: every process of the installation
    counts the same failures, a restart forgets none, and no flood of new keys pushes
    the old ones out (rows expire by time: ``forget_expired``, run by the upkeep)."""

    def __init__(self, db: Database, window: float, *, clock: Clock = time.time) -> None:
        self.window = window
        self._db = db
        self._clock = clock  # wall-clock seconds: every machine must agree on it
        self._reads: dict[int, CompiledStatement] = {}
        self._writes: dict[int, CompiledStatement] = {}

    def counts(self, keys: Sequence[str]) -> Mapping[str, int]:
        statement = self._reads.get(len(keys))
        if statement is None:
            statement = self._reads[len(keys)] = _read_statement(len(keys), self._db)
        rows = statement.fetchall(self._db.lookup, {f"k{i}": key for i, key in enumerate(keys)})
        horizon = self._clock() - self.window
        return {key: int(failures) for key, failures, since in rows if since > horizon}

    def columns(self, size: int) -> list[ScalarSelect[Any]]:
        """The failures and window start of ``size`` keys (bound as ``k0``…), as scalar
        subqueries another statement can carry: one round trip for a lookup and its
        counters (``from_columns`` reads them back)."""
        table = FailureCount.__table__
        columns: list[ScalarSelect[Any]] = []
        for i in range(size):
            row = table.c.key == bindparam(f"k{i}")
            columns.append(select(table.c.failures).where(row).scalar_subquery())
            columns.append(select(table.c.since).where(row).scalar_subquery())
        return columns

    def from_columns(self, keys: Sequence[str], values: Sequence[Any]) -> dict[str, int]:
        """The counts of ``keys`` from the values of ``columns(len(keys))``."""
        horizon = self._clock() - self.window
        return {key: int(values[2 * i]) for i, key in enumerate(keys)
                if values[2 * i] is not None and values[2 * i + 1] > horizon}

    def add(self, keys: Iterable[str]) -> None:
        failures = dict.fromkeys(keys, 1)
        if not failures:
            return
        # In the engine's write transaction (on SQLite: the process's writers' turn, then
        # BEGIN IMMEDIATE).
        with self._db.write_engine.begin() as connection:
            self.add_in(connection, failures)

    def add_in(self, connection: Connection, failures: Mapping[str, int]) -> None:
        # Sorted and unique: PostgreSQL refuses one key twice in an upsert, and two
        # requests locking the same rows in one order cannot deadlock.
        unique = sorted(key for key, n in failures.items() if n > 0)
        if not unique:
            return
        statement = self._writes.get(len(unique))
        if statement is None:
            statement = self._writes[len(unique)] = CompiledStatement(
                text(_upsert_sql(len(unique))), self._db.engine.dialect)
        now = self._clock()
        values: dict[str, object] = {f"k{i}": key for i, key in enumerate(unique)}
        values.update({f"n{i}": failures[key] for i, key in enumerate(unique)})
        values.update(now=now, horizon=now - self.window)
        # Run as compiled once, on the connection's own DB-API connection (so in its
        # transaction): half the cost of going through text().
        cursor = connection.connection.cursor()
        try:
            statement.execute(cursor, values)
        finally:
            cursor.close()

    def forget_expired(self, now: datetime) -> int:
        """Delete the counters whose window has passed; how many."""
        horizon = now.timestamp() - self.window
        with self._db.write.begin() as session:
            result = session.execute(
                delete(FailureCount).where(FailureCount.since <= horizon))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _read_statement(size: int, db: Database) -> CompiledStatement:
    table = FailureCount.__table__
    statement = select(table.c.key, table.c.failures, table.c.since).where(
        table.c.key.in_([bindparam(f"k{i}") for i in range(size)]))
    return CompiledStatement(statement, db.engine.dialect)


def _upsert_sql(size: int) -> str:
    """One statement for every key of the failures (``:nI`` more for key ``:kI``); the
    same SQL on SQLite and PostgreSQL. A window that has passed starts again at the new
    failures (the right-hand sides read the old row; ``excluded`` is the new one)."""
    rows = ", ".join(f"(:k{i}, :n{i}, :now)" for i in range(size))
    return (
        f"INSERT INTO failure_counts (key, failures, since) VALUES {rows} "
        "ON CONFLICT (key) DO UPDATE SET "
        "failures = CASE WHEN failure_counts.since <= :horizon THEN excluded.failures "
        "ELSE failure_counts.failures + excluded.failures END, "
        "since = CASE WHEN failure_counts.since <= :horizon THEN :now "
        "ELSE failure_counts.since END"
    )


class MemoryFailureCounts:
    """The same counters in this process's memory: for unit tests and for what is counted
    apart on purpose (a training simulator). Bounded at ``max_keys``, oldest first."""

    def __init__(self, window: float, *, max_keys: int = 100_000,
                 clock: Clock = time.monotonic) -> None:
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._rows: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def counts(self, keys: Sequence[str]) -> Mapping[str, int]:
        horizon = self._clock() - self.window
        with self._lock:
            found = {key: self._rows.get(key) for key in keys}
        return {key: row[0] for key, row in found.items() if row and row[1] > horizon}

    def add(self, keys: Iterable[str]) -> None:
        self.add_in(None, dict.fromkeys(keys, 1))

    def add_in(self, connection: Connection | None, failures: Mapping[str, int]) -> None:
        """``failures[key]`` more failures for each key, at once (no transaction here)."""
        now = self._clock()
        with self._lock:
            for key, more in failures.items():
                if more <= 0:
                    continue
                count, since = self._rows.pop(key, (0, now))
                if since <= now - self.window:
                    count, since = 0, now
                self._rows[key] = (count + more, since)
            while len(self._rows) > self.max_keys:
                self._rows.popitem(last=False)


class FailureLimiter:
    """Refuse a key after ``max_failures`` within ``window`` seconds (a sliding window),
    in this process's memory: a channel's own budgets (the SMS answers per mobile).

    Bounded: at most ``max_keys`` keys are tracked. Past it, the least recently seen key
    that is not blocked is forgotten first, so a flood of new keys cannot exhaust memory
    nor wash out the keys that are refused now.
    """

    # How many of the oldest keys are looked at for one that is not blocked.
    EVICTION_SCAN = 64

    def __init__(self, max_failures: int, window: float, *, max_keys: int = 100_000,
                 clock: Clock = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked(self, key: str) -> bool:
        with self._lock:
            times = self._failures.get(key)
            if not times:
                return False
            self._expire(times)
            return len(times) >= self.max_failures

    def failed(self, key: str) -> None:
        with self._lock:
            times = self._failures.get(key)
            if times is None:
                times = self._failures[key] = deque()
                while len(self._failures) > self.max_keys:
                    self._evict_one(key)
            else:
                self._failures.move_to_end(key)
            self._expire(times)
            times.append(self._clock())

    def _evict_one(self, newest: str) -> None:
        for scanned, (key, times) in enumerate(self._failures.items()):
            if scanned >= self.EVICTION_SCAN or key == newest:
                break
            self._expire(times)
            if len(times) < self.max_failures:
                del self._failures[key]
                return
        self._failures.popitem(last=False)  # all blocked: the oldest goes after all

    def _expire(self, times: deque[float]) -> None:
        horizon = self._clock() - self.window
        while times and times[0] < horizon:
            times.popleft()


@lru_cache(maxsize=65_536)
def origin_group(origin: str) -> str:
    """The origin as counted: an IPv6 address by its /64 (one subscriber's network, where
    every address is free to take), an IPv4 address (or IPv4 mapped in IPv6) by itself,
    anything else (a mobile, a mailbox, a kiosk) as given, a mailbox in lower case."""
    try:
        address = ipaddress.ip_address(origin.strip().split("%")[0])
    except ValueError:
        return origin.strip().lower()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
