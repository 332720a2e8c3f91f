"""The outbox (notifications), stored inbound messages and their parts, e-mail exchanges,
mailbox cursors, e-mail threads and one-time SMS codes.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.platform.db import utcnow
from core.platform.models import Base, BigId


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


class OneTimeCode(Base):
    """A one-time SMS code proving that whoever types it holds a mobile
    (``core.messaging.codes``): only its keyed hash is kept. ``live_key`` is set while
    the code may still be typed, so that a (purpose, mobile) has one live code at most,
    on every machine (the unique index); ``ended_at`` once it is used, replaced or dead."""

    __tablename__ = "one_time_codes"
    __table_args__ = (UniqueConstraint("live_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    # What the code is about (a case's tracking number), when the purpose has a subject.
    subject: Mapped[str | None] = mapped_column(String(100))
    mobile: Mapped[str] = mapped_column(String(20))
    live_key: Mapped[str | None] = mapped_column(String(80))
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    sends: Mapped[int] = mapped_column(SmallInteger, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None] = mapped_column(index=True)


class EmailThread(Base):
    """The thread an e-mail notification is written in: a Citizen's Voice notice about a
    case filed by e-mail goes into the citizen's own thread (``In-Reply-To`` their first
    mail, ``References`` the thread so far), as a reply to an inquiry does
    (``EmailExchange``)."""

    __tablename__ = "email_threads"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"),
                                                 primary_key=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references: Mapped[str] = mapped_column(Text, default="")


class EmailHtml(Base):
    """The HTML part an e-mail notification is sent with, written by its author (a
    leader's weekly digest with its tables and bars) rather than made by the sender from
    the plain-text body. The outbox row's ``body`` stays the plain-text alternative."""

    __tablename__ = "email_html_parts"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"),
                                                 primary_key=True)
    html: Mapped[str] = mapped_column(Text)
