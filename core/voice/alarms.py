"""The alarms on a case's clock: a warning at ``voice.warning_percent`` of the answer
target, the breach at the deadline, and the emirate's leadership
``voice.leadership_after_days`` working days after it (``deadlines.alarm_times``).

Who is told, by SMS in the deployment's language (Arabic), or by e-mail when the user
has an address and no mobile; a disabled account is never told:

- level 1, warning: the case's specialist and its agency's coordinators;
- level 2, breach: its agency's leaders (the seed's promise);
- level 3, leadership: every emirate leadership user, the cases listed by agency.

A recipient gets one message per level and scan batch listing the cases newly at that
level (their tracking numbers and the count; the first few when all would not fit in
three UCS-2 parts), never one message per case: a leader with twenty newly late cases
gets one SMS. Several levels falling due at once (a scheduler stopped for days) are each
raised, each to its own audience.

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

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from core.access.actors import AGENCY_LEADER, COORDINATOR, LEADERSHIP
from core.access.models import StaffUser
from core.directory.models import Agency
from core.messaging import outbox
from core.platform.db import Database, utcnow
from core.platform.i18n import gettext_for, ngettext_for
from core.platform.settings import CoreSettings
from core.platform.telemetry import VOICE_ALARMS
from core.voice import deadlines
from core.voice.models import CaseAlarm, DeadlinePolicy, VoiceCase
from core.voice.states import CLOCK_RUNNING

WARNING, BREACH, LEADERSHIP_LEVEL = 1, 2, 3
LEVEL_NAMES = {WARNING: "warning", BREACH: "breach", LEADERSHIP_LEVEL: "leadership"}
# The outbox kind of each level's messages.
KINDS = {level: f"voice_{name}" for level, name in LEVEL_NAMES.items()}
# The lease the scheduler holds while it scans (core.leases): one scanner at a time.
ALARM_LEASE = "voice-alarms"
BATCH = 500
# Three UCS-2 parts of a concatenated SMS: a longer listing is cut to fit.
SMS_BUDGET = 3 * 67

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
    while True:
        raised = Counter(result.raised)
        with db.write.begin() as session:
            cases = session.scalars(due_cases(now, batch, locking=not db.is_sqlite)).all()
            _raise_due(session, config, cases, now, result)
        for name, count in (result.raised - raised).items():  # counted once committed
            VOICE_ALARMS.labels(level=name).inc(count)
        if len(cases) < batch:
            return result


def due_cases(now: datetime, batch: int, *, locking: bool) -> Select[VoiceCase]:
    """The first ``batch`` cases whose next alarm time has come, by the index on
    ``next_alarm_at``; with ``locking`` (PostgreSQL) locked, skipping those another
    transaction holds (a concurrent scan, or a change to the case)."""
    query = (select(VoiceCase).where(VoiceCase.next_alarm_at <= now)
             .order_by(VoiceCase.next_alarm_at).limit(batch))
    return query.with_for_update(skip_locked=True) if locking else query


def next_alarm(times: deadlines.AlarmTimes, escalation: int) -> datetime | None:
    """When the first level above ``escalation`` falls due; None once all are raised."""
    return next((at for level, at in _levels(times) if level > escalation), None)


def _levels(times: deadlines.AlarmTimes) -> list[tuple[int, datetime]]:
    return [(WARNING, times.warning), (BREACH, times.breach),
            (LEADERSHIP_LEVEL, times.leadership)]


def _raise_due(session: Session, config: CoreSettings, cases: Sequence[VoiceCase],
               now: datetime, result: ScanResult) -> None:
    """One batch: each case's due levels, recorded once, its clock moved on, and the
    messages of the levels this scan recorded."""
    if not cases:
        return
    result.due += len(cases)
    working_from = deadlines.next_working_time(session, config, now)
    # Outside working time, the policies whose alarms are urgent (None: all go now).
    urgent = _hours_policies(session, cases) if working_from > now else None
    moves: list[dict[str, object]] = []
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
            times = deadlines.alarm_times(session, config, case)
            levels = [level for level, at in _levels(times)
                      if level > case.escalation and at <= now]
            escalation = max(levels, default=case.escalation)
            moves.append(_move(case, escalation, next_alarm(times, escalation)))
            due += [(case, level) for level in levels]
    won = _record(session, due, now)
    session.execute(update(_CASES).where(_CASES.c.id == bindparam("case_id"))
                    .values(escalation=bindparam("to_level"),
                            next_alarm_at=bindparam("next_at"),
                            # An alarm is not a change to the case.
                            updated_at=_CASES.c.updated_at), moves)
    raised = [(case, level) for case, level in due if (case.id, level) in won]
    for _case, level in raised:
        result.raised[LEVEL_NAMES[level]] += 1
    result.messages += outbox.enqueue_new(
        session, _messages(session, config, raised, result))


def _move(case: VoiceCase, escalation: int, next_at: datetime | None) -> dict[str, object]:
    return {"case_id": case.id, "to_level": escalation, "next_at": next_at}


def _hours_policies(session: Session, cases: Sequence[VoiceCase]) -> set[int]:
    """The batch's policies whose answer target is in hours: their alarms are urgent."""
    ids = {case.policy_id for case in cases}
    return set(session.scalars(select(DeadlinePolicy.id).where(
        DeadlinePolicy.id.in_(ids), DeadlinePolicy.answer_unit == "h")))


def _record(session: Session, due: list[tuple[VoiceCase, int]],
            now: datetime) -> set[tuple[int, int]]:
    """Insert an alarm row per (case, cycle, level); the (case, level) pairs this call
    inserted (any other was raised before, by this scanner or another)."""
    if not due:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        # SQLite's insert() stands in for PostgreSQL's: the same ON CONFLICT DO NOTHING.
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = (insert(_ALARMS)
                 .values([{"case_id": case.id, "cycle": case.cycle, "level": level,
                           "raised_at": now} for case, level in due])
                 .on_conflict_do_nothing(index_elements=["case_id", "cycle", "level"])
                 .returning(_ALARMS.c.case_id, _ALARMS.c.level))
    return {(case_id, level) for case_id, level in session.execute(statement)}


# --- who is told, and what ----------------------------------------------------------


@dataclass(frozen=True)
class _Address:
    user_id: int
    channel: str  # "sms", or "email" for a user with an address and no mobile
    recipient: str


class _Staff:
    """The users a batch's alarms may go to: its agencies' coordinators and leaders, its
    specialists, the emirate's leadership; those without a mobile or an address left out."""

    def __init__(self, session: Session, raised: list[tuple[VoiceCase, int]]) -> None:
        agencies = {case.agency_id for case, _level in raised}
        specialists = {case.assigned_user_id for case, level in raised
                       if level == WARNING and case.assigned_user_id is not None}
        users = session.scalars(select(StaffUser).where(
            StaffUser.disabled_at.is_(None),
            (StaffUser.role.in_([COORDINATOR, AGENCY_LEADER])
             & StaffUser.agency_id.in_(agencies))
            | (StaffUser.role == LEADERSHIP) | StaffUser.id.in_(specialists))
            .order_by(StaffUser.id)).all()
        self.by_id = {user.id: address for user in users
                      if (address := _address(user)) is not None}
        self.by_role: dict[tuple[str, int | None], list[_Address]] = defaultdict(list)
        for user in users:
            if user.id in self.by_id:
                agency = None if user.role == LEADERSHIP else user.agency_id
                self.by_role[(user.role, agency)].append(self.by_id[user.id])

    def audience(self, case: VoiceCase, level: int) -> list[_Address]:
        if level == WARNING:
            specialist = self.by_id.get(case.assigned_user_id or 0)
            coordinators = self.by_role[(COORDINATOR, case.agency_id)]
            return list({a.user_id: a for a in [*coordinators, *filter(None, [specialist])]
                         }.values())
        if level == BREACH:
            return self.by_role[(AGENCY_LEADER, case.agency_id)]
        return self.by_role[(LEADERSHIP, None)]


def _address(user: StaffUser) -> _Address | None:
    if user.mobile:
        return _Address(user.id, "sms", user.mobile)
    if user.email:
        return _Address(user.id, "email", user.email)
    return None


def _messages(session: Session, config: CoreSettings, raised: list[tuple[VoiceCase, int]],
              result: ScanResult) -> list[dict[str, str]]:
    """One message per (level, recipient) listing the cases raised at that level."""
    if not raised:
        return []
    staff = _Staff(session, raised)
    lists: dict[tuple[int, _Address], list[VoiceCase]] = defaultdict(list)
    for case, level in sorted(raised, key=lambda pair: pair[0].id):
        audience = staff.audience(case, level)
        if not audience:
            result.unreachable[LEVEL_NAMES[level]] += 1
        for address in audience:
            lists[(level, address)].append(case)
    lang = config.locale.default_language
    agencies = _agency_names(session, {case.agency_id for case, _level in raised}, lang)
    messages = []
    for (level, address), cases in lists.items():
        first = cases[0]
        messages.append({
            # The first case's alarm was raised once: no other message to this user
            # starts with it.
            "cause_key": f"voice-alarm:{level}:{first.id}:{first.cycle}:{address.user_id}",
            "kind": KINDS[level], "audience": "staff", "recipient": address.recipient,
            "channel": address.channel, "language": lang,
            "body": _body(level, cases, agencies, config, lang)})
    return messages


def _agency_names(session: Session, ids: set[int], lang: str) -> dict[int, str]:
    rows = session.execute(select(Agency.id, Agency.name_ar, Agency.name_en)
                           .where(Agency.id.in_(ids)))
    return {row.id: row.name_ar if lang == "ar" else row.name_en for row in rows}


def _body(level: int, cases: list[VoiceCase], agencies: dict[int, str],
          config: CoreSettings, lang: str) -> str:
    trackings = [case.tracking for case in cases]
    if level == WARNING:
        return warning_sms(trackings, config.voice.warning_percent, lang)
    if level == BREACH:
        return breach_sms(trackings, lang)
    by_agency: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        by_agency[agencies.get(case.agency_id, "")].append(case.tracking)
    return leadership_sms(list(by_agency.items()), config.voice.leadership_after_days, lang)


# --- the texts: pure functions of the cases and the language -------------------------


def warning_sms(trackings: list[str], percent: int, lang: str) -> str:
    """The specialist's and coordinators' warning."""
    _ = gettext_for(lang)
    text = _("Citizen's Voice: cases with {percent}% of their answer time gone ({count}): "
             "{cases}.").format(percent=percent, count=len(trackings), cases="{cases}")
    return _fit(text, trackings, lang)


def breach_sms(trackings: list[str], lang: str) -> str:
    """The agency leader's message: the agency's newly late cases."""
    _ = gettext_for(lang)
    text = _("Citizen's Voice: cases past their answer deadline in your agency ({count}): "
             "{cases}. Please follow up.").format(count=len(trackings), cases="{cases}")
    return _fit(text, trackings, lang)


def leadership_sms(by_agency: list[tuple[str, list[str]]], days: int, lang: str) -> str:
    """The emirate leadership's message: the cases still unanswered ``days`` working days
    after their deadline, by agency."""
    _ = gettext_for(lang)
    late = ngettext_for(lang)("{n} working day", "{n} working days", days).format(n=days)
    count = sum(len(trackings) for _agency, trackings in by_agency)
    text = _("Citizen's Voice: cases still unanswered {late} after their deadline "
             "({count}): {cases}.").format(late=late, count=count, cases="{cases}")
    room = SMS_BUDGET - len(text) + len("{cases}")
    comma, semicolon = ("، ", "؛ ") if lang == "ar" else (", ", "; ")
    widest = max(len(trackings) for _agency, trackings in by_agency)
    for shown in range(widest, -1, -1):
        entries = [f"{agency} ({len(trackings)})" + (
            f": {comma.join(trackings[:shown])}" if shown else "")
            for agency, trackings in by_agency]
        listing = semicolon.join(entries)
        if len(listing) <= room:
            return text.replace("{cases}", listing)
    return text.replace("{cases}", _listing(entries, room, semicolon, lang))


def _fit(text: str, items: list[str], lang: str) -> str:
    """``text`` with its ``{cases}`` slot filled by as many of ``items`` as fit."""
    room = SMS_BUDGET - len(text) + len("{cases}")
    return text.replace("{cases}", _listing(items, room, "، " if lang == "ar" else ", ",
                                            lang))


def _listing(items: list[str], room: int, separator: str, lang: str) -> str:
    """The first of ``items`` that fit in ``room`` characters, then "and N more"."""
    _ = gettext_for(lang)
    for shown in range(len(items), 0, -1):
        listing = separator.join(items[:shown])
        if shown < len(items):
            listing += " " + _("and {count} more").format(count=len(items) - shown)
        if len(listing) <= room:
            return listing
    return _("and {count} more").format(count=len(items))
