"""A case's clock: which policy and calendar version time it, its acknowledge and answer
deadlines, its alarm times, and how to explain them.

**The policy.** ``policy_for`` picks, among the current (not superseded) policies, the
most specific one that fits the case, in this order:

1. the agency's, for the case's category and type;
2. the agency's, for the category (any type);
3. the agency's, for the type (any category);
4. the agency's default (neither);
5. the same four without an agency (the emirate's), the last being the emirate's
   default, written from ``voice.acknowledge`` / ``voice.answer`` the first time it is
   needed and superseded by a new row when the configuration changes.

**The clock.** A cycle starts at ``case.cycle_started_at`` (the receipt, or the
reopening). Working time is counted by the calendar version the case was timed with
(``core.calendar``: working windows, dated weekend, holidays, overrides; the rules of
day and hour targets are in ``core.calendar.working``). The clock pauses while the case
awaits the citizen: the pauses of the cycle are read from its events (each stretch in a
``PAUSED`` state), so a deadline is always recomputed from the events, never adjusted.
While paused, ``answer_due`` and ``next_alarm_at`` are None and ``paused_since`` says
since when. The acknowledge deadline is kept after the case is taken up, paused or not
(the on-time first-response figure reads it, and a met target is no paused one: only
staff pause a case, so a paused case was acknowledged before its open pause began);
alarms concern the answer.

**Recomputation.** A new calendar version (a holiday added, Ramadan hours) retimes every
open case timed with an older one (``recompute_open``, run by the scheduler), keeping
its policy, and records a ``retimed`` event saying from which version to which.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar import versions
from core.calendar.working import Pause, Target, WorkingCalendar
from core.platform.db import Database, utcnow
from core.platform.errors import InvalidRequest
from core.platform.settings import CoreSettings
from core.voice import states
from core.voice.models import CaseEvent, DeadlinePolicy, VoiceCase

# Escalation levels (``VoiceCase.escalation``).
WARNING, BREACH, LEADERSHIP = 1, 2, 3
OPEN = sorted(states.CLOCK_RUNNING | states.PAUSED)
RETIMED = "retimed"
RECOMPUTE_BATCH = 500
# The lease under which one scheduler retimes the open cases after a calendar change
# (core.operations.upkeep), held only while it does.
RECOMPUTE_LEASE = "deadline-recompute"


# --- policies -------------------------------------------------------------------------


def _rank(row: DeadlinePolicy) -> tuple[bool, bool, bool]:
    return (row.agency_id is not None, row.category_id is not None, row.case_type is not None)


def policy_for(session: Session, config: CoreSettings, agency_id: int,
               category_id: int | None, case_type: str) -> DeadlinePolicy:
    """The most specific current policy for the case (the order is in the module's
    docstring); the emirate's default is written from the configuration when there is
    none or the configuration changed."""
    rows = session.scalars(select(DeadlinePolicy).where(
        DeadlinePolicy.superseded_at.is_(None),
        DeadlinePolicy.agency_id.is_(None) | (DeadlinePolicy.agency_id == agency_id))).all()
    fitting = [row for row in rows
               if row.category_id in (None, category_id) and row.case_type in (None, case_type)]
    best = max(fitting, key=_rank, default=None)
    if best is not None and any(_rank(best)):
        return best
    return _emirate_default(session, config, best)


def _emirate_default(session: Session, config: CoreSettings,
                     current: DeadlinePolicy | None) -> DeadlinePolicy:
    acknowledge, answer = Target.parse(config.voice.acknowledge), \
        Target.parse(config.voice.answer)
    if current is not None and (_target(current.acknowledge_value, current.acknowledge_unit),
                                _target(current.answer_value, current.answer_unit)) \
            == (acknowledge, answer):
        return current
    return set_policy(session, None, None, None, config.voice.acknowledge, config.voice.answer)


def set_policy(session: Session, agency_id: int | None, category_id: int | None,
               case_type: str | None, acknowledge: str, answer: str,
               now: datetime | None = None) -> DeadlinePolicy:
    """Make ``acknowledge`` / ``answer`` ("1d", "8h") the targets of this scope: the
    current policy of the scope, if any, is superseded (never changed: cases name it).
    An acknowledge target longer than the answer target is refused (``check_order``)."""
    ack, ans = Target.parse(acknowledge), Target.parse(answer)
    check_order(ack, ans)
    for row in session.scalars(select(DeadlinePolicy).where(
            DeadlinePolicy.superseded_at.is_(None),
            _scope(DeadlinePolicy.agency_id, agency_id),
            _scope(DeadlinePolicy.category_id, category_id),
            _scope(DeadlinePolicy.case_type, case_type))):
        row.superseded_at = now or utcnow()
    row = DeadlinePolicy(agency_id=agency_id, category_id=category_id, case_type=case_type,
                         acknowledge_value=int(ack.amount), acknowledge_unit=ack.unit,
                         answer_value=int(ans.amount), answer_unit=ans.unit)
    if now is not None:
        row.created_at = now
    session.add(row)
    session.flush()
    return row


def check_order(acknowledge: Target, answer: Target) -> None:
    """Refuse an acknowledge target longer than the answer target: in the same unit, not
    more; in days when the answer is in hours, never (a working day's length varies with
    the calendar, so days and hours are not compared: hours before days always fit)."""
    if acknowledge.unit == answer.unit and acknowledge.amount <= answer.amount \
            or acknowledge.unit == "h" and answer.unit == "d":
        return
    raise InvalidRequest(
        f"acknowledge ({acknowledge}) must not be longer than answer ({answer}): in the "
        "same unit at most the answer's amount, and in hours if the answer is in hours",
        code="acknowledge_after_answer", field="acknowledge")


def _scope(column: Any, value: object) -> Any:
    return column.is_(None) if value is None else column == value


def _target(value: int, unit: str) -> Target:
    return Target.of(value, unit)


def targets(policy: DeadlinePolicy) -> tuple[Target, Target]:
    """The policy's acknowledge and answer targets."""
    return (_target(policy.acknowledge_value, policy.acknowledge_unit),
            _target(policy.answer_value, policy.answer_unit))


def scope_of(policy: DeadlinePolicy) -> str:
    """Which rung of the order the policy stands on, for the case page."""
    place = "emirate" if policy.agency_id is None else "agency"
    if policy.category_id is not None and policy.case_type is not None:
        return f"{place} category and type"
    if policy.category_id is not None:
        return f"{place} category"
    if policy.case_type is not None:
        return f"{place} type"
    return f"{place} default"


# --- the clock ------------------------------------------------------------------------


def _pauses(events: Iterable[StateChange], cycle: int) -> list[Pause]:
    """The stretches of ``cycle`` the case spent awaiting the citizen, in order; the
    last one open (end None) while it still does."""
    pauses: list[Pause] = []
    since: datetime | None = None
    for event in events:
        if event.cycle != cycle:
            continue
        entering = event.to_state in states.PAUSED
        leaving = event.from_state in states.PAUSED
        if entering and not leaving and since is None:
            since = event.at
        elif leaving and not entering and since is not None:
            pauses.append((since, event.at))
            since = None
    if since is not None:
        pauses.append((since, None))
    return pauses


class StateChange(Protocol):
    """What the pauses are read from: an event, or a row of its columns."""

    @property
    def cycle(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def from_state(self) -> str | None: ...
    @property
    def to_state(self) -> str: ...


def pauses_of(events: Iterable[StateChange], cycle: int) -> list[Pause]:
    """The pauses of ``cycle`` from a case's events in order (the dashboards' summary
    computes every cycle's figures as the clock does, from rows of the events)."""
    return _pauses(events, cycle)


def _events(session: Session, case: VoiceCase) -> list[CaseEvent]:
    if case.id is None:
        return []
    return list(session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.cycle == case.cycle).order_by(CaseEvent.id)))


def case_pauses(session: Session, case: VoiceCase) -> list[Pause]:
    """The pauses of the case's current cycle, from its events."""
    return _pauses(_events(session, case), case.cycle)


def time_new_case(session: Session, config: CoreSettings, case: VoiceCase,
                  now: datetime) -> None:
    """Time a case just received: its policy, calendar version, deadlines, next alarm."""
    policy = policy_for(session, config, case.agency_id, case.category_id, case.case_type)
    case.policy_id = policy.id
    case.calendar_version, _calendar = versions.current(session, config)
    if case.cycle_started_at is None:
        case.cycle_started_at = now
    retime(session, config, case, now)


def retime(session: Session, config: CoreSettings, case: VoiceCase, now: datetime) -> None:
    """Recompute the deadlines and the next alarm after a change to the case (its
    state, its cycle), from its events, under its own policy and calendar version."""
    policy = session.get(DeadlinePolicy, case.policy_id)
    assert policy is not None, "a case is timed before it is retimed"
    calendar = versions.calendar(session, case.calendar_version)
    _apply(case, policy, calendar, case_pauses(session, case), config, now)


def _apply(case: VoiceCase, policy: DeadlinePolicy, calendar: WorkingCalendar,
           pauses: list[Pause], config: CoreSettings, now: datetime) -> None:
    if case.state in states.PAUSED:
        open_pause = pauses[-1][0] if pauses and pauses[-1][1] is None else None
        case.paused_since = open_pause or case.paused_since or now
        case.answer_due = case.next_alarm_at = None
        case.acknowledge_due = _acknowledge_due(case, policy, calendar, pauses)
        return
    case.paused_since = None
    closed = [pause for pause in pauses if pause[1] is not None]
    acknowledge, answer = targets(policy)
    case.acknowledge_due = calendar.due(case.cycle_started_at, acknowledge, closed)
    case.answer_due = calendar.due(case.cycle_started_at, answer, closed)
    if case.state not in states.CLOCK_RUNNING:
        case.next_alarm_at = None
        return
    times = _alarm_times(calendar, case, answer, closed, config)
    case.next_alarm_at = next((at for level, at in times.levels()
                               if level > case.escalation), None)


@dataclass(frozen=True)
class AlarmTimes:
    """When each escalation level falls due in the case's current cycle (UTC)."""

    warning: datetime  # voice.warning_percent of the answer target consumed
    breach: datetime  # the answer deadline
    leadership: datetime  # voice.leadership_after_days working days after the breach

    def levels(self) -> list[tuple[int, datetime]]:
        return [(WARNING, self.warning), (BREACH, self.breach),
                (LEADERSHIP, self.leadership)]


def _alarm_times(calendar: WorkingCalendar, case: VoiceCase, answer: Target,
                 pauses: list[Pause], config: CoreSettings) -> AlarmTimes:
    breach = calendar.due(case.cycle_started_at, answer, pauses)
    warning = calendar.due(case.cycle_started_at, answer.share(config.voice.warning_percent),
                           pauses)
    assert breach is not None and warning is not None
    return AlarmTimes(warning, breach,
                      calendar.add_working_days(breach, config.voice.leadership_after_days))


def alarm_times(session: Session, config: CoreSettings, case: VoiceCase) -> AlarmTimes:
    """The alarm times of the case's current cycle: the warning at
    ``voice.warning_percent`` of the answer target's working time, the breach at the
    answer deadline, the leadership alarm ``voice.leadership_after_days`` working days
    after it. For a case paused now they are the times as if the open pause had not
    begun (no alarm is raised on a paused case: its clock does not run)."""
    policy = session.get(DeadlinePolicy, case.policy_id)
    assert policy is not None
    calendar = versions.calendar(session, case.calendar_version)
    pauses = [pause for pause in case_pauses(session, case) if pause[1] is not None]
    return _alarm_times(calendar, case, targets(policy)[1], pauses, config)


def next_working_time(session: Session, config: CoreSettings, at: datetime) -> datetime:
    """``at`` itself when it falls in working hours, else the start of the next working
    window (alarms to staff are held to working hours unless urgent), by the latest
    calendar."""
    return versions.for_config(session, config).next_working_time(at)


# --- explaining -----------------------------------------------------------------------


def _acknowledge_due(case: VoiceCase, policy: DeadlinePolicy, calendar: WorkingCalendar,
                     pauses: list[Pause]) -> datetime | None:
    """A paused case's acknowledge deadline: the one it had before its open pause if it
    was acknowledged (the target met stays a target, not a pause), else None."""
    if case.acknowledged_at is None:
        return None
    closed = [pause for pause in pauses if pause[1] is not None]
    return calendar.due(case.cycle_started_at, targets(policy)[0], closed)


@dataclass(frozen=True)
class Explanation:
    """The facts behind a case's deadlines, for its page (which renders them)."""

    policy_id: int
    policy_scope: str  # "agency category and type" ... "emirate default"
    acknowledge_target: str  # "1d"
    answer_target: str  # "10d"
    calendar_version: int
    calendar_reason: str
    calendar_created_at: datetime
    cycle: int
    cycle_started_at: datetime
    pauses: list[Pause]
    running: bool  # the answer clock runs now (not paused, not answered)
    paused_since: datetime | None
    # Working time counted from the cycle's start to ``at`` (or to the answer), pauses
    # left out, in the answer target's unit, and as a share of the target.
    at: datetime
    worked: Fraction
    worked_percent: int
    acknowledge_due: datetime | None
    acknowledged_at: datetime | None  # the acknowledge target met (first staff action)
    answer_due: datetime | None
    alarms: dict[str, datetime] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["worked"] = str(self.worked)
        return data


def explain(session: Session, config: CoreSettings, case: VoiceCase,
            now: datetime) -> Explanation:
    """Why the case's deadlines are what they are, recomputed from its events."""
    policy = session.get(DeadlinePolicy, case.policy_id)
    assert policy is not None
    calendar = versions.calendar(session, case.calendar_version)
    version = versions.view(session, case.calendar_version)
    pauses = case_pauses(session, case)
    acknowledge, answer = targets(policy)
    closed = [pause for pause in pauses if pause[1] is not None]
    until = case.answered_at if case.answered_at and case.state in states.ANSWER_GIVEN \
        else now
    worked = calendar.worked(case.cycle_started_at, until, answer.unit, pauses)
    paused = case.state in states.PAUSED
    alarms: dict[str, datetime] = {}
    if not paused:
        times = _alarm_times(calendar, case, answer, closed, config)
        alarms = {"warning": times.warning, "breach": times.breach,
                  "leadership": times.leadership}
    return Explanation(
        policy_id=policy.id, policy_scope=scope_of(policy),
        acknowledge_target=str(acknowledge), answer_target=str(answer),
        calendar_version=version.id, calendar_reason=version.reason,
        calendar_created_at=version.created_at, cycle=case.cycle,
        cycle_started_at=case.cycle_started_at, pauses=pauses,
        running=case.state in states.CLOCK_RUNNING, paused_since=case.paused_since,
        at=until, worked=worked, worked_percent=int(worked * 100 / answer.amount),
        acknowledge_due=_acknowledge_due(case, policy, calendar, pauses) if paused
        else calendar.due(case.cycle_started_at, acknowledge, closed),
        acknowledged_at=case.acknowledged_at,
        answer_due=None if paused else calendar.due(case.cycle_started_at, answer, closed),
        alarms=alarms)


# --- recomputing after a new calendar version -----------------------------------------


@dataclass
class Recomputed:
    version: int | None = None  # the version the cases were retimed under
    retimed: int = 0
    batches: int = 0
    complete: bool = False  # every open case is timed with ``version`` now


def recompute_open(db: Database, config: CoreSettings, *, batch: int = RECOMPUTE_BATCH,
                   now: datetime | None = None,
                   keep_going: Callable[[], bool] | None = None) -> Recomputed:
    """Retime every open case (its clock running or paused) timed with an older calendar
    version under the latest one, keeping its policy; each case gets a ``retimed``
    event naming both versions. Batches of ``batch`` cases, each its own transaction,
    in id order: stopped anywhere, a second run carries on with the cases still on an
    older version. ``keep_going()``, asked before each batch, may stop it (the lease was
    lost). At the end one more pass from the first id catches a case timed under the
    old version while the first pass ran; then the version is marked recomputed
    (``core.calendar.versions.awaiting_recompute``)."""
    now = now or utcnow()
    result = Recomputed()
    with db.write.begin() as session:
        version, _calendar = versions.current(session, config)
    result.version = version
    after, passes = 0, 0
    while keep_going is None or keep_going():
        with db.write.begin() as session:
            cases = list(session.scalars(
                select(VoiceCase).where(VoiceCase.id > after,
                                        VoiceCase.state.in_(OPEN),
                                        VoiceCase.calendar_version < version)
                .order_by(VoiceCase.id).limit(batch).with_for_update()))
            if cases:
                _retime_batch(session, config, cases, version, now)
                after = cases[-1].id
                result.retimed += len(cases)
                result.batches += 1
                continue
            passes += 1
            if after and passes == 1:
                after = 0
                continue
            versions.mark_recomputed(session, version, now)
            result.complete = True
            break
    return result


def _retime_batch(session: Session, config: CoreSettings, cases: Sequence[VoiceCase],
                  version: int, now: datetime) -> None:
    calendar = versions.calendar(session, version)
    policies = {row.id: row for row in session.scalars(select(DeadlinePolicy).where(
        DeadlinePolicy.id.in_({case.policy_id for case in cases})))}
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in session.scalars(select(CaseEvent).where(
            CaseEvent.case_id.in_([case.id for case in cases])).order_by(CaseEvent.id)):
        events[event.case_id].append(event)
    for case in cases:
        before = (case.calendar_version, case.acknowledge_due, case.answer_due)
        case.calendar_version = version
        _apply(case, policies[case.policy_id], calendar,
               _pauses(events[case.id], case.cycle), config, now)
        session.add(CaseEvent(
            case_id=case.id, at=now, actor_user_id=None, actor_role="system",
            action=RETIMED, from_state=case.state, to_state=case.state, cycle=case.cycle,
            reason=f"calendar version {before[0]} → {version}",
            detail={"from_version": before[0], "to_version": version,
                    "answer_due_before": _iso(before[2]),
                    "answer_due": _iso(case.answer_due)}))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def outdated(session: Session) -> bool:
    """Whether some open case was timed with an older version than the latest."""
    latest = versions.latest_id(session)
    return latest is not None and session.scalar(
        select(VoiceCase.id).where(VoiceCase.state.in_(OPEN),
                                   VoiceCase.calendar_version < latest).limit(1)) is not None
