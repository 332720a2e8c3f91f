"""Calls kept by CallSid between webhooks, in ``ivr_calls``; the row is also the call log.

Twilio posts each step of a call as a separate request, possibly to another process or
machine: the state lives in the database, never in memory and never in what the request
says about itself (only the keys pressed and the caller ID, which Twilio signs).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from channels.ivr.flow import Call
from core.db import Database, utcnow
from core.identity import mask_mobile
from core.models import IvrCall

# Column sizes (PostgreSQL enforces them).
_SID_MAX, _PATH_MAX = 64, 2000


class CallStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def open(self, call_sid: str, channel: str, caller: str | None) -> tuple[Call, bool]:
        """The call's state, created on its first webhook; True when it was created."""
        existing = self.load(call_sid)
        if existing is not None:
            return existing, False
        with self._db.write.begin() as session:
            session.add(IvrCall(call_sid=call_sid[:_SID_MAX], channel=channel,
                                caller_masked=mask_mobile(caller or "")[:32],
                                node="language", attempts=0, path="", started_at=utcnow()))
        call = self.load(call_sid)
        assert call is not None
        return call, True

    def load(self, call_sid: str) -> Call | None:
        with self._db.read() as session:
            row = session.scalars(select(IvrCall).where(
                IvrCall.call_sid == call_sid[:_SID_MAX])).one_or_none()
        if row is None:
            return None
        return Call(call_sid=row.call_sid, channel=row.channel, node=row.node,
                    language=row.language, attempts=row.attempts, number=row.number,
                    replay=Call.replay_from(row.replay),
                    path=row.path.split() if row.path else [], outcome=row.outcome,
                    ended=row.ended_at is not None)

    def save(self, call: Call) -> bool:
        """Write the call's state back; True when this save ended the call."""
        now = utcnow()
        values = {"node": call.node, "language": call.language, "attempts": call.attempts,
                  "number": call.number, "replay": call.replay_json(),
                  "path": " ".join(call.path)[-_PATH_MAX:], "outcome": call.outcome}
        with self._db.write.begin() as session:
            row = session.scalars(select(IvrCall).where(
                IvrCall.call_sid == call.call_sid)).one()
            ending = call.ended and row.ended_at is None
            for name, value in values.items():
                setattr(row, name, value)
            if ending:
                row.ended_at = now
                row.duration_seconds = _seconds(row.started_at, now)
        return ending

    def hung_up(self, call_sid: str, duration: int | None) -> Call | None:
        """Twilio's status callback: the call is over. Returns the call when this ended it
        (the caller hung up mid-menu), else None; the duration is Twilio's when given."""
        now = utcnow()
        with self._db.write.begin() as session:
            row = session.scalars(select(IvrCall).where(
                IvrCall.call_sid == call_sid[:_SID_MAX])).one_or_none()
            if row is None:
                return None
            ending = row.ended_at is None
            if ending:
                row.ended_at = now
                row.outcome = row.outcome or "hung_up"
            row.replay = None
            row.duration_seconds = duration if duration is not None \
                else _seconds(row.started_at, row.ended_at or now)
            outcome, channel = row.outcome, row.channel
        if not ending:
            return None
        return Call(call_sid=call_sid, channel=channel, outcome=outcome, ended=True)


def _seconds(start: datetime, end: datetime) -> int:
    return max(int((end - start).total_seconds()), 0)
