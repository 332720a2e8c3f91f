"""The inquiry log, written off the request path.

Inquiries are answered from a read-only lookup; the log row is queued and a background
thread writes queued rows in one transaction every ``interval`` seconds. A crash loses at
most that interval's log rows, never an answer or a notification.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, insert

from core.platform import raw_rows
from core.platform.db import utcnow
from core.transactions.models import InquiryLog

log = logging.getLogger(__name__)
_INSERT = insert(InquiryLog.__table__)
# The log's columns, in the order of a row (``_row``).
_COLUMNS = ("at", "channel", "outcome", "requester_kind", "requester_key",
            "requester_masked", "transaction_id", "latency_ms")


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
            # Multi-row INSERTs built before the writers' turn is taken. With executemany
            # each row was a step of its own, after which the writer waited for the GIL
            # again while the request threads kept it: a batch held the turn (every
            # other writer of every process waiting) for tens of milliseconds.
            statements = raw_rows.inserts(
                self._engine.dialect, InquiryLog.__table__, _COLUMNS,
                [[getattr(entry, column) for column in _COLUMNS] for entry in batch])
            with self._engine.begin() as connection:
                raw_rows.run(connection, statements)
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

