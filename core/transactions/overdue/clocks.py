"""Stopping the overdue clocks: by a reply's or a close's own event (``stop_clock``), by a
sweep for those stopped behind the events' back (``stop_answered``), or before they ever
start (``silence``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import CursorResult, case, exists, select, update
from sqlalchemy.orm import Session

from core.messaging.models import Notification, NotificationStatus
from core.platform.db import Database
from core.transactions.models import OverdueFollowUp, Status, Transaction
from core.transactions.overdue.message import cause_key

STOPPED_BY = {Status.REPLY_RECEIVED: "reply received", Status.CLOSED: "closed"}
# The clocks' table, for Core statements on a connection (no ORM objects on these paths).
_CLOCKS = OverdueFollowUp.__table__
_OUTBOX = Notification.__table__


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
