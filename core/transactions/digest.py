"""The daily digest (optional, off by default): each department manager's morning SMS.

Once a day, at or after ``scheduler.digest_time`` local time, every department with a
manager mobile gets one message with its counts: transactions under study (assigned),
issued yesterday, awaiting an agency's reply, and of those overdue (``core.overdue``'s
rule). The outbox cause "digest:<department id>:<local date>" makes it once a day however
many schedulers run or restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from core.calendar.dates import format_date, local_date
from core.calendar.workdays import ONE_DAY
from core.messaging import outbox
from core.messaging.models import Notification
from core.platform.db import Database, utcnow
from core.platform.i18n import gettext_for
from core.platform.settings import CoreSettings
from core.transactions.models import Status, Transaction
from core.transactions.overdue import Rule, load_rules, overdue_conditions, start_of

KIND = "digest"


@dataclass(frozen=True)
class Counts:
    assigned: int
    issued_yesterday: int
    awaiting_reply: int
    overdue: int


def cause_key(department_id: int, day: date) -> str:
    return f"digest:{department_id}:{day.isoformat()}"


def digest_sms(department: str, day: date, counts: Counts, lang: str) -> str:
    _ = gettext_for(lang)
    return _("{department}, {date}: {assigned} under study, {issued} issued yesterday, "
             "{awaiting} awaiting a reply, {overdue} of them overdue.").format(
        department=department, date=format_date(day, lang), assigned=counts.assigned,
        issued=counts.issued_yesterday, awaiting=counts.awaiting_reply,
        overdue=counts.overdue)


def department_counts(session: Session, rule: Rule, today: date, config: CoreSettings) -> Counts:
    def count(*conditions: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count()).select_from(Transaction)
                              .where(*conditions)) or 0

    in_department = Transaction.department_id == rule.department_id
    yesterday = start_of(today - ONE_DAY, config.tz)
    return Counts(
        assigned=count(in_department, Transaction.status == Status.ASSIGNED),
        issued_yesterday=count(in_department, Transaction.issued_at >= yesterday,
                               Transaction.issued_at < start_of(today, config.tz)),
        awaiting_reply=count(in_department, Transaction.status == Status.ISSUED,
                             Transaction.reply_expected == true()),
        overdue=count(*overdue_conditions(rule, today, config.tz)))


def send_digests(db: Database, config: CoreSettings, at: time, *,
                 now: datetime | None = None) -> int:
    """Queue today's digests not yet queued, once ``at`` has passed; how many."""
    now = now or utcnow()
    if now.astimezone(config.tz).time() < at:
        return 0
    today = local_date(now, config.tz)
    lang = config.locale.default_language
    with db.write.begin() as session:
        due = {cause_key(rule.department_id, today): rule
               for rule in load_rules(session, config)
               if rule.department_id is not None and rule.manager_mobile is not None}
        # The job runs every minute all day after ``at``: the departments already sent
        # today cost one indexed look-up, not their four counts.
        sent = set(session.scalars(select(Notification.cause_key)
                                   .where(Notification.cause_key.in_(list(due)))))
        rows = []
        for key, rule in due.items():
            if key in sent:
                continue
            counts = department_counts(session, rule, today, config)
            assert rule.name is not None  # a department's rule: only the no-department one has none
            rows.append({
                "cause_key": key,
                "kind": KIND, "audience": "staff", "recipient": rule.manager_mobile,
                "language": lang, "body": digest_sms(rule.name.in_(lang), today, counts, lang)})
        # enqueue_new still skips a digest another scheduler queued since the look-up.
        return outbox.enqueue_new(session, rows)
