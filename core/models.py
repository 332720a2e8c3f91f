"""The tables: reference data, transactions and their history, the outbox, logs, tokens."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.db import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite wants INTEGER PRIMARY KEY for its rowid alias; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


class Status(enum.StrEnum):
    """Where a transaction stands; the order is the lifecycle's."""

    REGISTERED = "registered"
    REFERRED = "referred"
    ASSIGNED = "assigned"
    ISSUED = "issued"
    REPLY_RECEIVED = "reply_received"
    CLOSED = "closed"


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ar: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    manager_name: Mapped[str | None] = mapped_column(String(200))
    manager_mobile: Mapped[str | None] = mapped_column(String(20))
    # Days an outgoing transaction waits for an agency's reply; None: the configured default.
    reply_days: Mapped[int | None] = mapped_column(Integer)
    # How reply_days count: "calendar" or "working" days; None: the configured default.
    reply_day_count: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Employee(Base):
    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    mobile: Mapped[str | None] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")


class Agency(Base):
    """An external agency outgoing transactions are sent to (a ministry, a municipality)."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ar: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Transaction(Base):
    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)
    registered_at: Mapped[datetime]
    applicant_name: Mapped[str] = mapped_column(String(200), default="")
    applicant_national_id_hash: Mapped[str | None] = mapped_column(String(64))
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

    __table_args__ = (
        # The overdue scan: issued, awaiting a reply, by issue date.
        Index("ix_transactions_awaiting_reply", "status", "reply_expected", "issued_at"),
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


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"


class Notification(Base):
    """The outbox: written in the same database transaction as its cause, sent later."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # One cause, one message: "event:<event_id>:<kind>" or "overdue:<txn>:<cycle>".
    cause_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    # "citizen" or "staff": quiet hours apply to citizens.
    audience: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    body: Mapped[str] = mapped_column(Text)
    # Lower sends first: 0 answers to inquiries, 5 staff, 10 citizen notifications.
    priority: Mapped[int] = mapped_column(Integer, default=10)
    status: Mapped[str] = mapped_column(String(12), default=NotificationStatus.PENDING)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When a sender took it (status "sending"); a stale claim means the sender died.
    claimed_at: Mapped[datetime | None]
    # Who took it: a sender's heartbeat holder (an SMS channel's lease), or null. A claim
    # whose holder's heartbeat has expired is given back at once, not after the stale age.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # The first segment's provider id: what a delivery receipt is matched on (equality).
    receipt_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # For a message in parts retried after some were accepted: the SMSC's id of each part
    # accepted so far (null where not yet), so a retry sends only the parts still missing.
    segments_accepted: Mapped[list[str | None] | None] = mapped_column(JSON)

    __table_args__ = (
        # The claim walks pending rows of a channel in sending order (priority, then id)
        # and stops at its limit: no sort of the whole backlog per claim.
        Index("ix_notifications_due", "status", "channel", "priority", "id"),
    )


class InquiryLog(Base):
    """Every inquiry on every channel: who (masked or hashed), outcome, how fast."""

    __tablename__ = "inquiry_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(16))
    requester_kind: Mapped[str] = mapped_column(String(12))
    # A keyed hash of the requester (mobile, e-mail, ID or address), for rate limits.
    requester_key: Mapped[str] = mapped_column(String(64), index=True)
    requester_masked: Mapped[str] = mapped_column(String(64), default="")
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    latency_ms: Mapped[float] = mapped_column(default=0.0)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class InboundMessage(Base):
    """A message a citizen sent (an SMS to the short code): stored before it is
    acknowledged, answered from here, so a crash between the two loses nothing."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    # What makes a redelivery of the same message recognisable (the adapter decides).
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    sender: Mapped[str] = mapped_column(String(254))
    recipient: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # "received" until answered; "answered" or "ignored" (delivery receipts never land here).
    status: Mapped[str] = mapped_column(String(12), default="received", index=True)
    answered_at: Mapped[datetime | None]


class Lease(Base):
    """A named piece of work only one process may do at a time (the overdue scan, the
    mailbox poller, the SMPP bind), held by whoever renewed it last before it expired.

    ``renewed_at`` doubles as the holder's heartbeat: /healthz on any machine reads it.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    renewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # What the holder wants an operator to see (bind state, last poll), free-form.
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class KioskHeartbeat(Base):
    """The last heartbeat of each kiosk terminal: which are alive, and in what state.

    One row per kiosk id, overwritten by every heartbeat; nothing about a citizen (the
    last inquiry's time only, never what was asked).
    """

    __tablename__ = "kiosk_heartbeats"

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The name of the kiosk token that sent it (who the gateway believes it is).
    token_name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(40), default="")
    printer: Mapped[str] = mapped_column(String(200), default="")
    last_inquiry_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime]


class IvrCall(Base):
    """One call to the toll-free line: where the caller is in the menus (kept here between
    Twilio's webhooks, by CallSid) and, once it ends, its log line.

    Holds no national ID and only a masked caller number. ``replay`` is the last answer
    spoken, for "press 1 to hear it again"; it is emptied when the call ends.
    """

    __tablename__ = "ivr_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    # "ivr" for calls through Twilio, "ivr-sim" for the staff call simulator.
    channel: Mapped[str] = mapped_column(String(10), default="ivr")
    caller_masked: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str | None] = mapped_column(String(2))
    node: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    number: Mapped[str | None] = mapped_column(String(20))
    replay: Mapped[str | None] = mapped_column(Text)
    # The menus visited, in order, space-separated ("language number status options").
    path: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None]
    duration_seconds: Mapped[int | None] = mapped_column(Integer)


class Holiday(Base):
    """A day off the operator declared (Eid dates are set by sighting): working-day reply
    periods skip it, as they skip Friday and Saturday."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")


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


class EmailExchange(Base):
    """The e-mail side of an inbound message and of the reply it got: what the SMTP sender
    needs to thread the reply (subject, In-Reply-To, References) and to write it in both
    languages, plus why no reply was sent when none was."""

    __tablename__ = "email_exchanges"

    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"),
                                            primary_key=True)
    # The citizen's Message-ID as written (None when the mail had none).
    message_id: Mapped[str | None] = mapped_column(Text)
    reply_subject: Mapped[str] = mapped_column(Text, default="")
    # The References header the reply carries: the thread so far plus the citizen's mail.
    references: Mapped[str] = mapped_column(Text, default="")
    # The reply's sections, Arabic first: [{"lang": "ar", "text": "..."}, ...].
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Why the mail was not answered (a loop rule, the rate limit), or "oversized".
    note: Mapped[str | None] = mapped_column(String(64))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"),
                                                        unique=True)


class MailboxCursor(Base):
    """How far the mailbox poller has read a folder: the last UID whose outcome is
    committed, valid only while the folder's UIDVALIDITY is unchanged."""

    __tablename__ = "mailbox_cursors"

    # "user@host:port/folder": one cursor per folder of each mailbox.
    mailbox: Mapped[str] = mapped_column(String(255), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# The e-mail responder's per-sender backstop counts one address's recent replies.
Index("ix_inbound_messages_sender_received", InboundMessage.sender, InboundMessage.received_at)


class InboundPart(Base):
    """One part of a multi-part SMS, stored before it is acknowledged: an SMSC never
    redelivers a part it was told arrived, so a part held only in memory dies with the
    process. The message is stored from its parts, in the transaction that brings the last
    one (or, incomplete, once the first has waited the reassembly timeout).

    ``payload`` is the part without its header, undecoded: a character may straddle two
    parts (a UTF-16 surrogate pair, a GSM-7 escape), so the adapter decodes the joined
    bytes; ``coding`` is what it needs for that (SMPP's data_coding). ``joined_at`` is set
    when the message is stored; the row stays as long again, so a redelivered part is
    recognised rather than taken for the start of another message.
    """

    __tablename__ = "inbound_parts"
    __table_args__ = (UniqueConstraint("sender", "reference", "total", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The sender as the SMSC wrote it: with reference and total, what ties parts together.
    sender: Mapped[str] = mapped_column(String(64))
    reference: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(64), default="")
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    coding: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    joined_at: Mapped[datetime | None]


# The reassembly pass asks for parts still waiting (joined_at null) received before a
# cutoff, and for joined parts old enough to forget.
Index("ix_inbound_parts_joined_at_received_at", InboundPart.joined_at, InboundPart.received_at)
