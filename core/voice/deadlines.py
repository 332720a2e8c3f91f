"""A case's clock: which policy and calendar version time it, its acknowledge and answer
deadlines, and when its next alarm falls due.

PROVISIONAL (being replaced this session): calendar days from the cycle's start, no
working hours, no pauses. The interface is what the rest of ``core.voice`` calls:
``time_new_case`` once when a case is received, ``retime`` after every change to it,
``alarm_times`` and ``next_working_time`` for the alarm scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar.models import CalendarVersion
from core.platform.settings import CoreSettings
from core.voice import states
from core.voice.models import DeadlinePolicy, VoiceCase


def _target(text: str) -> timedelta:
    value, unit = int(text[:-1]), text[-1]
    return timedelta(days=value) if unit == "d" else timedelta(hours=value)


def policy_for(session: Session, config: CoreSettings, agency_id: int,
               category_id: int | None, case_type: str) -> DeadlinePolicy:
    """The most specific current policy for the case; the emirate's default is written
    from the configuration the first time it is needed."""
    rows = session.scalars(select(DeadlinePolicy).where(
        DeadlinePolicy.superseded_at.is_(None),
        DeadlinePolicy.agency_id.is_(None) | (DeadlinePolicy.agency_id == agency_id))).all()

    def rank(row: DeadlinePolicy) -> tuple[int, int, int]:
        return (row.agency_id is not None, row.category_id is not None,
                row.case_type is not None)

    fitting = [row for row in rows
               if row.category_id in (None, category_id) and row.case_type in (None, case_type)]
    if fitting:
        return max(fitting, key=rank)
    voice = config.voice
    row = DeadlinePolicy(acknowledge_value=int(voice.acknowledge[:-1]),
                         acknowledge_unit=voice.acknowledge[-1],
                         answer_value=int(voice.answer[:-1]), answer_unit=voice.answer[-1])
    session.add(row)
    session.flush()
    return row


def current_calendar_version(session: Session) -> int:
    version = session.scalar(select(CalendarVersion.id).order_by(CalendarVersion.id.desc()))
    if version is None:
        row = CalendarVersion(reason="first version", definition={})
        session.add(row)
        session.flush()
        return row.id
    return version


def time_new_case(session: Session, config: CoreSettings, case: VoiceCase,
                  now: datetime) -> None:
    """Time a case just received: its policy, calendar version, deadlines, next alarm."""
    policy = policy_for(session, config, case.agency_id, case.category_id, case.case_type)
    case.policy_id = policy.id
    case.calendar_version = current_calendar_version(session)
    case.cycle_started_at = now
    retime(session, config, case, now)


def retime(session: Session, config: CoreSettings, case: VoiceCase, now: datetime) -> None:
    """Recompute the deadlines and the next alarm after a change to the case."""
    policy = session.get(DeadlinePolicy, case.policy_id)
    assert policy is not None
    start = case.cycle_started_at
    case.acknowledge_due = start + _target(f"{policy.acknowledge_value}{policy.acknowledge_unit}")
    case.answer_due = start + _target(f"{policy.answer_value}{policy.answer_unit}")
    running = case.state in states.CLOCK_RUNNING
    case.next_alarm_at = case.answer_due if running and case.escalation < 2 else None


@dataclass(frozen=True)
class AlarmTimes:
    """When each escalation level falls due in the case's current cycle (UTC)."""

    warning: datetime  # voice.warning_percent of the answer target consumed
    breach: datetime  # the answer deadline
    leadership: datetime  # voice.leadership_after_days working days after the breach


def alarm_times(session: Session, config: CoreSettings, case: VoiceCase) -> AlarmTimes:
    """The alarm times of a case whose clock runs (``answer_due`` set)."""
    assert case.answer_due is not None
    span = case.answer_due - case.cycle_started_at
    warning = case.cycle_started_at + span * config.voice.warning_percent / 100
    return AlarmTimes(warning, case.answer_due,
                      case.answer_due + timedelta(days=config.voice.leadership_after_days))


def next_working_time(session: Session, config: CoreSettings, at: datetime) -> datetime:
    """``at`` itself when it falls in working hours, else the start of the next working
    window (alarms to staff are held to working hours unless urgent)."""
    return at
