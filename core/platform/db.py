"""Engine and session factory: SQLite (WAL, foreign keys on) by default, PostgreSQL supported
(directly or through PgBouncer, and with a read replica: ``Database``).

Every engine keeps the rows it writes out of what it says: statements' parameters are
hidden (``hide_parameters``) from errors and from ``database.echo``'s log, and
PostgreSQL's ``DETAIL`` lines, which quote a row's values, are taken out of its errors.
A mobile, an address or an SMS text then never reaches a log or a traceback this way.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import select
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.platform.clock import utcnow as utcnow
from core.platform.replica import Replica

T = TypeVar("T")
log = logging.getLogger(__name__)
# Seconds to wait for a connection to the read replica before reading on the primary.
REPLICA_CONNECT_TIMEOUT = 3
# How long an SQLite statement waits for a lock held by another connection.
BUSY_TIMEOUT_MS = 30_000

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.engine import ExceptionContext
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None,
                             dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# PostgreSQL's error details: "DETAIL:  Key (sender, ...)=(+9665..., ...) already exists.",
# "DETAIL:  Failing row contains (...)". The message's first line names the constraint.
_ROW_DETAIL_RE = re.compile(r"^DETAIL:.*(?:\n|$)", re.MULTILINE)


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False,
                pooler: str = "none", connect_timeout: int | None = None) -> Engine:
    """Create the engine; for SQLite, create the file's folder and set the pragmas.

    ``echo`` logs each statement, its parameters hidden like an error's. ``pooler``
    "pgbouncer" (``database.pooler``): connections go through PgBouncer in transaction
    mode, where consecutive transactions of one connection may run on different server
    connections. psycopg prepares a statement on the server after its fifth run
    (``prepare_threshold``), and before PgBouncer 1.21 a prepared statement is not carried
    to the next server connection ("prepared statement "_pg3_0" does not exist"): it is
    turned off. Nothing else the gateway does keeps state in a session between
    transactions (its one advisory lock is a transaction's, ``pg_advisory_xact_lock``;
    no SET, LISTEN or temporary table).

    PostgreSQL connections are not pinged on checkout (``pool_pre_ping``: a round trip
    before every use, a fifth of a busy SMS process's time); a connection the server
    has closed is found without one instead (``_server_hung_up``), and a disconnect met
    mid-statement invalidates the whole pool (SQLAlchemy's own handling), the caller
    retrying (a read on the hot path: ``core.platform.compiled``, once) or failing
    cleanly (a 503, an SMS the SMSC delivers again, a loop's next pass). The pool's
    reset on return stays a ROLLBACK, which psycopg skips when no transaction is open.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
            hide_parameters=True,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        event.listen(engine, "handle_error", _without_row_values)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so that
        # writers take the lock at BEGIN (IMMEDIATE) and never deadlock on upgrade.
        writers = _WriterTurn(_turn_file(parsed.database))
        _ENGINE_TURNS[engine] = writers
        event.listen(engine, "begin", writers.begin)
        # The turn ends when the connection goes back to the pool, after its COMMIT or
        # ROLLBACK (the engine's commit event fires before the COMMIT runs), or is lost.
        event.listen(engine.pool, "reset", writers.end_on_reset)
        for name in ("checkin", "invalidate", "close"):
            event.listen(engine.pool, name, writers.end)
        return engine
    connect_args: dict[str, object] = {}
    if pooler == "pgbouncer":
        connect_args["prepare_threshold"] = None
    if connect_timeout is not None:
        connect_args["connect_timeout"] = connect_timeout
    engine = create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size,
        pool_reset_on_return="rollback", hide_parameters=True, connect_args=connect_args,
    )
    event.listen(engine, "handle_error", _without_row_values)
    event.listen(engine.pool, "checkout", _server_hung_up)
    return engine


def _server_hung_up(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry,
                    _proxy: object) -> None:
    """On checkout: a pooled connection the server has closed is replaced, and every
    connection pooled before it too (``InvalidatePoolError``: the server restarted).

    Without a round trip: an idle connection's socket has nothing to read unless the
    server hung up (end of file, or its "terminating connection" error before that),
    which one ``poll`` with no timeout tells. A connection lost without a word (a
    cable, a firewall) is not seen here; its first statement fails, which invalidates
    the pool as well.
    """
    if getattr(dbapi_connection, "broken", False):
        raise InvalidatePoolError("the connection was broken")
    fileno = getattr(dbapi_connection, "fileno", None)
    if fileno is None:
        return
    try:
        poll = select.poll()  # not select(): descriptors past 1024 are common here
        poll.register(fileno(), select.POLLIN)
        events = poll.poll(0)
    except Exception as exc:  # closed: no descriptor (psycopg raises its own error)
        raise InvalidatePoolError(f"the connection is closed ({exc})") from exc
    if events:
        raise InvalidatePoolError("the server closed the connection")


def _turn_file(database: str | None) -> str | None:
    """The SQLite writers' turn file beside ``database`` (none for an in-memory one)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-turn"


def _without_row_values(context: ExceptionContext) -> None:
    """Take PostgreSQL's ``DETAIL`` lines out of the driver's error and SQLAlchemy's
    wrapper (both are in a logged traceback); the exceptions keep their types."""
    for exc in (context.original_exception, context.sqlalchemy_exception):
        if exc is not None and exc.args and isinstance(exc.args[0], str) \
                and "DETAIL:" in exc.args[0]:
            exc.args = (_ROW_DETAIL_RE.sub("", exc.args[0]), *exc.args[1:])


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # No checkpoint inside a commit: SQLite's automatic one runs in whichever transaction
    # fills the WAL past 1,000 pages, and its fsync lands on that request. A background
    # thread checkpoints instead (``_Checkpointer``); a process without one (a CLI
    # command) checkpoints when its last connection closes.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    # After the checkpointer restarts the WAL (``_Checkpointer``), the file is cut back
    # to this size: a burst of writes does not keep its high-water mark on disk.
    cursor.execute(f"PRAGMA journal_size_limit={_Checkpointer.RESTART_BYTES}")
    cursor.close()


class _WriterTurn:
    """SQLite writers take turns before BEGIN IMMEDIATE: the threads of one engine on a
    lock in the process, then the engines of every process on a lock file beside the
    database (``<database>-turn``, ``fcntl.flock``).

    SQLite lets one writer in at a time; the others spin in its busy handler, which sleeps
    1, 2, 5, 10 ... up to 100 ms between tries. Under load (an SMS burst, the inquiry
    log's writer, the HTTP threads, the web tier's worker processes) those sleeps made a
    commit that takes a fraction of a millisecond wait tens or hundreds. Queued on the
    turn, each writer starts within a millisecond of the one before committing.

    The lock file only orders writers; SQLite's own lock still decides who writes, so a
    writer without it (the ``sqlite3`` shell, another program, a file that cannot be
    opened) is as safe as before and only meets the busy handler. The kernel lets go of a
    dead process's lock. Each process opens the file itself (a lock taken through a
    descriptor inherited over ``fork`` would be shared with the parent, not exclusive).
    """

    _KEY = "gateway_writer_turn"
    # Seconds a writer waits for each of the two locks (as SQLite's busy timeout).
    TIMEOUT = 30.0
    # Longest pause between two tries of the lock file (flock cannot wait with a timeout).
    POLL = 0.001

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.Lock()
        self._path = path
        self._held: int | None = None  # the descriptor whose lock this engine holds
        _TURNS.add(self)

    def begin(self, connection: Connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode == "NONE":
            return
        # A connection that already has the turn (a second transaction before it went
        # back to the pool) keeps it.
        if mode == "IMMEDIATE" and not connection.info.get(self._KEY):
            self._take()
            connection.info[self._KEY] = True
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            if connection.info.pop(self._KEY, False):
                self._release()
            raise

    def end(self, _dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry | None,
            *_args: object) -> None:
        if record is not None and record.info.pop(self._KEY, False):
            self._release()

    def end_on_reset(self, dbapi_connection: DBAPIConnection,
                     record: ConnectionPoolEntry | None, reset_state: PoolResetState) -> None:
        self.end(dbapi_connection, record)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """The turn, without a transaction: no writer of this engine or of another
        process (through the lock file) begins until the block ends."""
        self._take()
        try:
            yield
        finally:
            self._release()

    def _take(self) -> None:
        """This engine's thread lock, then the other processes' lock file; held until
        ``_release``."""
        if not self._lock.acquire(timeout=self.TIMEOUT):
            raise TimeoutError("no turn to write to the SQLite database in 30 s")
        try:
            self._take_file()
        except BaseException:
            self._lock.release()
            raise

    def _take_file(self) -> None:
        """The other processes' turn: the lock file, held until ``_release`` (under the
        thread lock, so one thread of this engine at a time)."""
        descriptor = _turn_descriptor(self._path) if self._path is not None else None
        if descriptor is None:
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._wait_for(descriptor)
        self._held = descriptor

    def _wait_for(self, descriptor: int) -> None:
        deadline, pause = time.monotonic() + self.TIMEOUT, self.POLL / 8
        while True:
            time.sleep(pause)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        "no turn to write to the SQLite database in 30 s") from None
                pause = min(pause * 2, self.POLL)

    def _release(self) -> None:
        held, self._held = self._held, None
        try:
            if held is not None:
                fcntl.flock(held, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def after_fork(self) -> None:
        """In a child: no turn of the parent's threads is held here (they did not come
        along), nor its lock file (``_turn_files_after_fork``)."""
        self._lock = threading.Lock()
        self._held = None


# Every engine's turn, so that a child process starts with none held (``after_fork``).
_TURNS: weakref.WeakSet[_WriterTurn] = weakref.WeakSet()
# Each SQLite engine's turn, for what must keep its writers out (``_Checkpointer``).
_ENGINE_TURNS: weakref.WeakKeyDictionary[Engine, _WriterTurn] = weakref.WeakKeyDictionary()

# This process's descriptor of each turn file, opened once and kept for the process's
# life, whatever number of engines it makes and drops (one per engine leaked a
# descriptor each: the suite's 1,500 pushed a live server's sockets past select()'s
# 1,024). The engines of one process on one database share it, so between themselves
# they are ordered by SQLite's busy handler alone; -1: the file cannot be opened.
_TURN_FILES: dict[str, int] = {}
_TURN_FILES_LOCK = threading.Lock()


def _turn_descriptor(path: str) -> int | None:
    """This process's descriptor of the turn file ``path``; None when it cannot be
    opened (the busy handler then orders this process's writers)."""
    with _TURN_FILES_LOCK:
        descriptor = _TURN_FILES.get(path)
        if descriptor is None:
            try:
                descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
            except OSError:
                log.warning("SQLite writers' turn file %s cannot be opened; writers of "
                            "several processes wait in SQLite's busy handler", path)
                descriptor = -1
            _TURN_FILES[path] = descriptor
    return descriptor if descriptor >= 0 else None


def _turns_after_fork() -> None:
    """In a child: the parent's turn files closed (were the parent killed holding its
    turn, an inherited copy would keep the lock from everyone; a lock taken through one
    would be shared with the parent, not exclusive), each opened anew on first use."""
    global _TURN_FILES_LOCK
    _TURN_FILES_LOCK = threading.Lock()
    for descriptor in _TURN_FILES.values():
        if descriptor >= 0:
            with contextlib.suppress(OSError):
                os.close(descriptor)
    _TURN_FILES.clear()
    for turn in list(_TURNS):
        turn.after_fork()


os.register_at_fork(after_in_child=_turns_after_fork)


class Database:
    """The engine and two session factories: ``read`` for reads, ``write`` for changes;
    with a read replica (``read_url``), ``replica_lookup`` and ``replica_read`` for the
    reads that may be a little behind (core/platform/replica.py).

    On SQLite a writer begins IMMEDIATE, taking the write lock up front, so two writers
    queue on the busy timeout instead of one failing when its read snapshot goes stale.
    """

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False,
                 pooler: str = "none", read_url: str | None = None,
                 read_max_lag: float = 2.0) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, echo=echo, pooler=pooler)
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
        self._checkpointer = (_Checkpointer(self.lookup, _ENGINE_TURNS[self.engine])
                              if self.is_sqlite
                              and make_url(url).database not in (None, "", ":memory:")
                              else None)
        if read_url is not None and self.is_sqlite:
            raise ValueError("a read replica needs PostgreSQL (database.read_url)")
        # A replica that does not answer within seconds is taken for down, not waited on.
        self.replica = Replica(
            make_engine(read_url, pool_size=pool_size, echo=echo, pooler=pooler,
                        connect_timeout=REPLICA_CONNECT_TIMEOUT),
            self.engine, read_max_lag) if read_url is not None else None

    def replica_lookup(self) -> Engine:
        """The engine for a lookup that may be up to ``database.read_max_lag_seconds``
        behind (an inquiry): the replica's while it is that close, else ``lookup``.

        A caller that must not miss a row written a moment ago reads again on ``lookup``
        when the replica found nothing (``read_behind``).
        """
        if self.replica is not None and self.replica.usable():
            return self.replica.engine
        return self.lookup

    def replica_read(self) -> Session:
        """A session for a read-only page that may be a little behind (the dashboards):
        on the replica while it is close enough (``replica_lookup``), else the primary.
        Nothing read here may decide a write."""
        if self.replica is not None and self.replica.usable():
            return self.read(bind=self.replica.engine)
        return self.read()  # not ``lookup``: on SQLite a page reads in one snapshot

    def read_behind(self, read: Callable[[Engine], T]) -> tuple[T, bool]:
        """``read`` on ``replica_lookup()``'s engine, and whether that was the replica.

        A replica that fails mid-read (a raw connection's driver error included) is not
        used again until it is caught up, and ``read`` runs on the primary instead.
        """
        engine = self.replica_lookup()
        if engine is self.lookup:
            return read(engine), False
        assert self.replica is not None
        try:
            return read(engine), True
        except (DBAPIError, engine.dialect.loaded_dbapi.Error) as exc:
            self.replica.lost(f"a read failed ({type(exc).__name__})")
            return read(self.lookup), False

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self.replica is not None:
            self.replica.engine.dispose()
        self.engine.dispose()


class _Checkpointer:
    """Copies SQLite's write-ahead log back into the database file, off the request path,
    and keeps the log from growing without end.

    Every ``interval`` seconds, a PASSIVE checkpoint: it never waits for, nor blocks,
    readers and writers, and does what they allow. Its fsync happens here, not in a
    citizen's request. The log is reused from its start only when a writer begins while
    every page is copied back and no reader is using the log; under a steady load of
    reads and writes (a flood of failed inquiries writes about 40 MB of log a second)
    that moment never comes, and the log grew by gigabytes a minute, with the disk and
    every read's search of it. So once the log holds more than ``RESTART_BYTES``, the
    checkpointer takes the writers' turn (``_WriterTurn``: this process's writers and
    every other process's wait for it) and restarts the log: SQLite copies the pages
    written since the PASSIVE checkpoint a moment before, then waits for the readers
    still on the log to finish their statement (at most ``RESTART_WAIT_MS``); the next
    writer writes from the log's start. (TRUNCATE, which empties the file, made the
    failed flood's p99 15 to 20 ms longer: every write then grew the file again.) The
    writers wait a few milliseconds, about once a second under such a flood. A reader
    that keeps an old snapshot longer than that wait (a long report) makes the restart
    give up; it is tried again after a pause that doubles each time, up to a minute.
    """

    # The log's size past which it is restarted (``journal_size_limit`` too: the file is
    # cut back to it when the log starts again).
    RESTART_BYTES = 64 * 1024 * 1024
    # How long a restart waits for readers to leave the log (SQLite's busy handler).
    RESTART_WAIT_MS = 100
    LONGEST_PAUSE = 60.0

    def __init__(self, engine: Engine, turn: _WriterTurn, interval: float = 1.0,
                 restart_bytes: int = RESTART_BYTES) -> None:
        self._engine = engine
        self._turn = turn
        self._interval = interval
        self._restart_bytes = restart_bytes
        self._pause = 0.0  # after a restart that gave up: seconds until the next try
        self._next_restart = 0.0  # time.monotonic()
        self.restarts = 0  # the log's restarts so far (tests, the bench)
        # The log's pages when it was last restarted: until a writer starts it again,
        # PASSIVE still reports them (nothing to restart).
        self._restarted_frames = -1
        self._page_size = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.checkpoint()
            except Exception:  # a locked or vanished file: try again next time
                continue

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint, and the log's restart when it is too big."""
        with self._engine.connect() as connection:
            _busy, frames, _copied = connection.exec_driver_sql(
                "PRAGMA wal_checkpoint(PASSIVE)").one()
            if (frames <= 0 or frames == self._restarted_frames
                    or time.monotonic() < self._next_restart):
                return
            if self._page_size == 0:  # the database's, for good
                self._page_size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
            if frames * self._page_size > self._restart_bytes:
                self._restart(connection)

    def _restart(self, connection: Connection) -> None:
        with self._turn.held():
            connection.exec_driver_sql(f"PRAGMA busy_timeout={self.RESTART_WAIT_MS}")
            try:
                busy, frames, _copied = connection.exec_driver_sql(
                    "PRAGMA wal_checkpoint(RESTART)").one()
            finally:
                try:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                except Exception:  # never back in the pool with the short wait
                    connection.invalidate()
                    raise
        if busy:  # a reader kept an old snapshot: pause, longer each time
            self._pause = min(max(2 * self._pause, self._interval), self.LONGEST_PAUSE)
            self._next_restart = time.monotonic() + self._pause
            log.info("the SQLite log (%d pages) could not be restarted: a reader held "
                     "it; next try in %.0f s", frames, self._pause)
        else:
            self._pause = 0.0
            self._restarted_frames = frames
            self.restarts += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
