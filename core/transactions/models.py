"""Transactions, their history, the inquiry log and the overdue clocks."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.directory.models import Agency, Department, Employee
from core.platform.db import utcnow
from core.platform.models import Base, BigId


class Status(enum.StrEnum):
    """Where a transaction stands; the order is the lifecycle's."""

    REGISTERED = "registered"
    REFERRED = "referred"
    ASSIGNED = "assigned"
    ISSUED = "issued"
    REPLY_RECEIVED = "reply_received"
    CLOSED = "closed"


class Transaction(Base):
    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))
    registered_at: Mapped[datetime]
    applicant_name: Mapped[str] = mapped_column(String(200), default="")
    # "My transactions": an applicant's transactions, newest first (core/transactions).
    applicant_national_id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    applicant_mobile: Mapped[str | None] = mapped_column(String(20))
    applicant_email: Mapped[str | None] = mapped_column(String(254))
    applicant_language: Mapped[str] = mapped_column(String(2), default="ar")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    outgoing_number: Mapped[str | None] = mapped_column(String(64))
    destination_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    issued_at: Mapped[datetime | None]
    reply_expected: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_received_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # occurred_at of the newest event applied; older events are out of order.
    last_event_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")
    employee: Mapped[Employee | None] = relationship(lazy="joined")
    destination_agency: Mapped[Agency | None] = relationship(lazy="joined")
    events: Mapped[list[TransactionEvent]] = relationship(
        back_populates="transaction", order_by="TransactionEvent.id", lazy="raise",
    )


class TransactionEvent(Base):
    """The append-only history: one row per lifecycle event accepted from the records system."""

    __tablename__ = "transaction_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), unique=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The event as received, less the national ID; its digest tells a replay from a conflict.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_digest: Mapped[str] = mapped_column(String(64))
    # Display fields for the timeline, resolved when the event was applied.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))

    transaction: Mapped[Transaction] = relationship(back_populates="events")


class InquiryLog(Base):
    """Every inquiry on every channel: who (masked or hashed), outcome, how fast."""

    __tablename__ = "inquiry_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(16))
    requester_kind: Mapped[str] = mapped_column(String(12))
    # A keyed hash of the requester (mobile, e-mail, ID or address). No query reads the log
    # by it (the rate limits count in failure_counts), so it has no index: one was the
    # log's largest and more than halved its rows written a second (bench/big.py).
    requester_key: Mapped[str] = mapped_column(String(64))
    requester_masked: Mapped[str] = mapped_column(String(64), default="")
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    latency_ms: Mapped[float] = mapped_column(default=0.0)


class OverdueFollowUp(Base):
    """The overdue clock of one outgoing transaction awaiting an agency's reply.

    The row appears with the first message to the department manager (cycle 1) and counts
    the messages since; ``next_reminder_at`` is when the next is due, None once the clock
    stopped (a reply, the transaction closed, or ``stopped_reason`` such as demo data).
    Message N's outbox cause is "overdue:<transaction id>:<N>", written with the row's
    change in one database transaction.
    """

    __tablename__ = "overdue_followups"

    transaction_id: Mapped[int] = mapped_column(BigId, ForeignKey("transactions.id"),
                                                primary_key=True)
    cycles: Mapped[int] = mapped_column(Integer, default=0)
    first_notified_at: Mapped[datetime | None]
    last_notified_at: Mapped[datetime | None]
    next_reminder_at: Mapped[datetime | None] = mapped_column(index=True)
    stopped_reason: Mapped[str | None] = mapped_column(String(100))


# The overdue scan asks, department by department, for transactions awaiting a reply
# issued before that department's cutoff: one index range per department.
Index("ix_transactions_awaiting_by_department", Transaction.department_id, Transaction.status,
      Transaction.reply_expected, Transaction.issued_at)

# The dashboards' counts: a department's transactions registered, and issued, in a period;
# the registration time too, so that the times from registration to issue are read from
# the index alone (bench/big.py, 10,000,000 rows: the year of 20 departments in 1,108 ms
# from the table, 250 ms from the index).
Index("ix_transactions_department_registered", Transaction.department_id,
      Transaction.registered_at)
Index("ix_transactions_department_issued_registered", Transaction.department_id,
      Transaction.issued_at, Transaction.registered_at)

# The dashboard's inquiries by channel and by hour in a period, from the index alone
# (bench/big.py, a year of a 10,000,000-row log: by channel 280-380 ms from the table,
# 140 ms from this index).
Index("ix_inquiry_log_at_channel", InquiryLog.at, InquiryLog.channel)

# "My transactions" by the mobile the network authenticated (the SMS keyword): without
# it, each such SMS read the whole table (1.4 s at 10,000,000 transactions; 3 ms with it).
Index("ix_transactions_applicant_mobile", Transaction.applicant_mobile)
