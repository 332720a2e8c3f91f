"""The summary the Citizen's Voice figures are read from: one row per case cycle
(``CaseCycleFact``), computed from the case, its events and its alarms, refreshed by the
scheduler (every ``scheduler.dashboards_seconds``) so that the pages never read the
events nor compute working time.

**What a fact says** (the definitions are ``core.dashboards.voice``'s): the cycle's start
(the receipt, or the reopening event), its first response (the first act of staff in the
cycle that is not a comment and does not leave it "received"; for cycle 1 the case's own
``acknowledged_at``), its answer (the first move of the cycle into an answer or a
decision; for the current cycle the case's ``answered_at``), both deadlines recomputed
from the case's policy, calendar version and the cycle's pauses (``core.voice.deadlines``,
exactly as the case's clock computes them), the working minutes to each, the citizen's
rating of the cycle, whether a later cycle reopened it, and when each alarm was raised;
with the local day (``config.tz``) of each of those moments and the histogram bin of
each time, by which the daily tables count it (``core.dashboards.daily``).

**Incremental and idempotent.** A refresh reads the cases changed (``updated_at``) or
alarmed (``voice_alarms.raised_at``) since the last refresh began, less a safety overlap
(``OVERLAP``: a transaction that began before the last refresh and committed after it
is read again), and writes each one's facts anew (delete and insert, in batches, each
its own transaction, the daily tables moved by the difference in the same one:
``core.dashboards.daily``): running it twice, or over a case twice, changes nothing.
``full``
(``gateway dashboards rebuild``) does every case, for when a definition changes, and
sums the facts into the daily tables anew at its end; it does not need the watermark
and sets it. A full refresh stopped before its end (``full_pending``) is started again
by the next refresh, whoever runs it.

**Exactly once across machines**: the scheduler runs it under the lease ``LEASE``
(renewed between batches; lost, the run stops and leaves the watermark where it was, so
the next holder reads the same changes again). Even two runs at once would write the
same rows (a fact is a function of the case), at worst twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select, union
from sqlalchemy.orm import Session

from core.calendar import versions
from core.calendar.dates import local_date
from core.calendar.working import Pause, WorkingCalendar
from core.dashboards import daily, histogram
from core.dashboards.models import BacklogCount, CaseCycleFact, DashboardRefresh
from core.dashboards.voice import SUMMARY, count_backlog
from core.platform.db import Database
from core.platform.settings import CoreSettings
from core.voice import deadlines, states
from core.voice.models import CaseAlarm, CaseEvent, DeadlinePolicy, VoiceCase

LEASE = "dashboards-refresh"
OVERLAP = timedelta(minutes=10)
BATCH = 1000
STAFF_EXCLUDED_ROLES = frozenset({"citizen", "system"})
ANSWERS = states.ANSWER_GIVEN - {states.CLOSED, states.DUPLICATE, states.WITHDRAWN}
OUT = frozenset({states.WITHDRAWN, states.DUPLICATE})
# What a fact needs of an event: read as plain rows, not objects (ten a case).
EVENT_COLUMNS = (CaseEvent.case_id, CaseEvent.cycle, CaseEvent.at, CaseEvent.action,
                 CaseEvent.actor_role, CaseEvent.from_state, CaseEvent.to_state,
                 CaseEvent.detail)


@dataclass
class Refreshed:
    """What one refresh did."""

    full: bool = False
    cases: int = 0
    facts: int = 0
    batches: int = 0
    complete: bool = False  # False: stopped (the lease was lost); the watermark stayed
    as_of: datetime | None = None

    def as_state(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat() if self.as_of else None
        return data


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _minutes(calendar: WorkingCalendar, start: datetime, until: datetime,
             pauses: Sequence[Pause]) -> int:
    return round(calendar.worked(start, until, "h", pauses) * 60)


def _cycle_start(case: VoiceCase, cycle: int, events: Sequence[Any]) -> datetime | None:
    """The receipt (cycle 1), the current cycle's start, or the reopening event."""
    if cycle == 1:
        return _utc(case.received_at)
    if cycle == case.cycle:
        return _utc(case.cycle_started_at)
    return next((_utc(e.at) for e in events if e.action == "reopen"),
                _utc(events[0].at) if events else None)


def _day(moment: datetime | None, tz: ZoneInfo) -> date | None:
    return None if moment is None else local_date(moment, tz)


def _bin(minutes: int | None) -> int | None:
    return None if minutes is None else histogram.bin_of(minutes)


def cycle_facts(case: VoiceCase, events: Sequence[Any],
                alarms: Iterable[CaseAlarm], policy: DeadlinePolicy,
                calendar: WorkingCalendar, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The facts of every cycle of ``case`` (its events in id order: rows of
    ``EVENT_COLUMNS``), as rows; their days are local to ``tz``."""
    acknowledge, answer = deadlines.targets(policy)
    raised: dict[int, dict[int, datetime]] = defaultdict(dict)
    for alarm in alarms:
        raised[alarm.cycle][alarm.level] = _utc(alarm.raised_at)  # type: ignore[assignment]
    rows = []
    for cycle in range(1, case.cycle + 1):
        mine = [event for event in events if event.cycle == cycle]
        current = cycle == case.cycle
        start = _cycle_start(case, cycle, mine)
        assert start is not None
        pauses = [p for p in deadlines.pauses_of(mine, cycle) if p[1] is not None]
        acknowledged = _utc(case.acknowledged_at) if cycle == 1 else next(
            (_utc(e.at) for e in mine if e.actor_role not in STAFF_EXCLUDED_ROLES
             and e.action != "comment" and e.to_state != states.RECEIVED), None)
        answered = _utc(case.answered_at) if current else next(
            (_utc(e.at) for e in mine if e.to_state in ANSWERS), None)
        open_pause = any(p[1] is None for p in deadlines.pauses_of(mine, cycle))
        ack_due = calendar.due(start, acknowledge, pauses)
        answer_due = None if open_pause and answered is None else \
            calendar.due(start, answer, pauses)
        rating = next((e.detail.get("rating") for e in reversed(mine)
                       if e.action == "rate"), None)
        if current and case.rating is not None and case.rated_at is not None \
                and _utc(case.rated_at) >= start:  # type: ignore[operator]
            rating = case.rating
        levels = raised.get(cycle, {})
        first_response = None if acknowledged is None \
            else _minutes(calendar, start, acknowledged, pauses)
        answer_minutes = None if answered is None \
            else _minutes(calendar, start, answered, pauses)
        rows.append({
            "case_id": case.id, "cycle": cycle, "agency_id": case.agency_id,
            "category_id": case.category_id, "channel": case.channel,
            "case_type": case.case_type, "assigned_user_id": case.assigned_user_id,
            "excluded": current and case.state in OUT, "started_at": start,
            "acknowledged_at": acknowledged, "acknowledge_due": ack_due,
            "acknowledged_on_time": None if acknowledged is None or ack_due is None
            else acknowledged <= ack_due,
            "first_response_minutes": first_response,
            "answered_at": answered, "answer_due": answer_due,
            "answered_on_time": None if answered is None or answer_due is None
            else answered <= answer_due,
            "answer_minutes": answer_minutes,
            "rating": int(rating) if isinstance(rating, int) else None,
            "reopened": cycle < case.cycle,
            "warning_at": levels.get(deadlines.WARNING),
            "breach_at": levels.get(deadlines.BREACH),
            "leadership_at": levels.get(deadlines.LEADERSHIP),
            "last_alarm_at": max(levels.values()) if levels else None,
            "started_day": _day(start, tz), "acknowledged_day": _day(acknowledged, tz),
            "answered_day": _day(answered, tz),
            "warning_day": _day(levels.get(deadlines.WARNING), tz),
            "breach_day": _day(levels.get(deadlines.BREACH), tz),
            "leadership_day": _day(levels.get(deadlines.LEADERSHIP), tz),
            "first_response_bin": _bin(first_response), "answer_bin": _bin(answer_minutes),
        })
    return rows


def write_facts(session: Session, case_ids: Sequence[int], tz: ZoneInfo, *,
                daily_rows: bool = True) -> int:
    """Compute and write anew the facts of ``case_ids``, and with ``daily_rows`` move
    the daily tables by the difference (a full refresh reloads them at its end instead);
    how many rows."""
    if not case_ids:
        return 0
    cases = list(session.scalars(select(VoiceCase).where(VoiceCase.id.in_(case_ids))))
    events: dict[int, list[Any]] = defaultdict(list)
    for event in session.execute(select(*EVENT_COLUMNS).where(
            CaseEvent.case_id.in_(case_ids)).order_by(CaseEvent.id)):
        events[event.case_id].append(event)
    alarms: dict[int, list[CaseAlarm]] = defaultdict(list)
    for alarm in session.scalars(select(CaseAlarm).where(CaseAlarm.case_id.in_(case_ids))):
        alarms[alarm.case_id].append(alarm)
    policies = {row.id: row for row in session.scalars(select(DeadlinePolicy).where(
        DeadlinePolicy.id.in_({c.policy_id for c in cases})))}
    calendars = {version: versions.calendar(session, version)
                 for version in {c.calendar_version for c in cases}}
    rows = [row for c in cases
            for row in cycle_facts(c, events[c.id], alarms[c.id], policies[c.policy_id],
                                   calendars[c.calendar_version], tz)]
    if daily_rows:
        deltas = daily.Deltas()
        for old in daily.read_facts(session, case_ids):
            deltas.contribute(old, -1)
        for new in rows:
            deltas.contribute(new)
        daily.apply(session, deltas)
    session.execute(delete(CaseCycleFact).where(CaseCycleFact.case_id.in_(case_ids)))
    if rows:
        session.execute(insert(CaseCycleFact), rows)
    return len(rows)


def _changed(session: Session, since: datetime | None, after: int,
             limit: int) -> list[int]:
    """The next ``limit`` ids above ``after`` of the cases changed or alarmed since
    ``since`` (every case when None): two index ranges (``updated_at``, the alarms'
    ``raised_at``) joined, not a scan of every case."""
    if since is None:
        return list(session.scalars(select(VoiceCase.id).where(VoiceCase.id > after)
                                    .order_by(VoiceCase.id).limit(limit)))
    changed = union(
        select(VoiceCase.id.label("id")).where(VoiceCase.updated_at >= since,
                                               VoiceCase.id > after),
        select(CaseAlarm.case_id.label("id")).where(CaseAlarm.raised_at >= since,
                                                    CaseAlarm.case_id > after)).subquery()
    return list(session.scalars(select(changed.c.id).order_by(changed.c.id).limit(limit)))


def refresh(db: Database, config: CoreSettings, *, now: datetime, full: bool = False,
            batch: int = BATCH,
            keep_going: Callable[[], bool] | None = None) -> Refreshed:
    """Bring the facts up to ``now``: the cases changed since the last refresh began
    (less ``OVERLAP``), or every case (a full refresh) when ``full``, never refreshed,
    or a full refresh was stopped before its end (``full_pending``: it starts again).
    The caller holds the lease; ``keep_going()`` is asked between batches."""
    with db.write.begin() as session:
        state = session.get(DashboardRefresh, SUMMARY)
        full = full or state is None or state.full_pending
        since = None if full or state is None else _utc(state.changes_from)
        if since is not None:
            since -= OVERLAP
        if full and state is not None:
            state.full_pending = True
    result = Refreshed(full=full)
    after = 0
    while True:
        if result.batches and keep_going is not None and not keep_going():
            return result
        with db.write.begin() as session:
            ids = _changed(session, since, after, batch)
            if not ids:
                break
            result.facts += write_facts(session, ids, config.tz, daily_rows=not full)
        result.cases += len(ids)
        result.batches += 1
        after = ids[-1]
    with db.write.begin() as session:
        if full:
            daily.reload(session)
        elif result.cases:
            daily.prune(session)
        # The backlog moves with time alone (ageing, overdue): counted anew each time.
        session.execute(delete(BacklogCount))
        backlog = count_backlog(session, now)
        if backlog:
            session.execute(insert(BacklogCount), backlog)
        state = session.get(DashboardRefresh, SUMMARY)
        if state is None:
            state = DashboardRefresh(name=SUMMARY, as_of=now, changes_from=now)
            session.add(state)
        state.as_of = state.changes_from = now
        state.cases, state.full_pending = result.cases, False
        if full:
            state.rebuilt_at = now
    result.complete, result.as_of = True, now
    return result
