"""Calls kept by CallSid between webhooks, in ``ivr_calls``; the row is also the call log.

Twilio posts each step of a call as a separate request, possibly to another process or
machine: the state lives in the database, never in memory and never in what the request
says about itself (only the keys pressed and the caller ID, which Twilio signs).

Every webhook reads one row and writes it back, so this is plain SQLAlchemy Core on the
hot path: one indexed SELECT and one UPDATE a step, no ORM unit of work.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from channels.ivr.flow import LANGUAGE, Call
from core.db import Database, utcnow
from core.identity import mask_mobile
from core.models import IvrCall

# Column sizes (PostgreSQL enforces them).
_SID_MAX, _PATH_MAX, _MASKED_MAX = 64, 2000, 32

# The statements are built once: building them per webhook cost more than running them.
_CALLS = IvrCall.__table__
_LOAD = select(_CALLS.c.call_sid, _CALLS.c.channel, _CALLS.c.node, _CALLS.c.language,
               _CALLS.c.attempts, _CALLS.c.number, _CALLS.c.replay, _CALLS.c.path,
               _CALLS.c.outcome, _CALLS.c.started_at, _CALLS.c.ended_at
               ).where(_CALLS.c.call_sid == bindparam("sid"))
_STATE_COLUMNS = ("node", "language", "attempts", "number", "replay", "path", "outcome")
_LIVE = _CALLS.c.call_sid == bindparam("sid"), _CALLS.c.ended_at.is_(None)
_SAVE = update(_CALLS).where(*_LIVE).values(
    {name: bindparam(f"v_{name}") for name in _STATE_COLUMNS})
_SAVE_ENDING = update(_CALLS).where(*_LIVE).values(
    {name: bindparam(f"v_{name}") for name in (*_STATE_COLUMNS, "ended_at",
                                               "duration_seconds")})
_INSERT = insert(_CALLS)


class CallStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        # SQLite has one writer at a time and makes the others poll with growing sleeps
        # (1, 2, 5, 10 ms...): this process's webhooks queue on a lock instead, and are
        # woken the moment the write before them commits.
        self._writing = threading.Lock() if db.is_sqlite else contextlib.nullcontext()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._writing, self._db.write_engine.begin() as connection:
            yield connection

    def open(self, call_sid: str, channel: str, caller: str | None) -> tuple[Call, bool]:
        """The call's state, created on its first webhook; True when it was created."""
        sid = call_sid[:_SID_MAX]
        existing = self.load(sid)
        if existing is not None:
            return existing, False
        started = utcnow()
        try:
            with self._write() as connection:
                connection.execute(_INSERT, dict(
                    call_sid=sid, channel=channel, node=LANGUAGE, attempts=0, path="",
                    caller_masked=mask_mobile(caller or "")[:_MASKED_MAX],
                    started_at=started))
        except IntegrityError:
            # Twilio retried the first webhook while the first attempt was being answered.
            call = self.load(sid)
            if call is None:
                raise
            return call, False
        return Call(call_sid=sid, channel=channel, started_at=started), True

    def load(self, call_sid: str) -> Call | None:
        with self._db.lookup.connect() as connection:
            row = connection.execute(_LOAD, {"sid": call_sid[:_SID_MAX]}).one_or_none()
        if row is None:
            return None
        return Call(call_sid=row.call_sid, channel=row.channel, node=row.node,
                    language=row.language, attempts=row.attempts, number=row.number,
                    replay=Call.replay_from(row.replay),
                    path=row.path.split() if row.path else [], outcome=row.outcome,
                    ended=row.ended_at is not None, started_at=row.started_at)

    def save(self, call: Call) -> bool:
        """Write a live call's state back; True when this save ended the call.

        A call already ended is never written again (a late webhook changes nothing).
        """
        values = {"sid": call.call_sid, "v_node": call.node, "v_language": call.language,
                  "v_attempts": call.attempts, "v_number": call.number,
                  "v_replay": call.replay_json(), "v_path": " ".join(call.path)[-_PATH_MAX:],
                  "v_outcome": call.outcome}
        if call.ended:
            now = utcnow()
            values.update(v_ended_at=now, v_duration_seconds=_seconds(call.started_at, now))
        with self._write() as connection:
            changed = connection.execute(_SAVE_ENDING if call.ended else _SAVE,
                                         values).rowcount
        return call.ended and changed == 1

    def close_abandoned(self, older_than: timedelta) -> dict[tuple[str, str], int]:
        """End calls still open after ``older_than`` (no status callback came): they are
        logged as hung up and forget their last answer. Returns how many, by channel and
        outcome."""
        cutoff = utcnow() - older_than
        stale = (_CALLS.c.ended_at.is_(None), _CALLS.c.started_at < cutoff)
        with self._write() as connection:
            rows = connection.execute(select(_CALLS.c.channel, _CALLS.c.outcome)
                                      .where(*stale)).all()
            if rows:
                connection.execute(update(_CALLS).where(*stale).values(
                    ended_at=utcnow(), replay=None,
                    outcome=func.coalesce(_CALLS.c.outcome, "hung_up")))
        counts: dict[tuple[str, str], int] = {}
        for row in rows:
            key = (row.channel, row.outcome or "hung_up")
            counts[key] = counts.get(key, 0) + 1
        return counts

    def hung_up(self, call_sid: str, duration: int | None) -> Call | None:
        """Twilio's status callback: the call is over. Returns the call when this ended it
        (the caller hung up mid-menu), else None; the duration is Twilio's when given."""
        call = self.load(call_sid)
        if call is None:
            return None
        now = utcnow()
        seconds = duration if duration is not None else _seconds(call.started_at, now)
        with self._write() as connection:
            ended_now = connection.execute(
                update(_CALLS).where(_CALLS.c.call_sid == call.call_sid,
                                     _CALLS.c.ended_at.is_(None))
                .values(ended_at=now, outcome=call.outcome or "hung_up", replay=None,
                        duration_seconds=seconds)).rowcount == 1
            if not ended_now and duration is not None:
                # We ended it (goodbye, transfer done); Twilio knows the true duration.
                connection.execute(update(_CALLS).where(_CALLS.c.call_sid == call.call_sid)
                                   .values(duration_seconds=duration))
        if not ended_now:
            return None
        call.outcome, call.ended = call.outcome or "hung_up", True
        return call


def _seconds(start: datetime | None, end: datetime) -> int | None:
    return max(int((end - start).total_seconds()), 0) if start else None
