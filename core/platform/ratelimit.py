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

import bisect
import ipaddress
import logging
import math
import threading
import time
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, KeysView, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, ScalarSelect, bindparam, delete, select, text

from core.platform.compiled import CompiledStatement, pieces
from core.platform.db import Database
from core.platform.models import FailureCount

log = logging.getLogger(__name__)

# Keys per write statement at most: a write behind carries hundreds under a flood, in
# statements of a few sizes (``pieces``): one statement for 256 keys costs less than
# eight of 32, above all in a process whose request threads keep the GIL.
WRITE_CHUNK = 256

Clock = Callable[[], float]


class FailureCounts(Protocol):
    """Failures per key within the window, seen alike by every user of one store."""

    window: float

    def counts(self, keys: Sequence[str]) -> Mapping[str, int]:
        """The failures of each key within its window (absent keys: none)."""
        ...

    def add(self, keys: Iterable[str], *, durable: bool = True) -> None:
        """One more failure for each key: in the store when this returns, or, with
        ``durable=False``, possibly a few milliseconds later (counted by this process's
        ``counts`` at once)."""
        ...

    def add_in(self, connection: Connection, failures: Mapping[str, int]) -> None:
        """``failures[key]`` more failures for each key, in ``connection``'s transaction
        when the store is that database (committed, or rolled back, with it)."""
        ...

    def unwritten(self, keys: Sequence[str]) -> Mapping[str, int]:
        """This process's failures of ``keys`` still waiting to be written (``add``)."""
        ...

    def flush(self) -> None:
        """Write every failure still waiting, before returning."""
        ...


class DatabaseFailureCounts:
    """The counters in the ``failure_counts`` table: every process of the installation
    counts the same failures, a restart forgets none, and no flood of new keys pushes
    the old ones out (rows expire by time: ``forget_expired``, run by the upkeep)."""

    # How long a failure written behind may wait for others to share its transaction.
    DELAY = 0.05
    # Failures per key this process may hold unwritten (what another process cannot see).
    MAX_UNWRITTEN = 1
    # Seconds between two refreshes of the filter of keys that may have failures.
    REFRESH = 1.0
    # A refresh reads the rows whose window opened since the one before, less this: a
    # row's ``since`` is its writer's clock just before its commit.
    SLACK = 5.0
    # The filter's slots (a power of two, 4 bytes each: 8 MiB). Keys share a slot by their
    # hash, so a key is a suspect when any key of its slot is (read for nothing, never
    # missed): with 100,000 keys failing within the window, 1 in 20 keys without failures.
    FILTER_SLOTS = 1 << 21
    # Rows one refresh reads at most; past it (a flood of failures) every key is a
    # suspect until a full read, tried every ``SATURATED_RETRY`` seconds, finds fewer.
    MAX_SUSPECTS = 250_000
    SATURATED_RETRY = 30.0
    # Rows a refresh merges into the filter per hold of its lock: a failing inquiry
    # marking its keys (``_mark``) waits for one such share, not for the whole refresh.
    MERGE_CHUNK = 1_000

    def __init__(self, db: Database, window: float, *, clock: Clock = time.time,
                 delay: float = DELAY, max_unwritten: int = MAX_UNWRITTEN,
                 refresh: float = REFRESH) -> None:
        self.window = window
        self.delay = delay
        self.max_unwritten = max_unwritten
        self.refresh_every = refresh
        self._db = db
        self._clock = clock  # wall-clock seconds: every machine must agree on it
        self._reads: dict[int, CompiledStatement] = {}
        self._writes: dict[int, CompiledStatement] = {}
        self._restart_one: CompiledStatement | None = None
        # Failures counted here and not yet committed: ``_pending`` waits for a write,
        # ``_unwritten`` is that and what a write holds until its commit (both under
        # ``_lock``). One write at a time (``_flush_lock``): when ``flush`` returns, every
        # failure added before it was called is committed.
        self._pending: Counter[str] = Counter()
        self._unwritten: Counter[str] = Counter()
        self._in_flight: KeysView[str] = _NOTHING  # the keys a ``flush`` is writing
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._closed = False
        self._writer: threading.Thread | None = None
        # The filter of keys that may have failures (``suspects``): per slot (a key's by its
        # hash), the latest wall-clock second a window of one of its keys opened, rounded
        # up. Off until first asked (other users of the store pay nothing for it: no
        # slots); usable once a full read of the table filled it. Changed under
        # ``_filter_lock`` (a slot only grows), read without it (an item is read whole).
        self._slots = array("I")
        self._usable = False
        self._next_refresh = 0.0  # time.monotonic()
        self._read_after = 0.0  # wall clock: the next refresh reads rows opened after it
        self._filter_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._refresh_read: CompiledStatement | None = None
        # Refreshes of a usable filter run here, not in the inquiry that finds one due.
        self._refresher: threading.Thread | None = None
        self._refresher_lock = threading.Lock()  # who starts it
        self._refresh_due = threading.Event()

    def counts(self, keys: Sequence[str]) -> Mapping[str, int]:
        unwritten = self.unwritten(keys)  # before the read: a commit between is not missed
        statement = self._reads.get(len(keys))
        if statement is None:
            statement = self._reads[len(keys)] = _read_statement(len(keys), self._db)
        rows = statement.fetchall(self._db.lookup, {f"k{i}": key for i, key in enumerate(keys)})
        horizon = self._clock() - self.window
        found = {key: int(failures) for key, failures, since in rows if since > horizon}
        return _plus(found, unwritten)

    def unwritten(self, keys: Sequence[str]) -> dict[str, int]:
        """This process's failures of ``keys`` that the database may not hold yet. Taken
        before reading the database: a write that commits in between is then counted
        twice for a moment, never missed."""
        if not self._unwritten:  # nothing written behind: the usual case, no lock
            return {}
        with self._lock:
            return {key: self._unwritten[key] for key in keys if key in self._unwritten}

    def columns(self, size: int) -> list[ScalarSelect[Any]]:
        """The failures within the window of ``size`` keys (bound by ``parameters``), as
        scalar subqueries another statement can carry: one round trip for a lookup and
        its counters (``from_columns`` reads them back). One indexed read per key."""
        table = FailureCount.__table__
        return [select(table.c.failures)
                .where(table.c.key == bindparam(f"k{i}"), table.c.since > bindparam("horizon"))
                .scalar_subquery() for i in range(size)]

    def parameters(self, keys: Sequence[str]) -> dict[str, object]:
        """The values of ``columns(len(keys))``'s parameters, for ``keys`` now."""
        values: dict[str, object] = {f"k{i}": key for i, key in enumerate(keys)}
        values["horizon"] = self._clock() - self.window
        return values

    def from_columns(self, keys: Sequence[str], values: Sequence[Any],
                     unwritten: Mapping[str, int]) -> dict[str, int]:
        """The counts of ``keys`` from the values of ``columns(len(keys))``, with
        ``unwritten(keys)`` as taken before the statement ran."""
        found = {key: int(value) for key, value in zip(keys, values, strict=True)
                 if value is not None}
        return _plus(found, unwritten)

    def suspects(self, keys: Sequence[str]) -> list[str]:
        """The keys among ``keys`` that may have failures: the only ones worth reading.

        From a filter in this process's memory: every key this process has failed (from
        the moment ``add``/``add_in`` is called, so unwritten failures too), and every key
        with a row in the table as of the last refresh (every ``refresh_every`` seconds,
        in a thread of its own woken by the first caller due; every caller goes on with
        the filter as it is). A key
        another process failed since that refresh is not a suspect here yet. What that
        lets through, past a limit: this process answers an inquiry with that key as if
        it had no failure; if it fails, the failure is counted as usual and makes the key
        a suspect here at once. So each process answers at most one failing inquiry
        more per counter (with those it has in flight at that moment), and only while
        it has not refreshed since the counter's window opened elsewhere (within
        ``refresh_every`` seconds; or, were a machine's clock off by more than ``SLACK``,
        within the window). A key whose row a refresh missed is caught the same way.
        Until the first full read, and while a refresh finds more than ``MAX_SUSPECTS``
        rows, every key is a suspect (read as without the filter). The filter never
        forgets a key with failures within the window (slots are shared, not evicted):
        a flood of new keys makes more keys suspects, never fewer.
        """
        if time.monotonic() >= self._next_refresh:
            if self._usable and not self._closed:
                self._refresh_behind()
            else:  # the first full read (or again after a failed one): here and now
                self._refresh_or_give_up(wait=False)
        if not self._usable:
            return list(keys)
        slots, mask = self._slots, len(self._slots) - 1
        horizon = self._clock() - self.window
        return [key for key in keys if slots[hash(key) & mask] > horizon]

    def _refresh_or_give_up(self, *, wait: bool) -> None:
        try:
            self.refresh(wait=wait)
        except Exception:  # the database is away: read every key until a full read
            log.exception("could not refresh the failure counters' filter")
            with self._filter_lock:
                self._usable = False
                self._next_refresh = time.monotonic() + self.refresh_every

    def _refresh_behind(self) -> None:
        """Wake the refresher (started on the first refresh due): under a flood of
        failures a refresh reads and merges thousands of rows, which the inquiry that
        found it due used to wait for, and every failing inquiry with it (``_mark``)."""
        if self._refresher is None or not self._refresher.is_alive():
            with self._refresher_lock:
                if self._refresher is None or not self._refresher.is_alive():
                    self._refresher = threading.Thread(
                        target=self._refresh_loop, daemon=True, name="failure-filter")
                    self._refresher.start()
        if not self._refresh_due.is_set():
            self._refresh_due.set()

    def _refresh_loop(self) -> None:
        while not self._closed:
            self._refresh_due.wait()
            self._refresh_due.clear()
            if self._closed:
                return
            if time.monotonic() >= self._next_refresh:
                self._refresh_or_give_up(wait=True)

    def refresh(self, *, wait: bool = True) -> None:
        """Bring the filter of ``suspects`` up to date with the table now (``wait=False``:
        unless another thread is doing it). Raises when the database is away; the filter
        stays as it was."""
        if not self._refresh_lock.acquire(blocking=wait):
            return
        try:
            if not self._slots:  # on from now: this process's failures are marked
                with self._filter_lock:
                    self._slots = array("I", [0]) * self.FILTER_SLOTS
            started = self._clock()
            full = not self._usable
            with self._lock:  # before the read: a commit in between is not missed
                unwritten = list(self._unwritten)
            after = started - self.window if full else max(self._read_after,
                                                            started - self.window)
            rows = self._refresh_statement().fetchall(
                self._db.lookup, {"after": after, "most": self.MAX_SUSPECTS + 1})
            self._merge(rows, unwritten, started, full)
        finally:
            self._refresh_lock.release()

    def _merge(self, rows: Sequence[Sequence[Any]], unwritten: list[str], started: float,
               full: bool) -> None:
        mask = len(self._slots) - 1  # (the slots are made once and never replaced)
        seconds = [(hash(key) & mask, math.ceil(since)) for key, since in rows]
        for start in range(0, len(seconds), self.MERGE_CHUNK):
            with self._filter_lock:  # a share at a time (MERGE_CHUNK)
                slots = self._slots
                for slot, second in seconds[start:start + self.MERGE_CHUNK]:
                    if slots[slot] < second:
                        slots[slot] = second
        with self._filter_lock:
            self._set(unwritten, started)
            if len(rows) > self.MAX_SUSPECTS:
                # Read more than a refresh should: every key a suspect until a full read
                # finds fewer (the slots keep what they hold).
                self._usable = False
                self._next_refresh = time.monotonic() + self.SATURATED_RETRY
                return
            self._usable = self._usable or full
            self._read_after = started - self.SLACK
            self._next_refresh = time.monotonic() + self.refresh_every

    def _set(self, keys: Iterable[str], since: float) -> None:
        """Make ``keys`` suspects for a window from ``since`` (under ``_filter_lock``)."""
        slots, mask, second = self._slots, len(self._slots) - 1, math.ceil(since)
        for key in keys:
            slot = hash(key) & mask
            if slots[slot] < second:
                slots[slot] = second

    def _mark(self, keys: Iterable[str]) -> None:
        """Make ``keys`` suspects in this process (they are failing here, now)."""
        if not self._slots:  # the filter is off: nobody asks for suspects
            return
        now = self._clock()
        with self._filter_lock:
            self._set(keys, now)

    def _refresh_statement(self) -> CompiledStatement:
        if self._refresh_read is None:
            # Through the ``since`` index: the rows whose window opened after ``:after``.
            self._refresh_read = CompiledStatement(text(
                "SELECT key, since FROM failure_counts WHERE since > :after LIMIT :most"),
                self._db.engine.dialect)
        return self._refresh_read

    def add(self, keys: Iterable[str], *, durable: bool = True) -> None:
        failures = list(dict.fromkeys(keys))
        if not failures:
            return
        self._mark(failures)  # before it is counted: a suspect is read, unwritten and all
        with self._lock:
            pending, unwritten = self._pending, self._unwritten
            behind = not durable and not self._closed and all(
                unwritten.get(key, 0) < self.max_unwritten for key in failures)
            for key in failures:  # (Counter.update checks for a mapping first: slower)
                unwritten[key] = unwritten.get(key, 0) + 1
                if behind:
                    pending[key] = pending.get(key, 0) + 1
            if behind:
                self._start_writer()
                return
        self._write_now(failures)

    def _write_now(self, keys: list[str]) -> None:
        """Write one failure of each of ``keys`` before returning, with those of their
        failures still waiting behind, in a transaction of their own: the inquiry waits
        for its own few rows, not for the hundreds of other keys waiting (under a flood
        that was most of the wait). Should a failure of one of its keys be on its way to
        the database already (``flush``), it waits for it first (and writes it again
        with these should that write fail): when this returns, the database holds every
        failure of ``keys`` this process counted, but one that another thread's own
        write of the same key is committing at that moment. Raises when the write
        fails: the failures then wait behind for the next write."""
        while True:
            with self._lock:
                if self._in_flight.isdisjoint(keys):
                    mine = {key: 1 + self._pending.pop(key, 0) for key in keys}
                    break
            # A write on its way holds some: wait for its end (should it fail, its
            # failures are back in ``_pending`` and go with these).
            with self._flush_lock:
                pass
        try:
            writes = self._writes_of(mine)
            with self._db.write_engine.begin() as connection:
                self._write(connection, writes)
        except BaseException:
            with self._lock:
                self._pending.update(mine)  # not lost: the next write tries again
                if not self._closed:
                    self._start_writer()
            raise
        self._written(mine)

    def flush(self) -> None:
        """Write every failure added so far, with any others still waiting, in one
        transaction. Raises when the write fails: the failures wait for the next one."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, Counter()
                self._in_flight = batch.keys()
            if not batch:
                return
            try:
                writes = self._writes_of(batch)  # before the turn: it waits for no one
                # In the engine's write transaction (on SQLite: the process's writers'
                # turn, then BEGIN IMMEDIATE).
                with self._db.write_engine.begin() as connection:
                    self._write(connection, writes)
            except BaseException:
                with self._lock:
                    self._pending.update(batch)  # not lost: the next write tries again
                    self._in_flight = _NOTHING
                raise
            with self._lock:
                self._in_flight = _NOTHING
            self._written(batch)

    def _written(self, failures: Mapping[str, int]) -> None:
        """``failures`` are committed: no longer unwritten."""
        with self._lock:
            self._unwritten.subtract(failures)
            for key in failures:
                if self._unwritten[key] <= 0:
                    del self._unwritten[key]

    def close(self) -> None:
        """Write what is waiting and stop the background writer; later failures are
        written as they come."""
        with self._lock:
            self._closed = True
            writer, self._writer = self._writer, None
        self._stopping.set()
        self._wake.set()
        self._refresh_due.set()  # the refresher sees it is closed and ends
        if writer is not None:
            writer.join(timeout=10)
        refresher = self._refresher
        if refresher is not None and refresher is not threading.current_thread():
            refresher.join(timeout=10)  # not reading after its engine is disposed
        self.flush()

    def _start_writer(self) -> None:
        """Wake the background writer, started on the first failure written behind."""
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_behind, daemon=True,
                                            name="failure-counts")
            self._writer.start()
        if not self._wake.is_set():  # once a batch: a set wakes the writer, GIL and all
            self._wake.set()

    def _write_behind(self) -> None:
        while not self._closed:
            self._wake.wait()
            # Let the failures of concurrent requests join in (``close`` cuts it short).
            self._stopping.wait(self.delay)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the database is away: keep the failures, try again
                log.exception("could not write the failure counters; retrying")
                self._stopping.wait(max(self.delay, 1.0))
                self._wake.set()

    def add_in(self, connection: Connection, failures: Mapping[str, int]) -> None:
        self._mark([key for key, n in failures.items() if n > 0])
        self._write(connection, self._writes_of(failures))

    def _writes_of(self, failures: Mapping[str, int]) -> _Writes:
        """The statements that add ``failures``, their values but the time: all the
        work that need not wait for the transaction."""
        # Sorted and unique: PostgreSQL refuses one key twice in an upsert, and two
        # requests locking the same rows in one order cannot deadlock.
        unique = sorted(key for key, n in failures.items() if n > 0)
        statements = []  # (its keys were marked when counted: ``add``, ``add_in``)
        for start, size in pieces(len(unique), WRITE_CHUNK):
            chunk = unique[start:start + size]
            values: dict[str, object] = {f"k{i}": key for i, key in enumerate(chunk)}
            values.update({f"n{i}": failures[key] for i, key in enumerate(chunk)})
            statements.append((self._upsert(size), values, chunk))
        return _Writes(failures, statements)

    def _write(self, connection: Connection, writes: _Writes) -> None:
        if not writes.statements:
            return
        now = self._clock()  # in the transaction: just before its commit (``SLACK``)
        horizon = now - self.window
        # Run as compiled once, on the connection's own DB-API connection (so in its
        # transaction): half the cost of going through text().
        cursor = connection.connection.cursor()
        try:
            for statement, values, chunk in writes.statements:
                values.update(now=now, horizon=horizon)
                statement.execute(cursor, values)
                if cursor.rowcount != len(chunk):
                    self._restart(cursor, chunk, writes.failures, now, horizon)
        finally:
            cursor.close()

    def _restart(self, cursor: Any, keys: Sequence[str], failures: Mapping[str, int],
                 now: float, horizon: float) -> None:
        """Start again the counters of ``keys`` whose window has passed (the upsert left
        them as they were), at their new failures. Rare: a row outlives its window only
        until the upkeep deletes it. The upsert locked every row it met (PostgreSQL),
        and the turn is this transaction's (SQLite): none changes in between."""
        if self._restart_one is None:
            self._restart_one = CompiledStatement(text(
                "UPDATE failure_counts SET failures = :n, since = :now "
                "WHERE key = :k AND since <= :horizon"), self._db.engine.dialect)
        for key in keys:
            self._restart_one.execute(
                cursor, {"k": key, "n": failures[key], "now": now, "horizon": horizon})

    def _upsert(self, size: int) -> CompiledStatement:
        statement = self._writes.get(size)
        if statement is None:
            statement = self._writes[size] = CompiledStatement(
                text(_upsert_sql(size)), self._db.engine.dialect)
        return statement

    def forget_expired(self, now: datetime, *, prefix: str | None = None,
                       except_prefix: str | Sequence[str] | None = None) -> int:
        """Delete the counters whose window has passed; how many. Counters of a longer
        window share the table under a key prefix: ``prefix`` forgets only those,
        ``except_prefix`` (one prefix or several) all but those."""
        horizon = now.timestamp() - self.window
        query = delete(FailureCount).where(FailureCount.since <= horizon)
        if prefix is not None:
            query = query.where(FailureCount.key.startswith(prefix, autoescape=True))
        for kept in [except_prefix] if isinstance(except_prefix, str) else except_prefix or ():
            query = query.where(~FailureCount.key.startswith(kept, autoescape=True))
        with self._db.write.begin() as session:
            result = session.execute(query)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


_NOTHING: KeysView[str] = Counter[str]().keys()


class _Writes(NamedTuple):
    """The upserts that add ``failures``: per statement, its values (but the time) and
    its keys."""

    failures: Mapping[str, int]
    statements: list[tuple[CompiledStatement, dict[str, object], list[str]]]


def _plus(found: dict[str, int], unwritten: Mapping[str, int]) -> dict[str, int]:
    for key, more in unwritten.items():
        found[key] = found.get(key, 0) + more
    return found


def _read_statement(size: int, db: Database) -> CompiledStatement:
    table = FailureCount.__table__
    statement = select(table.c.key, table.c.failures, table.c.since).where(
        table.c.key.in_([bindparam(f"k{i}") for i in range(size)]))
    return CompiledStatement(statement, db.engine.dialect)


def _upsert_sql(size: int) -> str:
    """One statement for every key of the failures (``:nI`` more for key ``:kI``); the
    same SQL on SQLite and PostgreSQL. It sets ``failures`` only: an update that named
    ``since`` (even unchanged) would rewrite the row's entry in the ``since`` index, on
    SQLite two more pages written per key. A row whose window has passed is left as it
    is (not counted in the statement's rowcount) for ``_restart``."""
    rows = ", ".join(f"(:k{i}, :n{i}, :now)" for i in range(size))
    return (
        f"INSERT INTO failure_counts (key, failures, since) VALUES {rows} "
        "ON CONFLICT (key) DO UPDATE SET "
        "failures = failure_counts.failures + excluded.failures "
        "WHERE failure_counts.since > :horizon"
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

    def add(self, keys: Iterable[str], *, durable: bool = True) -> None:
        self.add_in(None, dict.fromkeys(keys, 1))  # in memory: written at once

    def unwritten(self, keys: Sequence[str]) -> Mapping[str, int]:
        return {}

    def flush(self) -> None:
        """Nothing waits: every failure is counted as it comes."""

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
    nor wash out the keys that are refused now. A key none of whose failures is left in
    the window is forgotten as time passes (the least recently seen go first, a few with
    each failure counted), so what is held follows the keys of the last window, not
    every key ever seen. Each key's times are a plain list (a deque costs 600 bytes
    empty; the SMS budget holds one key per mobile answered in the last hour).
    """

    # How many of the oldest keys are looked at for one that is not blocked.
    EVICTION_SCAN = 64
    # How many idle keys one failure may forget at most (bounded work per call).
    FORGET_PER_CALL = 4

    def __init__(self, max_failures: int, window: float, *, max_keys: int = 100_000,
                 clock: Clock = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        # Least recently failed first: a key moves to the end with each failure.
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys are held now."""
        return len(self._failures)

    def blocked(self, key: str) -> bool:
        with self._lock:
            times = self._failures.get(key)
            if not times:
                return False
            self._expire(times)
            return len(times) >= self.max_failures

    def failed(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            self._forget_idle(now)
            times = self._failures.get(key)
            if times is None:
                times = self._failures[key] = []
                while len(self._failures) > self.max_keys:
                    self._evict_one(key)
            else:
                self._failures.move_to_end(key)
                self._expire(times)
            times.append(now)

    def _forget_idle(self, now: float) -> None:
        """Forget the least recently failed keys whose last failure left the window."""
        horizon = now - self.window
        failures = self._failures
        for _ in range(self.FORGET_PER_CALL):
            oldest = next(iter(failures.values()), None)
            if oldest is None or (oldest and oldest[-1] >= horizon):
                return
            failures.popitem(last=False)

    def _evict_one(self, newest: str) -> None:
        for scanned, (key, times) in enumerate(self._failures.items()):
            if scanned >= self.EVICTION_SCAN or key == newest:
                break
            self._expire(times)
            if len(times) < self.max_failures:
                del self._failures[key]
                return
        self._failures.popitem(last=False)  # all blocked: the oldest goes after all

    def _expire(self, times: list[float]) -> None:
        horizon = self._clock() - self.window
        if times and times[0] < horizon:
            del times[:bisect.bisect_left(times, horizon)]


# A credential, number or tracking number with this many times its limit of failures
# from anyone, within the window, is under attack: each origin (place) then gets one
# failure for it per window (a step up, not a block: its owner, asking from elsewhere,
# is still answered). The inquiry limits and the case lookups apply it.
STEP_UP_FACTOR = 2


def under_attack(anyone_failures: int, max_failures: int) -> bool:
    """Whether a target with ``anyone_failures`` from anyone is stepped up."""
    return anyone_failures >= max_failures * STEP_UP_FACTOR


def pair_limit(anyone_failures: int, max_failures: int) -> int:
    """The failures one origin may have for a target that failed ``anyone_failures``
    times from anyone: ``max_failures``, or one once it is under attack."""
    return 1 if under_attack(anyone_failures, max_failures) else max_failures


@lru_cache(maxsize=8192)
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
