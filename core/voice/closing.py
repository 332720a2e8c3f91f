"""Answered cases close themselves once the citizen's reopen window has passed.

The design's "answered (answer sent; clock stops) → closed (rated, or the reopen window
passed)", as decided here:

- **The window closes a case, not the rating.** ``rate`` leaves a case answered
  (``core.voice.actions``): a citizen who rated the answer poorly may still reopen it
  until the window ends. When ``voice.reopen_days`` working days have passed after the
  answer (``actions.reopen_window_end``, the very rule that refuses a late reopen, on
  the current working calendar: a holiday declared in the window extends it), the case
  closes, rated or not; a closed case may still be rated.
- **The citizen is not told.** The answer told them until when they may reopen it
  (``notices.answered``), and this closing changes nothing they can do: an SMS saying
  so would cost a message per case for no news. A member of staff's ``close`` (with a
  reason) still tells them.
- **The record.** Each closing is an event like any other: actor role ``system``,
  action ``close``, from ``answered`` to ``closed``, the reason in words
  (``REASON``), ``closed_at`` set; in one database transaction per batch.

Which cases. The window's end never comes earlier for a later answer, so the cases
whose window has passed at ``now`` are those answered before one instant
(``answered_before``: a local midnight). The query reads only answered cases answered
before it, through the index on (state, answered_at), ``BATCH`` at a time; each one it
reads leaves that range (closed, or changed by someone else meanwhile): its cost follows
the cases due, not the table.

Two machines. The scheduler runs this under its own lease (``CLOSING_LEASE``), one
machine at a time. Without it nothing closes twice either: the ``UPDATE`` carries the
condition (still answered, answered before the instant), only the rows it changed get
an event (``RETURNING``), and PostgreSQL reads each batch ``FOR UPDATE SKIP LOCKED``
(SQLite's writer lock is held from the batch's first read). A reopen or a rating that
holds the row first wins cleanly: a reopened case is no longer answered when the
``UPDATE`` looks at it again; a rated one still is and closes, rating kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, insert, select, update
from sqlalchemy.orm import Session

from core.calendar import versions
from core.calendar.dates import local_date
from core.platform.db import Database, utcnow
from core.platform.settings import CoreSettings
from core.voice.actions import REOPEN_SEARCH_DAYS, reopen_window_end
from core.voice.cases import SYSTEM
from core.voice.models import CaseEvent, VoiceCase
from core.voice.states import ANSWERED, CLOSED

# The lease the scheduler holds while it closes cases (core.platform.leases).
CLOSING_LEASE = "voice-closing"
BATCH = 500
REASON = "reopen window passed"

_CASES = VoiceCase.__table__
_EVENTS = CaseEvent.__table__


@dataclass
class ClosingResult:
    closed: int = 0
    batches: int = 0
    # Cases answered before this instant had their reopen window pass (None: none can).
    answered_before: datetime | None = None

    def as_state(self) -> dict[str, object]:
        return {"closed": self.closed, "batches": self.batches,
                "answered_before": (self.answered_before.isoformat()
                                    if self.answered_before else None)}


def close_answered(db: Database, config: CoreSettings, *, now: datetime | None = None,
                   batch: int = BATCH) -> ClosingResult:
    """Close every answered case whose reopen window has passed at ``now``, ``batch``
    cases per database transaction."""
    now = now or utcnow()
    result = ClosingResult()
    while True:
        with db.write.begin() as session:
            cutoff = answered_before(session, config, now)
            result.answered_before = cutoff
            if cutoff is None:
                return result
            read, closed = _close_batch(session, cutoff, now, batch,
                                        locking=not db.is_sqlite)
        result.closed += closed
        result.batches += bool(read)
        if read < batch:
            return result


def answered_before(session: Session, config: CoreSettings, now: datetime) -> datetime | None:
    """The instant before which an answer's reopen window has passed at ``now`` (a local
    midnight), on the current working calendar; None when no answer's has (a calendar
    without working days for years)."""
    _version, calendar = versions.current(session, config)
    today = local_date(now, config.tz)
    last = _last_closed_answer_day(lambda day: reopen_window_end(
        calendar, day, config.voice.reopen_days) <= today, today)
    if last is None:
        return None
    return datetime.combine(last + timedelta(days=1), time(), config.tz)


def _last_closed_answer_day(passed: Callable[[date], bool], today: date) -> date | None:
    """The latest answer day whose window ``passed`` by today: a binary search, the
    window's end growing with the answer day (a few dozen window counts, whatever
    ``voice.reopen_days``)."""
    low, high = today - timedelta(days=REOPEN_SEARCH_DAYS + 1), today - timedelta(days=1)
    if not passed(low):
        return None
    while low < high:  # passed(low) holds; the answer is in [low, high]
        middle = low + timedelta(days=((high - low).days + 1) // 2)
        if passed(middle):
            low = middle
        else:
            high = middle - timedelta(days=1)
    return low


def due_for_closing(cutoff: datetime, batch: int, *, locking: bool) -> Select[int]:
    """The first ``batch`` answered cases answered before ``cutoff`` (their ids), by the
    index on (state, answered_at); with ``locking`` (PostgreSQL) locked, skipping those
    another transaction holds (a reopen, a rating, another run)."""
    query = (select(VoiceCase.id)
             .where(VoiceCase.state == ANSWERED, VoiceCase.answered_at < cutoff)
             .order_by(VoiceCase.answered_at).limit(batch))
    return query.with_for_update(skip_locked=True) if locking else query


def _close_batch(session: Session, cutoff: datetime, now: datetime, batch: int, *,
                 locking: bool) -> tuple[int, int]:
    """Close one batch; how many cases were read and how many this call closed."""
    ids = list(session.scalars(due_for_closing(cutoff, batch, locking=locking)))
    if not ids:
        return 0, 0
    closed = session.execute(
        update(_CASES)
        .where(_CASES.c.id.in_(ids), _CASES.c.state == ANSWERED,
               _CASES.c.answered_at < cutoff)
        .values(state=CLOSED, closed_at=now, updated_at=now, next_alarm_at=None)
        .returning(_CASES.c.id, _CASES.c.cycle)).all()
    if closed:
        session.execute(insert(_EVENTS), [
            {"case_id": case_id, "at": now, "actor_user_id": None, "actor_role": SYSTEM,
             "action": "close", "from_state": ANSWERED, "to_state": CLOSED,
             "cycle": cycle, "reason": REASON, "detail": {}}
            for case_id, cycle in closed])
    return len(ids), len(closed)
