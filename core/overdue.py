"""The overdue rule (DOMAIN.md §1, item 4): an outgoing transaction the agency has not
answered in time earns its department manager an SMS, then a reminder every few days.

A transaction is *awaiting a reply* while it is issued with ``reply_expected`` and no
``reply_received`` or ``closed`` event has come. Its department's reply period
(``Department.reply_days``, else ``scheduler.overdue_reply_days``) counts calendar days
or working days (``Department.reply_day_count``, else ``scheduler.overdue_day_count``;
see ``core.workdays``) from the day after the issue date. The reply is due by the end of
the period's last day (``due_on``); on the next counted day the transaction is overdue
and the manager is told. After that, a reminder goes every ``scheduler.overdue_repeat_days``
counted days after the last message, until the reply or the close stops the clock.
Dates are local (``locale.timezone``), the day starting at midnight.

Exactly once: message N of transaction T has the outbox cause "overdue:T:N", and is written
in the same database transaction as the ``OverdueFollowUp`` row that records cycle N. The
first cycle is claimed by inserting that row (``ON CONFLICT DO NOTHING``), later ones by a
guarded update of its ``cycles``, so two scans racing (two machines, a restart mid-scan)
cannot both send a cycle; on PostgreSQL they also take disjoint rows (``SKIP LOCKED``).
A transaction first found long after its deadline gets one message, not the missed ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, literal, select, true, tuple_, update
from sqlalchemy.orm import Session

from core import holidays, outbox
from core.answer import Name
from core.config import CoreConfig
from core.dates import format_date, local_date
from core.db import Database, UTCDateTime, utcnow
from core.i18n import gettext_for
from core.models import Agency, Department, OverdueFollowUp, Status, Transaction
from core.workdays import ONE_DAY, DayCount

KIND = "overdue"
# The lease the scheduler holds while it scans (core.leases): one scanner at a time.
SCAN_LEASE = "overdue-scan"
BATCH = 1000
NO_DEPARTMENT = "-"
STOPPED_BY = {Status.REPLY_RECEIVED: "reply received", Status.CLOSED: "closed"}


def cause_key(transaction_id: int, cycle: int) -> str:
    return f"overdue:{transaction_id}:{cycle}"


def overdue_sms(outgoing_number: str, issued_at: datetime, agency: Name | None, lang: str,
                tz: ZoneInfo) -> str:
    """The manager's message, in the seed's words (the same text for each reminder)."""
    _ = gettext_for(lang)
    return _("The outgoing transaction number {outgoing}, dated {date}, to {agency} has "
             "not been answered to date; please follow up.").format(
        outgoing=outgoing_number, date=format_date(local_date(issued_at, tz), lang),
        agency=agency.in_(lang) if agency else "")


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


def load_rules(session: Session, config: CoreConfig) -> list[Rule]:
    """Every department's rule, and one for transactions issued with no department."""
    off = holidays.all_days(session)
    rules = [Rule(None, NO_DEPARTMENT, None, config.reply_days,
                  DayCount.named(config.day_count, off), None)]
    for department in session.scalars(select(Department).order_by(Department.code)):
        rules.append(Rule(
            department.id, department.code, Name(department.name_ar, department.name_en),
            department.reply_days or config.reply_days,
            DayCount.named(department.reply_day_count or config.day_count, off),
            department.manager_mobile or None))
    return rules


def start_of(day: date, tz: ZoneInfo) -> datetime:
    """Local midnight at the start of ``day``, in UTC (what the columns hold)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _awaiting(rule: Rule) -> list:
    in_department = (Transaction.department_id.is_(None) if rule.department_id is None
                     else Transaction.department_id == rule.department_id)
    return [Transaction.status == Status.ISSUED, Transaction.reply_expected == true(),
            in_department]


def overdue_conditions(rule: Rule, today: date, tz: ZoneInfo) -> list:
    """Awaiting a reply in ``rule``'s department, and overdue ``today``."""
    cutoff = start_of(rule.last_overdue_issue_day(today) + ONE_DAY, tz)
    return [*_awaiting(rule), Transaction.issued_at < cutoff]


@dataclass
class ScanResult:
    notified: int = 0  # first messages
    reminded: int = 0
    stopped: int = 0  # clocks stopped by a reply or a close
    # Overdue transactions left unsent because the department has no manager mobile.
    without_manager: Counter[str] = field(default_factory=Counter)

    def as_state(self) -> dict[str, object]:
        return {"notified": self.notified, "reminded": self.reminded,
                "stopped": self.stopped, "without_manager": dict(self.without_manager)}


def scan(db: Database, config: CoreConfig, *, now: datetime | None = None,
         batch: int = BATCH) -> ScanResult:
    """One pass of the rule: stop answered clocks, first messages, then reminders."""
    now = now or utcnow()
    today = local_date(now, config.tz)
    result = ScanResult(stopped=stop_answered(db))
    with db.read() as session:
        rules = load_rules(session, config)
    for rule in rules:
        if rule.manager_mobile is None:
            _count_unreachable(db, rule, today, config.tz, result)
        else:
            result.notified += _first_messages(db, config, rule, now, today, batch)
    result.reminded = _reminders(db, config, rules, now, today, batch, result)
    return result


def stop_answered(db: Database) -> int:
    """Stop the clocks of transactions answered or closed since the last scan."""
    stopped = 0
    with db.write.begin() as session:
        for status, reason in STOPPED_BY.items():
            stopped += session.execute(
                update(OverdueFollowUp)
                .where(OverdueFollowUp.next_reminder_at.is_not(None),
                       exists().where(Transaction.id == OverdueFollowUp.transaction_id,
                                      Transaction.status == status))
                .values(next_reminder_at=None, stopped_reason=reason)
                .execution_options(synchronize_session=False)).rowcount
    return stopped


def _candidates(rule: Rule, today: date, tz: ZoneInfo) -> Select:
    not_yet_told = ~exists().where(OverdueFollowUp.transaction_id == Transaction.id)
    return (select(Transaction.id, Transaction.outgoing_number, Transaction.issued_at,
                   Agency.name_ar, Agency.name_en)
            .outerjoin(Agency, Agency.id == Transaction.destination_agency_id)
            # No ORDER BY: sorting by id would tempt SQLite into reading every issued
            # transaction in id order instead of the department's index range.
            .where(*overdue_conditions(rule, today, tz), not_yet_told))


def _count_unreachable(db: Database, rule: Rule, today: date, tz: ZoneInfo,
                       result: ScanResult) -> None:
    """Overdue transactions whose department has no manager mobile: counted, not sent.

    No cycle is recorded, so the first message goes once a mobile is set.
    """
    with db.read() as session:
        count = session.scalar(select(func.count()).select_from(
            _candidates(rule, today, tz).subquery()))
    if count:
        result.without_manager[rule.code] += count


def _first_messages(db: Database, config: CoreConfig, rule: Rule, now: datetime,
                    today: date, batch: int) -> int:
    next_at = start_of(rule.day_count.add(today, config.repeat_days), config.tz)
    sent = 0
    while True:
        with db.write.begin() as session:
            query = _candidates(rule, today, config.tz).limit(batch)
            if not db.is_sqlite:
                query = query.with_for_update(of=Transaction, skip_locked=True)
            rows = session.execute(query).all()
            won = _record_first_cycles(session, [row.id for row in rows], now, next_at)
            outbox.enqueue_many(session, [
                _message(config, rule, row.id, 1, row.outgoing_number, row.issued_at,
                         row.name_ar, row.name_en)
                for row in rows if row.id in won])
        sent += len(won)
        if len(rows) < batch or not won:
            return sent


def _record_first_cycles(session: Session, transaction_ids: list[int], now: datetime,
                         next_at: datetime) -> set[int]:
    """Insert cycle 1 for each transaction; the ids this call inserted (the others were
    recorded by a concurrent scan, and are theirs to send)."""
    if not transaction_ids:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    # INSERT ... SELECT: one statement whatever the batch, no parameters per row.
    moment = UTCDateTime()
    rows = select(Transaction.id, literal(1), literal(now, moment), literal(now, moment),
                  literal(next_at, moment)).where(Transaction.id.in_(transaction_ids))
    statement = (insert(OverdueFollowUp)
                 .from_select(["transaction_id", "cycles", "first_notified_at",
                               "last_notified_at", "next_reminder_at"], rows)
                 .on_conflict_do_nothing(index_elements=["transaction_id"])
                 .returning(OverdueFollowUp.transaction_id))
    return set(session.scalars(statement))


def _reminders(db: Database, config: CoreConfig, rules: list[Rule], now: datetime,
               today: date, batch: int, result: ScanResult) -> int:
    """Send the reminders due, reading the clocks in pages of ``batch`` by due time.

    The clocks lead (their ``next_reminder_at`` index), then their transactions are read
    by id: the cost follows the reminders due, not the transactions issued. A reminder
    due where the manager has no mobile (removed since the first message) is counted and
    stays due, so it goes once a mobile is set.
    """
    by_department = {rule.department_id: rule for rule in rules}
    sent, after = 0, None
    while True:
        with db.write.begin() as session:
            page = (select(OverdueFollowUp.transaction_id, OverdueFollowUp.cycles,
                           OverdueFollowUp.next_reminder_at)
                    .where(OverdueFollowUp.next_reminder_at <= now)
                    .order_by(OverdueFollowUp.next_reminder_at, OverdueFollowUp.transaction_id)
                    .limit(batch))
            if after is not None:
                page = page.where(tuple_(OverdueFollowUp.next_reminder_at,
                                         OverdueFollowUp.transaction_id) > tuple_(*after))
            if not db.is_sqlite:
                page = page.with_for_update(skip_locked=True)
            clocks = session.execute(page).all()
            if not clocks:
                return sent
            transactions = (
                select(Transaction.id, Transaction.department_id, Transaction.outgoing_number,
                       Transaction.issued_at, Agency.name_ar, Agency.name_en)
                .outerjoin(Agency, Agency.id == Transaction.destination_agency_id)
                .where(Transaction.id.in_([clock.transaction_id for clock in clocks]),
                       Transaction.status == Status.ISSUED,
                       Transaction.reply_expected == true()))
            if not db.is_sqlite:
                # A reply being applied right now holds its row: skip it, so no reminder
                # follows a reply; the next scan sees the reply and stops the clock.
                transactions = transactions.with_for_update(of=Transaction, skip_locked=True)
            awaiting = {row.id: row for row in session.execute(transactions)}
            messages = []
            for clock in clocks:
                txn = awaiting.get(clock.transaction_id)
                if txn is None:  # answered or closed: the next scan stops the clock
                    continue
                rule = by_department.get(txn.department_id, rules[0])
                if rule.manager_mobile is None:
                    result.without_manager[rule.code] += 1
                    continue
                message = _next_cycle(session, config, rule, clock, txn, now, today)
                if message is not None:
                    messages.append(message)
            outbox.enqueue_many(session, messages)
        sent += len(messages)
        if len(clocks) < batch:
            return sent
        after = (clocks[-1].next_reminder_at, clocks[-1].transaction_id)


def _next_cycle(session: Session, config: CoreConfig, rule: Rule, clock, txn,
                now: datetime, today: date) -> dict[str, object] | None:
    """Record the clock's next cycle and return its message; None if another scan did."""
    cycle = clock.cycles + 1
    next_at = start_of(rule.day_count.add(today, config.repeat_days), config.tz)
    recorded = session.execute(
        update(OverdueFollowUp)
        .where(OverdueFollowUp.transaction_id == clock.transaction_id,
               OverdueFollowUp.cycles == clock.cycles)
        .values(cycles=cycle, last_notified_at=now, next_reminder_at=next_at)
        .execution_options(synchronize_session=False)).rowcount
    if not recorded:
        return None
    return _message(config, rule, clock.transaction_id, cycle, txn.outgoing_number,
                    txn.issued_at, txn.name_ar, txn.name_en)


def _message(config: CoreConfig, rule: Rule, transaction_id: int, cycle: int,
             outgoing_number: str | None, issued_at: datetime, name_ar: str | None,
             name_en: str | None) -> dict[str, object]:
    lang = config.staff_language
    agency = Name(name_ar, name_en) if name_ar is not None and name_en is not None else None
    return {"cause_key": cause_key(transaction_id, cycle), "kind": KIND, "audience": "staff",
            "recipient": rule.manager_mobile, "language": lang,
            "transaction_id": transaction_id,
            "body": overdue_sms(outgoing_number or "", issued_at, agency, lang, config.tz)}


def silence(session: Session, transaction_ids: Iterable[int], reason: str) -> int:
    """Record that these transactions' managers are never to be told (demo data): a
    stopped clock at cycle 0. Transactions already followed up are left as they are."""
    rows = [{"transaction_id": tid, "cycles": 0, "first_notified_at": None,
             "last_notified_at": None, "next_reminder_at": None, "stopped_reason": reason}
            for tid in transaction_ids]
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return session.execute(
        insert(OverdueFollowUp).values(rows)
        .on_conflict_do_nothing(index_elements=["transaction_id"])).rowcount
