"""What is overdue right now, for the operator: per department and agency, days overdue.

Read from the transactions themselves with the same rule the scan applies
(``core.overdue``), so the page and ``/metrics`` show overdue transactions whether or not
their manager could be told (no mobile, demo data, a scheduler that is not running).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Row, func, select

from core.calendar.dates import local_date
from core.directory.models import Agency
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.settings import CoreSettings
from core.transactions.answer import Name
from core.transactions.models import OverdueFollowUp, Transaction
from core.transactions.overdue import Rule, load_rules, overdue_conditions

LIMIT = 500


@dataclass(frozen=True)
class OverdueItem:
    number: str
    outgoing_number: str
    issued_on: date
    due_on: date
    days_overdue: int  # calendar days since the reply was due
    department_code: str
    department: Name | None
    agency: Name | None
    messages: int  # sent to the manager so far
    manager_reachable: bool
    stopped_reason: str | None  # e.g. demo data: never to be sent


@dataclass(frozen=True)
class DepartmentCount:
    code: str
    overdue: int
    manager_reachable: bool
    name: Name | None = None  # None for transactions issued with no department


@dataclass(frozen=True)
class AgencyCount:
    department_code: str
    agency_code: str  # NO_AGENCY when issued to none
    overdue: int
    oldest_days_overdue: int  # of the one waiting longest


NO_AGENCY = "-"


def overdue_items(db: Database, config: CoreSettings, *, now: datetime | None = None,
                  limit: int = LIMIT) -> list[OverdueItem]:
    """Overdue transactions, most overdue first, at most ``limit``."""
    today = local_date(now or utcnow(), config.tz)
    items: list[OverdueItem] = []
    with db.read() as session:
        for rule in load_rules(session, config):
            rows = session.execute(
                select(Transaction.number, Transaction.outgoing_number,
                       Transaction.issued_at, Agency.name_ar, Agency.name_en,
                       OverdueFollowUp.cycles, OverdueFollowUp.stopped_reason)
                .outerjoin(Agency, Agency.id == Transaction.destination_agency_id)
                .outerjoin(OverdueFollowUp, OverdueFollowUp.transaction_id == Transaction.id)
                .where(*overdue_conditions(rule, today, config.tz))
                .order_by(Transaction.issued_at).limit(limit))
            items += [_item(rule, row, today, config) for row in rows]
    items.sort(key=lambda item: (-item.days_overdue, item.number))
    return items[:limit]


def _item(rule: Rule, row: Row[str, str | None, datetime | None, str, str, int, str | None],
          today: date, config: CoreSettings) -> OverdueItem:
    issued_on = local_date(row.issued_at, config.tz)
    due_on = rule.due_on(issued_on)
    agency = Name(row.name_ar, row.name_en) if row.name_ar is not None else None
    return OverdueItem(
        number=row.number, outgoing_number=row.outgoing_number or "", issued_on=issued_on,
        due_on=due_on, days_overdue=(today - due_on).days, department_code=rule.code,
        department=rule.name, agency=agency, messages=row.cycles or 0,
        manager_reachable=rule.manager_mobile is not None,
        stopped_reason=row.stopped_reason)


def overdue_counts(db: Database, config: CoreSettings, *,
                   now: datetime | None = None) -> list[DepartmentCount]:
    """How many transactions are overdue in each department (for /metrics, and the
    page's total, which lists at most ``LIMIT``)."""
    today = local_date(now or utcnow(), config.tz)
    counts = []
    with db.read() as session:
        for rule in load_rules(session, config):
            count = session.scalar(select(func.count()).select_from(Transaction)
                                   .where(*overdue_conditions(rule, today, config.tz)))
            if count or rule.department_id is not None:
                counts.append(DepartmentCount(rule.code, count or 0,
                                              rule.manager_mobile is not None, rule.name))
    return counts


def overdue_by_agency(db: Database, config: CoreSettings, *,
                      now: datetime | None = None) -> list[AgencyCount]:
    """Overdue transactions per department and agency, with the days overdue of the one
    waiting longest (for /metrics: the page's list, as numbers)."""
    today = local_date(now or utcnow(), config.tz)
    counts = []
    with db.read() as session:
        for rule in load_rules(session, config):
            rows = session.execute(
                select(Agency.code, func.count(), func.min(Transaction.issued_at))
                .select_from(Transaction)
                .outerjoin(Agency, Agency.id == Transaction.destination_agency_id)
                .where(*overdue_conditions(rule, today, config.tz))
                .group_by(Agency.code).order_by(Agency.code))
            counts += [
                AgencyCount(rule.code, agency or NO_AGENCY, count,
                            # Overdue means issued: the oldest issue time is there.
                            (today - rule.due_on(local_date(cast(datetime, oldest),
                                                            config.tz))).days)
                for agency, count, oldest in rows]
    return counts


class OverdueReport:
    """The report over one database and configuration, for the staff page and /metrics.

    Each read raises ``DatabaseError`` (core.platform.faults) when the database is down.
    """

    def __init__(self, db: Database, config: CoreSettings) -> None:
        self._db = db
        self._config = config

    def items(self, *, now: datetime | None = None, limit: int = LIMIT) -> list[OverdueItem]:
        return overdue_items(self._db, self._config, now=now, limit=limit)

    def counts(self, *, now: datetime | None = None) -> list[DepartmentCount]:
        return overdue_counts(self._db, self._config, now=now)

    def by_agency(self, *, now: datetime | None = None) -> list[AgencyCount]:
        return overdue_by_agency(self._db, self._config, now=now)
