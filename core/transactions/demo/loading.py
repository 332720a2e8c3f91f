"""Loading the demo through the real code (the upserts, ``lifecycle.apply_event``), its
messages expired and its overdue clocks stopped before each batch commits; the report."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, func, select, true, update
from sqlalchemy.orm import Session

from core.directory.reference import Upserted
from core.messaging.models import Notification, NotificationStatus
from core.platform.db import Database
from core.platform.settings import CoreSettings
from core.transactions import lifecycle, overdue
from core.transactions.demo.data import STAGE_LABELS, STATUS_OF_STAGE
from core.transactions.demo.planning import EVENT_PREFIX, DemoPlan, plan_demo
from core.transactions.events import parse_event
from core.transactions.models import Transaction

NOT_SENT = "demo data: not sent"
# Transactions applied per database transaction.
BATCH = 250


class DemoTarget(Protocol):
    """What the demo loads through: ``core.service.Core``, which sits a layer above."""

    @property
    def db(self) -> Database: ...
    @property
    def config(self) -> CoreSettings: ...
    def upsert_department(self, code: str, data: Any) -> Upserted: ...
    def upsert_agency(self, code: str, data: Any) -> Upserted: ...
    def upsert_employee(self, code: str, data: Any) -> Upserted: ...


def load_demo(core: DemoTarget, *, transactions: int = 300, seed: int = 74747,
              if_empty: bool = False, now: datetime | None = None) -> str:
    """Load the demo and return a report for the operator: counts and lookups to try."""
    started = time.perf_counter()
    existing = transactions_present(core.db)
    if if_empty and existing:
        return (f"demo data: not loaded, the database already has {existing} "
                f"transactions (--if-empty)")
    plan = plan_demo(seed=seed, transactions=transactions, now=now or datetime.now(UTC),
                     default_reply_days=core.config.scheduler.overdue_reply_days)
    clash = _first_present(core, [txn.number for txn in plan.transactions])
    if clash:
        return (f"demo data: not loaded, transaction {clash} already exists (demo data "
                f"loaded before?). Load it into an empty database.")

    for code, body in plan.departments:
        core.upsert_department(code, body)
    for code, body in plan.agencies:
        core.upsert_agency(code, body)
    for code, body in plan.employees:
        core.upsert_employee(code, body)
    events = expired = 0
    for first in range(0, len(plan.transactions), BATCH):
        with core.db.write.begin() as session:
            for txn in plan.transactions[first:first + BATCH]:
                for payload in txn.events:
                    lifecycle.apply_event(session, parse_event(payload), payload, core.config)
                    events += 1
            expired += _expire_notifications(session)
            _silence_overdue(session, [txn.number for txn in
                                       plan.transactions[first:first + BATCH]])
    return _report(plan, seed, events, expired, time.perf_counter() - started)


def transactions_present(db: Database) -> int:
    """How many transactions the database holds (``demo-data --if-empty`` loads nothing
    into a database that has any)."""
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Transaction)) or 0


def _first_present(core: DemoTarget, numbers: list[str]) -> str | None:
    with core.db.read() as session:
        for first in range(0, len(numbers), 500):
            found = session.scalar(select(func.min(Transaction.number)).where(
                Transaction.number.in_(numbers[first:first + 500])))
            if found:
                return found
    return None


def _expire_notifications(session: Session) -> int:
    """Mark this batch's demo messages expired before commit: no sender ever sees them."""
    result = cast(CursorResult[Any], session.execute(
        update(Notification)
        .where(Notification.cause_key.startswith(f"event:{EVENT_PREFIX}", autoescape=True),
               Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.EXPIRED, last_error=NOT_SENT),
        execution_options={"synchronize_session": False}))
    return result.rowcount


def _silence_overdue(session: Session, numbers: list[str]) -> int:
    """Stop the overdue clocks of this batch before commit: no scan ever messages the demo's
    managers, however long the gateway runs."""
    awaiting = session.scalars(select(Transaction.id).where(
        Transaction.number.in_(numbers), Transaction.reply_expected == true()))
    return overdue.silence(session, list(awaiting), NOT_SENT)


def _report(plan: DemoPlan, seed: int, events: int, expired: int, seconds: float) -> str:
    stages = plan.stages()
    statuses: Counter[str] = Counter()
    for stage, count in stages.items():
        statuses[STATUS_OF_STAGE.get(stage, stage)] += count
    lines = [
        f"demo data loaded in {seconds:.1f} s (seed {seed}):",
        f"  {len(plan.departments)} departments, {len(plan.agencies)} agencies, "
        f"{len(plan.employees)} employees",
        f"  {len(plan.transactions)} transactions, {events} lifecycle events",
        "  transactions by status:",
    ]
    for status in ("registered", "referred", "assigned", "issued", "reply_received",
                   "closed"):
        note = ""
        if status == "issued":
            waiting = stages["awaiting_reply"] + stages["overdue"]
            note = f"  ({waiting} awaiting a reply, {stages['overdue']} of them overdue)"
        lines.append(f"    {status:<15}{statuses[status]:>5}{note}")
    lines += [
        f"  {expired} notifications of the demo marked expired: nothing is sent to the "
        f"demo's made-up numbers (nor overdue follow-ups to its managers).",
        "",
        "Try a lookup: web portal or kiosk with the number and the national ID;",
        "SMS to the short code or the IVR from the mobile (where a test phone has it).",
        f"  {'number':<10}{'national ID':<13}{'mobile':<12}stage",
    ]
    for txn in plan.lookups():
        lines.append(f"  {txn.number:<10}{txn.national_id:<13}{txn.mobile or '-':<12}"
                     f"{STAGE_LABELS[txn.stage]}")
    return "\n".join(lines)
