"""Calls kept by CallSid between webhooks, in ``ivr_calls``; the row is also the call log.

Twilio posts each step of a call as a separate request, possibly to another process or
machine: the state lives in the database, never in memory and never in what the request
says about itself (only the keys pressed and the caller ID, which Twilio signs).

Every webhook reads one row and writes it back, so this is plain SQLAlchemy Core on the
hot path: one indexed SELECT and one UPDATE a step (the first webhook: one INSERT), no
ORM unit of work. The line (channels/ivr) keeps its menus' state as it likes and hands
this log a ``CallRecord``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.calls.models import IvrCall
from core.identity.phones import mask_mobile
from core.platform.clock import utcnow
from core.platform.compiled import CompiledStatement, utc
from core.platform.db import Database

# Column sizes (PostgreSQL enforces them).
CALL_SID_MAX = 64
_PATH_MAX, _MASKED_MAX = 2000, 32

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


@dataclass(slots=True)
class CallRecord:
    """One call's row as a webhook reads and writes it."""

    call_sid: str
    channel: str
    node: str
    language: str | None
    attempts: int
    number: str | None
    replay: str | None  # the last answer spoken, as the line serialised it
    path: str  # the menus visited, space-separated
    outcome: str | None
    ended: bool = False
    started_at: datetime | None = None


class CallLog:
    """The calls' rows. On SQLite every writer of the process takes its turn on the core's
    writer lock (core/platform/db.py), so each webhook writes once, in one short
    transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # Every webhook runs the SELECT and the UPDATE: straight to the driver (text and
        # integers only; datetimes go through SQLAlchemy), as the inquiry lookup does.
        self._load = CompiledStatement(_LOAD, db.engine.dialect)
        self._save = CompiledStatement(_SAVE, db.engine.dialect)

    def create(self, call: CallRecord, caller: str | None) -> bool:
        """Insert a new call with the state its first menu left it in, in one statement;
        False when the CallSid is already known (Twilio retried the first webhook)."""
        values = _state(call)
        values.update(call_sid=call.call_sid[:CALL_SID_MAX], channel=call.channel,
                      caller_masked=mask_mobile(caller or "")[:_MASKED_MAX],
                      started_at=call.started_at or utcnow())
        try:
            with self._db.write_engine.begin() as connection:
                connection.execute(_INSERT, values)
        except IntegrityError:
            return False
        return True

    def load(self, call_sid: str) -> CallRecord | None:
        row = self._load.fetchone(self._db.engine, {"sid": call_sid[:CALL_SID_MAX]})
        if row is None:
            return None
        (sid, channel, node, language, attempts, number, replay, path, outcome, started_at,
         ended_at) = row
        return CallRecord(call_sid=sid, channel=channel, node=node, language=language,
                          attempts=attempts, number=number, replay=replay, path=path or "",
                          outcome=outcome, ended=ended_at is not None,
                          started_at=utc(started_at))

    def save(self, call: CallRecord) -> bool:
        """Write a live call's state back; True when this save ended the call.

        A call already ended is never written again (a late webhook changes nothing).
        """
        values = {f"v_{name}": value for name, value in _state(call).items()}
        values["sid"] = call.call_sid
        with self._db.write_engine.begin() as connection:
            if call.ended:
                now = utcnow()
                values.update(v_ended_at=now,
                              v_duration_seconds=_seconds(call.started_at, now))
                return connection.execute(_SAVE_ENDING, values).rowcount == 1
            # The common step: text and numbers only, straight to the driver (the
            # transaction is still SQLAlchemy's, for the SQLite writers' turn).
            cursor = connection.connection.cursor()
            self._save.execute(cursor, values)
            cursor.close()
        return False

    def close_abandoned(self, older_than: timedelta) -> dict[tuple[str, str], int]:
        """End calls still open after ``older_than`` (no status callback came): they are
        logged as hung up and forget their last answer. Returns how many, by channel and
        outcome."""
        cutoff = utcnow() - older_than
        stale = (_CALLS.c.ended_at.is_(None), _CALLS.c.started_at < cutoff)
        with self._db.write_engine.begin() as connection:
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

    def hung_up(self, call_sid: str, duration: int | None) -> CallRecord | None:
        """Twilio's status callback: the call is over. Returns the call when this ended it
        (the caller hung up mid-menu), else None; the duration is Twilio's when given."""
        call = self.load(call_sid)
        if call is None:
            return None
        now = utcnow()
        seconds = duration if duration is not None else _seconds(call.started_at, now)
        with self._db.write_engine.begin() as connection:
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


def _state(call: CallRecord) -> dict[str, object]:
    """The columns a webhook changes, from the call's record."""
    return {"node": call.node, "language": call.language, "attempts": call.attempts,
            "number": call.number, "replay": call.replay, "path": call.path[-_PATH_MAX:],
            "outcome": call.outcome}


def _seconds(start: datetime | None, end: datetime) -> int | None:
    return max(int((end - start).total_seconds()), 0) if start else None
