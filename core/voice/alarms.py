"""The alarms on a case's clock: a warning at ``voice.warning_percent`` of the answer
target, the breach at the deadline, and the emirate's leadership
``voice.leadership_after_days`` working days after it (``deadlines.alarm_times``).

Which levels are due is read from what the clock stored, not recomputed from the case's
events (``alarm_times`` reads them: a query a case). The clock keeps ``next_alarm_at`` at
the time of the level above ``escalation`` (this scan may only move it later, to working
time), so a case read as due has that level due; the breach is the answer deadline
(``answer_due``, its pauses counted), and the leadership level is
``WorkingCalendar.add_working_days`` after it, on the case's calendar version.
tests/core/voice/test_alarms.py holds these to ``alarm_times`` for paused and resumed
cases.

Who is told of which level, and how (``core.voice.alarm_messages``): the warning goes to
the case's specialist and its agency's coordinators, the breach to its agency's leaders
(the seed's promise), the last level to the emirate's leadership; each in one message
per recipient and scan listing the cases newly at that level, never one per case.
Several levels falling due at once (a scheduler stopped for days) are each raised, each
to its own audience.

Exactly once. A level raised is a ``CaseAlarm`` row (case, cycle, level), its primary
key, written with ``ON CONFLICT DO NOTHING`` in the database transaction that also
writes the messages and the case's new ``escalation`` and ``next_alarm_at``; only the
rows this scan inserted get messages, each with a unique outbox cause. Two scanners at
once (two machines, a lease lost mid-scan) take disjoint cases: on PostgreSQL the batch
is read ``FOR UPDATE SKIP LOCKED``, on SQLite its transaction holds the writer lock from
its first read; and the primary key decides should that ever not hold (a case update
lost to a concurrent change raises nothing twice). A crash rolls its batch back whole,
and the rerun raises it once. The same locks keep a case being changed (answered,
paused) from being alarmed on a state read before the change: the change either
commits first (the scan sees a clock that no longer runs) or holds the row (PostgreSQL
skips it this time, SQLite waits for it).

Working hours. Outside working time (``deadlines.next_working_time``) a scan raises only
urgent alarms: those of a case whose answer target is counted in hours, a matter to be
answered within the day. The others are not queued for the morning but decided then:
the case's ``next_alarm_at`` moves to the next working time. An answer given in the night
then stops the message, and a leader gets the night's late cases in one morning message
rather than one queued per minute of the night.

Cost. The scan reads ``next_alarm_at <= now`` through that column's index, ``BATCH`` at a
time, and every case it reads leaves the range (to its next level's time, the morning,
or null): it reads the cases due, not the table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, literal, select, update
from sqlalchemy.orm import Session, defer

from core.calendar import versions
from core.platform.db import Database, UTCDateTime, utcnow
from core.platform.settings import CoreSettings
from core.platform.telemetry import VOICE_ALARMS
from core.voice import deadlines
from core.voice.alarm_messages import LEVEL_NAMES, Messages
from core.voice.models import CaseAlarm, DeadlinePolicy, VoiceCase
from core.voice.states import CLOCK_RUNNING

# The lease the scheduler holds while it scans (core.leases): one scanner at a time.
ALARM_LEASE = "voice-alarms"
BATCH = 500

_ALARMS = CaseAlarm.__table__
_CASES = VoiceCase.__table__


@dataclass
class ScanResult:
    due: int = 0  # cases read: their next alarm time had come
    raised: Counter[str] = field(default_factory=Counter)  # alarms raised, by level name
    messages: int = 0
    held: int = 0  # cases whose alarms wait for working hours
    stopped: int = 0  # due cases whose clock no longer runs: their next alarm cleared
    # Alarms raised with nobody to tell (no such user with a mobile or an address).
    unreachable: Counter[str] = field(default_factory=Counter)

    def as_state(self) -> dict[str, object]:
        return {"due": self.due, "raised": dict(self.raised), "messages": self.messages,
                "held": self.held, "stopped": self.stopped,
                "unreachable": dict(self.unreachable)}

    def summary(self) -> str:
        raised = ", ".join(f"{self.raised[name]} {name}" for name in LEVEL_NAMES.values()
                           if self.raised[name]) or "none"
        return (f"voice alarms: {self.due} cases due, raised {raised}; {self.messages} "
                f"messages; {self.held} held for working hours; {self.stopped} stopped")


def scan(db: Database, config: CoreSettings, *, now: datetime | None = None,
         batch: int = BATCH) -> ScanResult:
    """Raise the alarms due at ``now``, ``batch`` cases per database transaction."""
    now = now or utcnow()
    result = ScanResult()
    messages = Messages(config, result.unreachable)
    while True:
        raised = Counter(result.raised)
        with db.write.begin() as session:
            cases = session.scalars(due_cases(now, batch, locking=not db.is_sqlite)).all()
            _raise_due(session, config, cases, now, result, messages)
        for name, count in (result.raised - raised).items():  # counted once committed
            VOICE_ALARMS.labels(level=name).inc(count)
        if len(cases) < batch:
            return result


def due_cases(now: datetime, batch: int, *, locking: bool) -> Select[VoiceCase]:
    """The first ``batch`` cases whose next alarm time has come, by the index on
    ``next_alarm_at``; with ``locking`` (PostgreSQL) locked, skipping those another
    transaction holds (a concurrent scan, or a change to the case)."""
    query = (select(VoiceCase).where(VoiceCase.next_alarm_at <= now)
             # The citizen's text (kilobytes) is no alarm's business.
             .options(defer(VoiceCase.text))
             .order_by(VoiceCase.next_alarm_at).limit(batch))
    return query.with_for_update(skip_locked=True) if locking else query


def levels_due(session: Session, config: CoreSettings, case: VoiceCase,
               now: datetime) -> tuple[list[int], datetime | None]:
    """The levels of a due case (its ``next_alarm_at`` passed, its clock running) due at
    ``now`` above its escalation, and when the next one falls due (None after the
    last)."""
    assert case.answer_due is not None
    if case.escalation >= deadlines.LEADERSHIP:
        return [], None
    calendar = versions.calendar(session, case.calendar_version)
    later = [(deadlines.BREACH, case.answer_due),
             (deadlines.LEADERSHIP, calendar.add_working_days(
                 case.answer_due, config.voice.leadership_after_days))]
    levels = [case.escalation + 1] + [level for level, at in later
                                      if level > case.escalation + 1 and at <= now]
    return levels, next((at for level, at in later if level > max(levels)), None)


def _raise_due(session: Session, config: CoreSettings, cases: Sequence[VoiceCase],
               now: datetime, result: ScanResult, messages: Messages) -> None:
    """One batch: each case's due levels, recorded once, its clock moved on, and the
    messages of the levels this scan recorded."""
    if not cases:
        return
    result.due += len(cases)
    working_from = deadlines.next_working_time(session, config, now)
    # Outside working time, the policies whose alarms are urgent (None: all go now).
    urgent = _hours_policies(session, cases) if working_from > now else None
    moves: list[dict[str, Any]] = []
    due: list[tuple[VoiceCase, int]] = []
    for case in cases:
        if case.state not in CLOCK_RUNNING or case.answer_due is None:
            # Answered or paused by a change that left its alarm time behind.
            result.stopped += 1
            moves.append(_move(case, case.escalation, None))
        elif urgent is not None and case.policy_id not in urgent:
            result.held += 1
            moves.append(_move(case, case.escalation, working_from))
        else:
            levels, next_at = levels_due(session, config, case, now)
            moves.append(_move(case, max(levels, default=case.escalation), next_at))
            due += [(case, level) for level in levels]
    won = _record(session, due, now)
    _move_clocks(session, moves)
    raised = [(case, level) for case, level in due if (case.id, level) in won]
    for _case, level in raised:
        result.raised[LEVEL_NAMES[level]] += 1
    result.messages += messages.write(session, raised)


def _move(case: VoiceCase, escalation: int, next_at: datetime | None) -> dict[str, Any]:
    return {"case_id": case.id, "to_level": escalation, "next_at": next_at}


def _move_clocks(session: Session, moves: list[dict[str, Any]]) -> None:
    """Each case's new escalation and next alarm time; ``updated_at`` stays: an alarm is
    not a change to the case. On PostgreSQL one ``UPDATE ... FROM`` three arrays, not
    one statement a case."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(_CASES).where(_CASES.c.id == bindparam("case_id"))
                        .values(escalation=bindparam("to_level"),
                                next_alarm_at=bindparam("next_at"),
                                updated_at=_CASES.c.updated_at), moves)
        return
    from sqlalchemy.dialects.postgresql import ARRAY

    def column(name: str, key: str, values: list[Any]) -> ColumnElement[Any]:
        return func.unnest(bindparam(key, values, type_=ARRAY(_CASES.c[name].type))
                           ).label(name)

    moved = select(column("id", "case_ids", [m["case_id"] for m in moves]),
                   column("escalation", "levels", [m["to_level"] for m in moves]),
                   column("next_alarm_at", "next_ats", [m["next_at"] for m in moves])
                   ).subquery()
    session.execute(update(_CASES).where(_CASES.c.id == moved.c.id)
                    .values(escalation=moved.c.escalation,
                            next_alarm_at=moved.c.next_alarm_at))


def _hours_policies(session: Session, cases: Sequence[VoiceCase]) -> set[int]:
    """The batch's policies whose answer target is in hours: their alarms are urgent."""
    return set(session.scalars(select(DeadlinePolicy.id).where(
        DeadlinePolicy.id.in_({case.policy_id for case in cases}),
        DeadlinePolicy.answer_unit == "h")))


def _record(session: Session, due: list[tuple[VoiceCase, int]],
            now: datetime) -> set[tuple[int, int]]:
    """Insert an alarm row per (case, cycle, level); the (case, level) pairs this call
    inserted (any other was raised before, by this scanner or another)."""
    if not due:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _record_on_postgresql(session, due, now)
    from sqlalchemy.dialects.sqlite import insert

    # One cached statement, executed for many rows (SQLAlchemy batches them into a few
    # INSERTs with RETURNING): not a new VALUES list compiled for each batch.
    statement = (insert(_ALARMS)
                 .on_conflict_do_nothing(index_elements=["case_id", "cycle", "level"])
                 .returning(_ALARMS.c.case_id, _ALARMS.c.level))
    rows = [{"case_id": case.id, "cycle": case.cycle, "level": level, "raised_at": now}
            for case, level in due]
    return {(case_id, level) for case_id, level in session.execute(statement, rows)}


def _record_on_postgresql(session: Session, due: list[tuple[VoiceCase, int]],
                          now: datetime) -> set[tuple[int, int]]:
    """``_record`` as one ``INSERT ... SELECT`` from three arrays: a VALUES list of a
    thousand rows costs the driver more to parse than the server to insert."""
    from sqlalchemy.dialects.postgresql import ARRAY, insert

    def column(name: str, values: list[int]) -> ColumnElement[int]:
        return func.unnest(bindparam(name, values, type_=ARRAY(_ALARMS.c[name].type)))

    rows = select(column("case_id", [case.id for case, _level in due]),
                  column("cycle", [case.cycle for case, _level in due]),
                  column("level", [level for _case, level in due]),
                  literal(now, UTCDateTime()))
    statement = (insert(_ALARMS)
                 .from_select(["case_id", "cycle", "level", "raised_at"], rows)
                 .on_conflict_do_nothing(index_elements=["case_id", "cycle", "level"])
                 .returning(_ALARMS.c.case_id, _ALARMS.c.level))
    return {(case_id, level) for case_id, level in session.execute(statement)}
