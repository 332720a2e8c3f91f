"""The overdue rule of each department: its reply period counted in calendar or working
days, when a transaction is overdue, and when the day's messages go."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from core.calendar import versions
from core.calendar.workdays import ONE_DAY, DayCount
from core.directory.models import Department
from core.platform.settings import CoreSettings
from core.transactions.answer import Name
from core.transactions.models import Status, Transaction

NO_DEPARTMENT = "-"


@dataclass(frozen=True)
class Rule:
    """One department's overdue rule, read afresh at each scan."""

    department_id: int | None
    code: str
    name: Name | None
    reply_days: int
    day_count: DayCount
    manager_mobile: str | None

    def due_on(self, issued_on: date) -> date:
        """The last day of the reply period."""
        return self.day_count.add(issued_on, self.reply_days)

    def overdue_on(self, issued_on: date) -> date:
        """The day the manager is first told: the next counted day after ``due_on``."""
        return self.day_count.add(issued_on, self.reply_days + 1)

    def last_overdue_issue_day(self, today: date) -> date:
        """Transactions issued on or before this day are overdue ``today``."""
        return self.day_count.latest_start(today, self.reply_days + 1)


def load_rules(session: Session, config: CoreSettings) -> list[Rule]:
    """Every department's rule, and one for transactions issued with no department.

    Working days are the working calendar's (``core.calendar``, the one Citizen's Voice
    cases are timed by): the dated weekend, the declared holidays, and no day an
    override leaves without working hours."""
    calendar = versions.for_config(session, config)
    rules = [Rule(None, NO_DEPARTMENT, None, config.scheduler.overdue_reply_days,
                  DayCount.named(config.scheduler.overdue_day_count, calendar=calendar),
                  None)]
    for department in session.scalars(select(Department).order_by(Department.code)):
        rules.append(Rule(
            department.id, department.code, Name(department.name_ar, department.name_en),
            department.reply_days or config.scheduler.overdue_reply_days,
            DayCount.named(department.reply_day_count or config.scheduler.overdue_day_count,
                           calendar=calendar),
            department.manager_mobile or None))
    return rules


def start_of(day: date, tz: ZoneInfo, at: time = time(0)) -> datetime:
    """Local time ``at`` (midnight) on ``day``, in UTC (what the columns hold)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def sending(now: datetime, config: CoreSettings) -> bool:
    """Whether ``now`` is past the local time the day's overdue messages go from."""
    return now.astimezone(config.tz).time() >= config.scheduler.overdue_send_at


def reminder_due(day: date, config: CoreSettings) -> datetime:
    """When a reminder falling on ``day`` is due: that day's ``overdue_send_at``."""
    return start_of(day, config.tz, config.scheduler.overdue_send_at)


def _awaiting(rule: Rule) -> list[ColumnElement[bool]]:
    in_department = (Transaction.department_id.is_(None) if rule.department_id is None
                     else Transaction.department_id == rule.department_id)
    return [Transaction.status == Status.ISSUED, Transaction.reply_expected == true(),
            in_department]


def overdue_conditions(rule: Rule, today: date, tz: ZoneInfo) -> list[ColumnElement[bool]]:
    """Awaiting a reply in ``rule``'s department, and overdue ``today``."""
    cutoff = start_of(rule.last_overdue_issue_day(today) + ONE_DAY, tz)
    return [*_awaiting(rule), Transaction.issued_at < cutoff]
