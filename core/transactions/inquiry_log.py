"""The inquiry log, written off the request path.

Inquiries are answered from a read-only lookup; the log row is queued and a background
thread writes queued rows in one transaction every ``interval`` seconds. A crash loses at
most that interval's log rows, never an answer or a notification.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, insert
from sqlalchemy.engine import Dialect

from core.platform.compiled import CompiledStatement, pieces
from core.platform.db import utcnow
from core.transactions.models import InquiryLog

log = logging.getLogger(__name__)
_INSERT = insert(InquiryLog.__table__)
# Rows per INSERT at most: 8 parameters each, 512 in all, within SQLite's 999 before 3.32
# (core/platform/raw_rows.py keeps to that limit too).
ROWS_PER_STATEMENT = 64


@dataclass(frozen=True)
class LogEntry:
    channel: str
    outcome: str
    requester_kind: str
    requester_key: str
    requester_masked: str
    transaction_id: int | None
    latency_ms: float
    at: datetime = field(default_factory=utcnow)


class InquiryLogWriter:
    def __init__(self, engine: Engine, *, interval: float = 0.5,
                 max_batch: int = 1000, background: bool = True) -> None:
        self._engine = engine
        self._interval = interval
        self._max_batch = max_batch
        self._rows = _Rows(engine.dialect)
        self._queue: queue.SimpleQueue[LogEntry] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._run, name="inquiry-log", daemon=True)
            self._thread.start()

    def write(self, entry: LogEntry) -> None:
        if self._thread is None:
            self._insert([entry])
        else:
            self._queue.put(entry)

    def flush(self) -> int:
        """Write everything queued now; returns how many rows were written."""
        with self._flush_lock:
            written = 0
            while True:
                batch = self._drain()
                if not batch:
                    return written
                self._insert(batch)
                written += len(batch)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _drain(self) -> list[LogEntry]:
        batch: list[LogEntry] = []
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _insert(self, batch: list[LogEntry]) -> None:
        try:
            statements = self._rows.statements(batch)  # before the writers' turn
            with self._engine.begin() as connection:
                cursor = connection.connection.cursor()
                try:
                    for statement, values in statements:
                        statement.execute(cursor, values)
                finally:
                    cursor.close()
        except Exception:  # the log must never take the inquiry loop down
            if len(batch) == 1:
                log.exception("could not write an inquiry log row (%s, %s)",
                              batch[0].channel, batch[0].outcome)
                return
            # One bad row must not lose the others: write them one by one.
            for entry in batch:
                self._insert([entry])

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()


class _Rows:
    """The log's rows as multi-row INSERTs, compiled once per size, their values ready
    for the driver.

    A batch is hundreds of rows. Written with ``executemany``, each row was a step of
    its own, and after each the writer waited for the GIL again, as long as the
    request threads kept it: under load a batch held the writers' turn (every other
    writer of every process waiting) for tens of milliseconds, most of it waiting for
    the GIL. In a few statements of up to ``ROWS_PER_STATEMENT`` rows (``pieces``),
    built before the turn is taken, it holds it for a few round trips."""

    COLUMNS = ("at", "channel", "outcome", "requester_kind", "requester_key",
               "requester_masked", "transaction_id", "latency_ms")

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        # What SQLAlchemy would do to the time before the driver sees it (UtcDateTime).
        at = InquiryLog.__table__.c.at.type
        self._at: Callable[[Any], Any] = (at.dialect_impl(dialect).bind_processor(dialect)
                                          or _as_is)
        self._statements: dict[int, CompiledStatement] = {}

    def statements(self, batch: list[LogEntry]) -> list[tuple[CompiledStatement,
                                                              dict[str, object]]]:
        out = []
        at = self._at
        for start, size in pieces(len(batch), ROWS_PER_STATEMENT):
            values: dict[str, object] = {}
            for i, entry in enumerate(batch[start:start + size]):
                values.update({
                    f"at{i}": at(entry.at), f"channel{i}": entry.channel,
                    f"outcome{i}": entry.outcome, f"requester_kind{i}": entry.requester_kind,
                    f"requester_key{i}": entry.requester_key,
                    f"requester_masked{i}": entry.requester_masked,
                    f"transaction_id{i}": entry.transaction_id,
                    f"latency_ms{i}": entry.latency_ms})
            out.append((self._statement(size), values))
        return out

    def _statement(self, size: int) -> CompiledStatement:
        statement = self._statements.get(size)
        if statement is None:
            rows: list[dict[str, Any]] = [
                {column: bindparam(f"{column}{i}") for column in self.COLUMNS}
                for i in range(size)]
            statement = self._statements[size] = CompiledStatement(
                _INSERT.values(rows), self._dialect)
        return statement


def _as_is(value: Any) -> Any:
    return value
