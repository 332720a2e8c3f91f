"""The transactions' performance, for the emirate's leadership and each department's
staff (DOMAIN.md §2 "performance monitoring"): per department, transactions received and
issued in a period, awaiting an agency's reply and overdue now, and the average and
90th-percentile days from registration to issuance; outgoing transactions overdue by the
agency they await; inquiries by channel and by hour of the day. Sections: the records
system gives departments only (``core.directory.Department``), so the figures stop there.

Every query is bounded by the period on an index (``registered_at`` and ``issued_at`` per
department, ``inquiry_log.at``) or by the overdue scan's own index, so a page costs a few
index ranges per department whatever the history's size. The lists behind the figures
(``transaction_list``) come from the live table, at most ``LIST_LIMIT`` rows.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session

from core.access.actors import ADMIN, LEADERSHIP, Actor
from core.calendar.dates import local_date
from core.directory.models import Agency
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.errors import Forbidden, InvalidRequest
from core.platform.settings import CoreSettings
from core.transactions.answer import Name
from core.transactions.models import InquiryLog, Status, Transaction
from core.transactions.overdue import Rule, load_rules, overdue_conditions, start_of

LIST_LIMIT = 500
MAX_PERIOD_DAYS = 3660  # ten years: a longer "period" is a typing mistake
# The lists behind the figures, by the figure's name.
LISTS = ("received", "issued", "awaiting", "overdue")


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidRequest("The period ends before it begins.", code="invalid_field",
                                 field="to")
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise InvalidRequest("The period is longer than ten years.", code="invalid_field",
                                 field="from")

    def bounds(self, config: CoreSettings) -> tuple[datetime, datetime]:
        """The period in UTC: from the first day's local midnight to the next day's
        after the last."""
        return (start_of(self.start, config.tz),
                start_of(self.end + timedelta(days=1), config.tz))


@dataclass(frozen=True)
class DepartmentFigures:
    code: str  # core.transactions.overdue.NO_DEPARTMENT for those with none
    name: Name | None
    received: int
    issued: int
    awaiting_reply: int  # now
    overdue: int  # now
    average_days: float | None  # registration to issuance, of those issued in the period
    p90_days: float | None


@dataclass(frozen=True)
class AgencyOverdue:
    code: str
    name: Name | None  # None: issued to no agency
    overdue: int


@dataclass(frozen=True)
class TransactionFigures:
    period: Period
    as_of: datetime  # the figures are live: the time they were read
    departments: list[DepartmentFigures]
    overdue_by_agency: list[AgencyOverdue]
    inquiries_by_channel: dict[str, int]
    inquiries_by_hour: list[int]  # 24 counts, local hours 0..23


@dataclass(frozen=True)
class TransactionRow:
    """One line of a list behind a figure (no applicant's personal data)."""

    number: str
    subject: str
    status: str
    department_code: str
    registered_at: datetime
    issued_at: datetime | None
    outgoing_number: str
    agency: Name | None


def department_scope(actor: Actor) -> int | None:
    """The department an actor may see, None for all; Forbidden for everyone else.

    Leadership (and the administrator) see every department; staff of one department
    (``Actor.department_id``) only theirs."""
    if actor.role in (LEADERSHIP, ADMIN):
        return None
    if actor.department_id is not None:
        return actor.department_id
    raise Forbidden("Only leadership and a department's staff see the transactions' figures.")


def may_see(actor: Actor) -> bool:
    try:
        department_scope(actor)
    except Forbidden:
        return False
    return True


class TransactionDashboard:
    """The figures and their lists over one database and configuration."""

    def __init__(self, db: Database, config: CoreSettings) -> None:
        self._db = db
        self._config = config

    def figures(self, actor: Actor, period: Period, *, department: str | None = None,
                now: datetime | None = None) -> TransactionFigures:
        """The figures the actor may see; ``department`` (a code) narrows leadership's."""
        now = now or utcnow()
        with self._db.replica_read() as session:  # a page: the replica may answer
            rules = _rules(session, self._config, department_scope(actor), department)
            start, end = period.bounds(self._config)
            today = local_date(now, self._config.tz)
            rows = [_department(session, rule, start, end, today, self._config)
                    for rule in rules]
            shown = [row for row in rows if rule_has_figures(row) or row.code != "-"]
            return TransactionFigures(
                period=period, as_of=now, departments=shown,
                overdue_by_agency=_overdue_by_agency(session, rules, today, self._config),
                inquiries_by_channel=_by_channel(session, start, end),
                inquiries_by_hour=_by_hour(session, start, end, self._config))

    def transaction_list(self, actor: Actor, which: str, period: Period, *,
                         department: str | None = None, agency: str | None = None,
                         now: datetime | None = None,
                         limit: int = LIST_LIMIT) -> list[TransactionRow]:
        """The transactions behind one figure (``LISTS``), newest first, at most
        ``limit``; ``agency`` (a code, "-" for none) narrows the overdue list."""
        if which not in LISTS:
            raise InvalidRequest("No such list.", code="invalid_field", field="list")
        now = now or utcnow()
        start, end = period.bounds(self._config)
        today = local_date(now, self._config.tz)
        with self._db.replica_read() as session:
            rules = _rules(session, self._config, department_scope(actor), department)
            found: list[TransactionRow] = []
            for rule in rules:
                query = _list_query(which, rule, start, end, today, self._config)
                if agency is not None:
                    query = query.where(Transaction.destination_agency_id.is_(None)
                                        if agency == "-" else Agency.code == agency)
                found += [_row(row, rule.code) for row in session.execute(query.limit(limit))]
        found.sort(key=lambda row: row.issued_at or row.registered_at, reverse=True)
        return found[:limit]


def rule_has_figures(row: DepartmentFigures) -> bool:
    return any((row.received, row.issued, row.awaiting_reply, row.overdue))


def _rules(session: Session, config: CoreSettings, scope: int | None,
           code: str | None) -> list[Rule]:
    rules = load_rules(session, config)
    if scope is not None:
        rules = [rule for rule in rules if rule.department_id == scope]
    if code:
        rules = [rule for rule in rules if rule.code == code]
        if not rules:
            raise InvalidRequest("No such department.", code="invalid_field",
                                 field="department")
    return rules


def _in(rule: Rule) -> ColumnElement[bool]:
    return (Transaction.department_id.is_(None) if rule.department_id is None
            else Transaction.department_id == rule.department_id)


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(Transaction).where(*where)) or 0


def _department(session: Session, rule: Rule, start: datetime, end: datetime, today: date,
                config: CoreSettings) -> DepartmentFigures:
    issued_in = [_in(rule), Transaction.issued_at >= start, Transaction.issued_at < end]
    issued = _count(session, *issued_in)
    average, p90 = _times(session, issued_in, issued)
    return DepartmentFigures(
        code=rule.code, name=rule.name,
        received=_count(session, _in(rule), Transaction.registered_at >= start,
                        Transaction.registered_at < end),
        issued=issued,
        awaiting_reply=_count(session, _in(rule), Transaction.status == Status.ISSUED,
                              Transaction.reply_expected == true()),
        overdue=_count(session, *overdue_conditions(rule, today, config.tz)),
        average_days=average, p90_days=p90)


def _seconds(session: Session) -> ColumnElement[Any]:
    """Seconds from registration to issuance, in the database's own arithmetic."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Transaction.issued_at - Transaction.registered_at)
    return (func.julianday(Transaction.issued_at)
            - func.julianday(Transaction.registered_at)) * 86400.0


def _times(session: Session, where: list[ColumnElement[bool]],
           count: int) -> tuple[float | None, float | None]:
    """Average and 90th percentile (nearest rank: the ⌈0.9·n⌉-th shortest) in days."""
    if not count:
        return None, None
    seconds = _seconds(session)
    if session.get_bind().dialect.name == "postgresql":
        # percentile_disc is the nearest rank: one pass, no second read.
        average, p90 = session.execute(select(
            func.avg(seconds), func.percentile_disc(0.9).within_group(seconds))
            .where(*where)).one()
    else:
        average = session.scalar(select(func.avg(seconds)).where(*where))
        rank = math.ceil(0.9 * count)
        p90 = session.scalar(select(seconds).where(*where).order_by(seconds)
                             .offset(rank - 1).limit(1))
    return (round(float(average) / 86400, 2) if average is not None else None,
            round(float(p90) / 86400, 2) if p90 is not None else None)


def _overdue_by_agency(session: Session, rules: list[Rule], today: date,
                       config: CoreSettings) -> list[AgencyOverdue]:
    totals: Counter[tuple[str, str | None, str | None]] = Counter()
    for rule in rules:
        rows = session.execute(
            select(Agency.code, Agency.name_ar, Agency.name_en, func.count())
            .select_from(Transaction)
            .outerjoin(Agency, Agency.id == Transaction.destination_agency_id)
            .where(*overdue_conditions(rule, today, config.tz))
            .group_by(Agency.code, Agency.name_ar, Agency.name_en))
        for code, name_ar, name_en, count in rows:
            totals[(code or "-", name_ar, name_en)] += count
    found = [AgencyOverdue(code, Name(ar, en) if ar is not None and en is not None else None,
                           count)
             for (code, ar, en), count in totals.items()]
    return sorted(found, key=lambda row: (-row.overdue, row.code))


def _by_channel(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    rows = session.execute(select(InquiryLog.channel, func.count())
                           .where(InquiryLog.at >= start, InquiryLog.at < end)
                           .group_by(InquiryLog.channel).order_by(InquiryLog.channel))
    return {channel: count for channel, count in rows}


def _by_hour(session: Session, start: datetime, end: datetime,
             config: CoreSettings) -> list[int]:
    """Counts by local hour: grouped by the UTC hour in the database (at most 24 a day
    of the period), then each hour put in the emirate's time here, so that a zone with
    summer time is right too."""
    postgres = session.get_bind().dialect.name == "postgresql"
    hour = (func.date_trunc("hour", InquiryLog.at) if postgres
            else func.strftime("%Y-%m-%d %H", InquiryLog.at))
    hours = [0] * 24
    for value, count in session.execute(select(hour, func.count())
                                        .where(InquiryLog.at >= start, InquiryLog.at < end)
                                        .group_by(hour)):
        at = (value if isinstance(value, datetime)
              else datetime.strptime(value, "%Y-%m-%d %H"))
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
        hours[at.astimezone(config.tz).hour] += count
    return hours


_ListQuery = Select[str, str, str, datetime, datetime | None, str | None, str, str]


def _list_query(which: str, rule: Rule, start: datetime, end: datetime, today: date,
                config: CoreSettings) -> _ListQuery:
    query = (select(Transaction.number, Transaction.subject, Transaction.status,
                    Transaction.registered_at, Transaction.issued_at,
                    Transaction.outgoing_number, Agency.name_ar, Agency.name_en)
             .outerjoin(Agency, Agency.id == Transaction.destination_agency_id))
    if which == "received":
        return query.where(_in(rule), Transaction.registered_at >= start,
                           Transaction.registered_at < end).order_by(
            Transaction.registered_at.desc())
    if which == "issued":
        return query.where(_in(rule), Transaction.issued_at >= start,
                           Transaction.issued_at < end).order_by(Transaction.issued_at.desc())
    if which == "awaiting":
        return query.where(_in(rule), Transaction.status == Status.ISSUED,
                           Transaction.reply_expected == true()).order_by(
            Transaction.issued_at.desc())
    return query.where(*overdue_conditions(rule, today, config.tz)).order_by(
        Transaction.issued_at.desc())


def _row(row: Any, department_code: str) -> TransactionRow:
    agency = Name(row.name_ar, row.name_en) if row.name_ar is not None else None
    return TransactionRow(number=row.number, subject=row.subject, status=row.status,
                          department_code=department_code, registered_at=row.registered_at,
                          issued_at=row.issued_at, outgoing_number=row.outgoing_number or "",
                          agency=agency)
