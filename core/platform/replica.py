"""A read replica (``database.read_url``): where reads that may be a little behind go,
while the replica is close enough behind the primary to answer them.

How far behind is measured, not guessed. ``pg_last_xact_replay_timestamp()`` alone
cannot say it: on a quiet primary it grows old while the replica is fully caught up, and
it says nothing of what the replica has not received yet. Instead each probe marks the
primary's flushed WAL position with the moment it was read; once the replica has
replayed up to a mark's position, it holds every transaction committed before that
moment. ``fresh_as_of`` is the newest such moment, and the replica takes reads while it is
at most ``max_lag`` seconds old: a row a reader gets from the replica is at most
``max_lag`` seconds out of date. Marks are kept for a while, so a replica that streams
a few milliseconds behind a busy primary still catches up with last probe's mark.

A probe runs on the request path, every ``max_lag / 4`` seconds per process (at most
``PROBE_SECONDS``), in
the one thread that wins a non-blocking lock (two short statements); the others read by
the verdict already made. A replica that fails (down, refusing connections) or that is
not a replica at all (``pg_is_in_recovery()`` false) is not used until a probe finds
it caught up again; reads go to the primary meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from sqlalchemy.engine import ExceptionContext

log = logging.getLogger(__name__)

# The longest between two probes: a replica seen behind (or down) is looked at again
# this soon, whatever ``max_lag``.
PROBE_SECONDS = 0.5
# Flushed, not inserted: WAL is streamed once flushed, and a record that needs no flush
# (a standby snapshot) may wait in the buffers of an idle primary for ever. Under
# synchronous_commit = on a commit is seen only once flushed; under off, up to three
# wal_writer_delay (600 ms) before: add that to the bound.
_PRIMARY_POSITION = "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint"
# NULL on a server that is not in recovery: it is not a replica.
_REPLAYED = ("SELECT CASE WHEN pg_is_in_recovery() "
             "THEN pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint END")


class Replica:
    """The replica's engine and whether reads may go to it now (``usable``)."""

    def __init__(self, engine: Engine, primary: Engine, max_lag: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.max_lag = max_lag
        self._primary = primary
        self._clock = clock
        self._probe_every = min(max_lag / 4, PROBE_SECONDS)
        self._reset()
        # A failure on the replica's connections (a read, a connect) stops
        # its use at once, not at the next probe.
        event.listen(engine, "handle_error", self._failed)
        # A forked child (a server's worker) starts with a lock perhaps held by a thread
        # that did not come along, and with the parent's connections: start afresh.
        reset = weakref.WeakMethod(self._after_fork)
        os.register_at_fork(after_in_child=lambda: (method := reset()) and method())

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._marks: deque[tuple[float, int]] = deque()  # (when read, primary's position)
        self._fresh_as_of: float | None = None
        self._probed_at = float("-inf")
        self._verdict = "not probed yet"

    def _after_fork(self) -> None:
        self._reset()
        self.engine.dispose(close=False)

    def usable(self) -> bool:
        """Whether a read may go to the replica now: it held, at most ``max_lag`` seconds
        ago, everything the primary had committed (probing first when it is time)."""
        now = self._clock()
        if now - self._probed_at >= self._probe_every and self._lock.acquire(blocking=False):
            try:
                self._probe()
            finally:
                self._lock.release()
        fresh = self._fresh_as_of
        return fresh is not None and self._clock() - fresh <= self.max_lag

    def lag(self) -> float | None:
        """Seconds since the moment the replica is known to hold everything up to (None:
        not known to be a caught-up replica); for /healthz and the operator."""
        fresh = self._fresh_as_of
        return None if fresh is None else max(0.0, self._clock() - fresh)

    @property
    def verdict(self) -> str:
        """The last probe's finding in words ("caught up", "not a replica", ...)."""
        return self._verdict

    def lost(self, why: str) -> None:
        """Stop reading from the replica until a probe finds it caught up again.

        Any thread may call it (a failed read); the marks stay with the prober: they say
        what the primary had, and a replica that replays past one holds it, whatever
        happened in between.
        """
        if self._fresh_as_of is not None:
            log.warning("read replica not used: %s; reads go to the primary", why)
        self._fresh_as_of = None
        self._verdict = why

    def _probe(self) -> None:
        self._probed_at = self._clock()
        try:
            moment = self._clock()
            with self._primary.connect() as connection:
                position = connection.exec_driver_sql(_PRIMARY_POSITION).scalar_one()
            self._marks.append((moment, int(position)))
            with self.engine.connect() as connection:
                replayed = connection.exec_driver_sql(_REPLAYED).scalar_one()
        except SQLAlchemyError as exc:
            self.lost(f"probe failed ({type(exc).__name__})")
            return
        if replayed is None:
            self.lost("database.read_url is not a replica (not in recovery)")
            return
        self._caught_up_to(int(replayed))

    def _caught_up_to(self, replayed: int) -> None:
        """Take the newest mark the replica has replayed past; forget marks too old to
        make it usable."""
        now = self._clock()
        while self._marks and self._marks[0][1] <= replayed:
            moment, _position = self._marks.popleft()
            if self._fresh_as_of is None:
                log.info("read replica caught up: inquiries and dashboards read from it")
            self._fresh_as_of = max(moment, self._fresh_as_of or moment)
            self._verdict = "caught up"
        while self._marks and now - self._marks[0][0] > self.max_lag:
            self._marks.popleft()
        if self._fresh_as_of is not None and now - self._fresh_as_of > self.max_lag:
            self._verdict = f"more than {self.max_lag:g} s behind"

    def _failed(self, context: ExceptionContext) -> None:
        if context.is_disconnect or context.connection is None or context.is_pre_ping:
            self.lost(f"connection failed ({type(context.original_exception).__name__})")
