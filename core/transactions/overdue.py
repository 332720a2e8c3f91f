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
Dates are local (``locale.timezone``), the day starting at midnight; but managers are
staff, told at the start of the working day, and for a working-day rule on a working day
only (one found overdue, or a reminder falling due, on a Friday, a Saturday or a declared
holiday waits for the next working day): a day's messages (first and reminders) go
from ``scheduler.overdue_send_at`` (08:00) local time, and a scan before it sends none.
Holding the decision until then, rather than queueing at midnight for 08:00, means a
reply that comes in the night still stops the morning's message.

Exactly once: message N of transaction T has the outbox cause "overdue:T:N", and is written
in the same database transaction as the ``OverdueFollowUp`` row that records cycle N. The
first cycle is claimed by inserting that row (``ON CONFLICT DO NOTHING``), later ones by
an update of ``cycles`` guarded by the clock still being due, so two scans racing (two
machines, a restart mid-scan) cannot both send a cycle; on PostgreSQL they also take
disjoint rows (``SKIP LOCKED``). A transaction first found long after its deadline gets
one message, not the missed ones.

Cost: each department's candidates are one range of an index, the reminders one range of
``next_reminder_at``, so a scan reads what is due, not the table. The writes are a few
statements per batch of ``BATCH`` whatever its size (``INSERT ... SELECT`` for the clocks
and, through ``outbox.enqueue_alike``, for the messages), and the text is rendered once per
issue date and agency (``Texts``): for thousands due, Python per row costs more than SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Row,
    Select,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.orm import QueryableAttribute, Session

from core.calendar import holidays
from core.calendar.dates import format_date, local_date
from core.calendar.workdays import ONE_DAY, DayCount
from core.directory.models import Agency, Department
from core.messaging import outbox
from core.messaging.models import Notification, NotificationStatus
from core.platform.db import Database, UTCDateTime, utcnow
from core.platform.i18n import gettext_for
from core.platform.settings import CoreSettings
from core.transactions.answer import Name
from core.transactions.models import OverdueFollowUp, Status, Transaction

KIND = "overdue"
# The lease the scheduler holds while it scans (core.leases): one scanner at a time.
SCAN_LEASE = "overdue-scan"
BATCH = 1000
NO_DEPARTMENT = "-"
STOPPED_BY = {Status.REPLY_RECEIVED: "reply received", Status.CLOSED: "closed"}
# The clocks' table, for Core statements on a connection (no ORM objects on these paths).
_CLOCKS = OverdueFollowUp.__table__
_OUTBOX = Notification.__table__


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


# Stands for the outgoing number while a text is rendered once for many transactions.
_NUMBER_SLOT = "\x00"


class Texts:
    """The managers' messages of one scan, rendered once per issue date and agency.

    Thousands of overdue messages differ, within a date and an agency, only by the
    outgoing number: the Hijri conversion and the catalog lookup are done once for them.
    """

    def __init__(self, config: CoreSettings, agencies: dict[int, Name]) -> None:
        self._lang, self._tz, self._agencies = config.locale.default_language, config.tz, agencies
        self._parts: dict[tuple[date, int | None], tuple[str, str]] = {}

    @classmethod
    def load(cls, session: Session, config: CoreSettings) -> Texts:
        return cls(config, {row.id: Name(row.name_ar, row.name_en) for row in session.execute(
            select(Agency.id, Agency.name_ar, Agency.name_en))})

    def body(self, outgoing_number: str | None, issued_at: datetime,
             agency_id: int | None) -> str:
        issued_on = issued_at.astimezone(self._tz).date()
        parts = self._parts.get((issued_on, agency_id))
        if parts is None:
            agency = None if agency_id is None else self._agencies.get(agency_id)
            text = overdue_sms(_NUMBER_SLOT, issued_at, agency, self._lang, self._tz)
            head, _slot, tail = text.partition(_NUMBER_SLOT)
            parts = self._parts[(issued_on, agency_id)] = (head, tail)
        return f"{parts[0]}{outgoing_number or ''}{parts[1]}"


class Awaiting(Protocol):
    """A row of an issued transaction awaiting a reply, as a message needs it."""

    @property
    def id(self) -> int: ...
    @property
    def outgoing_number(self) -> str | None: ...
    @property
    def issued_at(self) -> datetime: ...  # set: the transaction is issued
    @property
    def destination_agency_id(self) -> int | None: ...


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
    """Every department's rule, and one for transactions issued with no department."""
    off = holidays.all_days(session)
    rules = [Rule(None, NO_DEPARTMENT, None, config.scheduler.overdue_reply_days,
                  DayCount.named(config.scheduler.overdue_day_count, off), None)]
    for department in session.scalars(select(Department).order_by(Department.code)):
        rules.append(Rule(
            department.id, department.code, Name(department.name_ar, department.name_en),
            department.reply_days or config.scheduler.overdue_reply_days,
            DayCount.named(department.reply_day_count or config.scheduler.overdue_day_count, off),
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


def stop_answered(db: Database) -> int:
    """Stop the clocks of transactions answered or closed and still running: the events
    stop their clocks themselves (``stop_clock``), so this finds only those of events
    applied by an older release or straight in the database (one pass over the running
    clocks, the reason read from the transaction's status)."""
    transaction = Transaction.id == _CLOCKS.c.transaction_id
    reason = (select(case(STOPPED_BY, value=Transaction.status)).where(transaction)
              .scalar_subquery())
    with db.write_engine.begin() as connection:
        result: CursorResult[Any] = connection.execute(
            update(_CLOCKS)
            .where(_CLOCKS.c.next_reminder_at.is_not(None),
                   exists().where(transaction, Transaction.status.in_(list(STOPPED_BY))))
            .values(next_reminder_at=None, stopped_reason=reason))
        return result.rowcount


def stop_clock(session: Session, transaction_id: int, status: Status) -> int:
    """The reply or the close of a transaction, in the event's own unit of work: its
    clock stops now, and its overdue messages still waiting to go (the SMSC down, or
    held by quiet hours) are cancelled, never sent after the reply; how many."""
    reason = STOPPED_BY[status]
    cycles = session.scalar(
        update(_CLOCKS).where(_CLOCKS.c.transaction_id == transaction_id,
                              _CLOCKS.c.next_reminder_at.is_not(None))
        .values(next_reminder_at=None, stopped_reason=reason)
        .returning(_CLOCKS.c.cycles))
    if not cycles:
        return 0
    # By their cause keys (the unique index): the outbox has no index by transaction.
    # Pending covers a message due again after a failed attempt; one being sent right
    # now ("sending") is left to finish.
    return cast(CursorResult[Any], session.execute(
        update(_OUTBOX).where(
            _OUTBOX.c.cause_key.in_([cause_key(transaction_id, n)
                                     for n in range(1, cycles + 1)]),
            _OUTBOX.c.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.EXPIRED,
                last_error=f"cancelled: {reason} before it was sent"))).rowcount


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
        # SQLite's insert() stands in for PostgreSQL's: the same ON CONFLICT DO NOTHING.
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return cast(CursorResult[Any], session.execute(
        insert(OverdueFollowUp).values(rows)
        .on_conflict_do_nothing(index_elements=["transaction_id"]))).rowcount
