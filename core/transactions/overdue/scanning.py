"""The overdue scan: one pass that stops answered clocks, then sends the first messages of
the transactions newly overdue and the reminders due, ``BATCH`` at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    any_,
    bindparam,
    exists,
    func,
    literal,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.orm import QueryableAttribute

from core.calendar.dates import local_date
from core.messaging import outbox
from core.platform.db import Database, UTCDateTime, utcnow
from core.platform.settings import CoreSettings
from core.transactions.models import OverdueFollowUp, Status, Transaction
from core.transactions.overdue.clocks import stop_answered
from core.transactions.overdue.message import KIND, Awaiting, Texts, cause_key
from core.transactions.overdue.rule import (
    Rule,
    load_rules,
    overdue_conditions,
    reminder_due,
    sending,
)

# The lease the scheduler holds while it scans (core.leases): one scanner at a time.
SCAN_LEASE = "overdue-scan"
BATCH = 1000
# The clocks' table, for Core statements on a connection (no ORM objects on these paths).
_CLOCKS = OverdueFollowUp.__table__


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


@dataclass
class _Pass:
    """What one scan works with: the rules as read at its start, its clock and texts."""

    db: Database
    config: CoreSettings
    rules: list[Rule]
    texts: Texts
    now: datetime
    today: date
    batch: int
    result: ScanResult

    def __post_init__(self) -> None:
        self._by_department: dict[int | None, Rule] = {
            rule.department_id: rule for rule in self.rules}

    def rule_of(self, department_id: int | None) -> Rule:
        return self._by_department.get(department_id, self.rules[0])

    def next_reminder(self, rule: Rule) -> datetime:
        """When a message sent today is followed by the next: ``repeat_days`` counted
        days on, at ``overdue_send_at``."""
        repeat_days = self.config.scheduler.overdue_repeat_days
        return reminder_due(rule.day_count.add(self.today, repeat_days), self.config)

    def message(self, cycle: int, rule: Rule, txn: Awaiting) -> tuple[str, str, str, int]:
        """A message for ``outbox.enqueue_alike``."""
        return (cause_key(txn.id, cycle), rule.manager_mobile or "",
                self.texts.body(txn.outgoing_number, txn.issued_at,
                                txn.destination_agency_id), txn.id)

    def enqueue(self, connection: Connection,
                messages: list[tuple[str, str, str, int | None]]) -> int:
        return outbox.enqueue_alike(connection, messages, kind=KIND, audience="staff",
                                    language=self.config.locale.default_language)


def scan(db: Database, config: CoreSettings, *, now: datetime | None = None,
         batch: int = BATCH) -> ScanResult:
    """One pass of the rule: stop answered clocks, then (from ``overdue_send_at`` local
    time) first messages and reminders."""
    now = now or utcnow()
    today = local_date(now, config.tz)
    result = ScanResult(stopped=stop_answered(db))
    with db.read() as session:
        work = _Pass(db, config, load_rules(session, config), Texts.load(session, config),
                     now, today, batch, result)
    send = sending(now, config)
    for rule in work.rules:
        if rule.manager_mobile is None:
            _count_unreachable(db, rule, today, config.tz, result)
        elif send and rule.day_count.counts(today):
            result.notified += _first_messages(work, rule)
    if send:
        result.reminded = _reminders(work)
    return result


def _candidates(rule: Rule, today: date,
                tz: ZoneInfo) -> Select[int, str | None, datetime | None, int | None]:
    not_yet_told = ~exists().where(OverdueFollowUp.transaction_id == Transaction.id)
    return (select(Transaction.id, Transaction.outgoing_number, Transaction.issued_at,
                   Transaction.destination_agency_id)
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


def _first_messages(work: _Pass, rule: Rule) -> int:
    """Cycle 1 for the department's overdue transactions not yet told, ``batch`` at a time:
    in each database transaction, the candidates (on PostgreSQL locked, skipping those a
    concurrent scan holds), their follow-up rows, and the messages of the rows this scan
    inserted."""
    next_at = work.next_reminder(rule)
    sent = 0
    while True:
        with work.db.write_engine.begin() as connection:
            query = _candidates(rule, work.today, work.config.tz).limit(work.batch)
            if not work.db.is_sqlite:
                query = query.with_for_update(of=Transaction, skip_locked=True)
            rows = connection.execute(query).all()
            won = _record_first_cycles(connection, [row.id for row in rows], work.now,
                                       next_at)
            work.enqueue(connection, [work.message(1, rule, row) for row in rows
                                      if row.id in won])
        sent += len(won)
        if len(rows) < work.batch or not won:
            return sent


def _among(column: ColumnElement[int] | QueryableAttribute[int], values: list[int],
           connection: Connection) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``, one parameter, not one each
    (a statement with a thousand parameters costs the driver more to send than to run)."""
    if connection.dialect.name != "postgresql":
        return column.in_(values)
    from sqlalchemy.dialects.postgresql import ARRAY

    return column == any_(bindparam(None, values, type_=ARRAY(column.type)))


def _record_first_cycles(connection: Connection, transaction_ids: list[int], now: datetime,
                         next_at: datetime) -> set[int]:
    """Insert cycle 1 for each transaction; the ids this call inserted (the others were
    recorded by a concurrent scan, and are theirs to send)."""
    if not transaction_ids:
        return set()
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        # SQLite's insert() stands in for PostgreSQL's: the same ON CONFLICT DO NOTHING.
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    # INSERT ... SELECT: one statement whatever the batch.
    moment = UTCDateTime()
    rows = select(Transaction.id, literal(1), literal(now, moment), literal(now, moment),
                  literal(next_at, moment)).where(
        _among(Transaction.id, transaction_ids, connection))
    statement = (insert(_CLOCKS)
                 .from_select(["transaction_id", "cycles", "first_notified_at",
                               "last_notified_at", "next_reminder_at"], rows)
                 .on_conflict_do_nothing(index_elements=["transaction_id"])
                 .returning(_CLOCKS.c.transaction_id))
    return set(connection.scalars(statement))


def _reminders(work: _Pass) -> int:
    """Send the reminders due, reading the clocks in pages of ``batch`` by due time.

    The clocks lead (their ``next_reminder_at`` index), then their transactions are read
    by id: the cost follows the reminders due, not the transactions issued. A reminder
    due where the manager has no mobile (removed since the first message) is counted and
    stays due, so it goes once a mobile is set.
    """
    sent, after = 0, None
    while True:
        with work.db.write_engine.begin() as connection:
            clocks = _due_clocks(connection, work.now, after, work.batch)
            if not clocks:
                return sent
            # The page's transactions still awaiting a reply, by when their next reminder
            # falls (one date for all departments counting alike).
            by_next: dict[datetime, list[tuple[Rule, Awaiting]]] = {}
            for txn in _still_awaiting(connection, [clock.transaction_id for clock in clocks]):
                rule = work.rule_of(txn.department_id)
                if rule.manager_mobile is None:
                    work.result.without_manager[rule.code] += 1
                # A working-day rule sends nothing on a weekend or a holiday: the
                # reminder stays due for the next working day.
                elif rule.day_count.counts(work.today):
                    by_next.setdefault(work.next_reminder(rule), []).append((rule, txn))
            messages: list[tuple[str, str, str, int | None]] = []
            for next_at, waiting in by_next.items():
                cycles = _record_next_cycles(connection, [txn.id for _rule, txn in waiting],
                                             work.now, next_at)
                messages += [work.message(cycles[txn.id], rule, txn)
                             for rule, txn in waiting if txn.id in cycles]
            sent += work.enqueue(connection, messages)
        if len(clocks) < work.batch:
            return sent
        after = (clocks[-1].next_reminder_at, clocks[-1].transaction_id)


def _due_clocks(connection: Connection, now: datetime, after: tuple[datetime, int] | None,
                batch: int) -> Sequence[Row[int, datetime]]:
    """A page of the clocks due at ``now``, after the page ending at ``after``; on
    PostgreSQL locked, skipping those a concurrent scan holds."""
    page = (select(_CLOCKS.c.transaction_id, _CLOCKS.c.next_reminder_at)
            .where(_CLOCKS.c.next_reminder_at <= now)
            .order_by(_CLOCKS.c.next_reminder_at, _CLOCKS.c.transaction_id)
            .limit(batch))
    if after is not None:
        page = page.where(tuple_(_CLOCKS.c.next_reminder_at,
                                 _CLOCKS.c.transaction_id) > tuple_(*after))
    if connection.dialect.name == "postgresql":
        page = page.with_for_update(skip_locked=True)
    return connection.execute(page).all()


def _still_awaiting(connection: Connection, transaction_ids: list[int],
                    ) -> Sequence[Row[int, int | None, str | None, datetime | None, int | None]]:
    """Those of the transactions still awaiting a reply (the others: answered or closed
    since, their clocks stopped by the next scan)."""
    transactions = (
        select(Transaction.id, Transaction.department_id, Transaction.outgoing_number,
               Transaction.issued_at, Transaction.destination_agency_id)
        .where(_among(Transaction.id, transaction_ids, connection),
               Transaction.status == Status.ISSUED, Transaction.reply_expected == true()))
    if connection.dialect.name == "postgresql":
        # A reply being applied right now holds its row: skip it, so no reminder
        # follows a reply; the next scan sees the reply and stops the clock.
        transactions = transactions.with_for_update(of=Transaction, skip_locked=True)
    return connection.execute(transactions).all()


def _record_next_cycles(connection: Connection, transaction_ids: list[int], now: datetime,
                        next_at: datetime) -> dict[int, int]:
    """Record the next cycle of these transactions' clocks; the cycle of each recorded.

    The update is guarded by the clock still being due: the page's clocks are this
    scan's (locked on PostgreSQL; on SQLite the write transaction excludes other writers),
    and the guard keeps a cycle from being recorded twice should that ever not hold.
    """
    recorded = connection.execute(
        update(_CLOCKS)
        .where(_among(_CLOCKS.c.transaction_id, transaction_ids, connection),
               _CLOCKS.c.next_reminder_at <= now)
        .values(cycles=_CLOCKS.c.cycles + 1, last_notified_at=now, next_reminder_at=next_at)
        .returning(_CLOCKS.c.transaction_id, _CLOCKS.c.cycles))
    return dict(recorded.all())
