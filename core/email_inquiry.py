"""Inquiries by e-mail ("your e-mail acts for you"): store each mail with its answer
queued in the outbox, in one transaction, before the mailbox is told the mail is done.

Channel-neutral: the IMAP adapter parses a mail into an ``InboundEmail`` and calls
``receive``; the SMTP sender drains the outbox's "email" rows and threads each reply with
``reply_envelope``. Each inbound Message-ID is stored once (the unique dedupe key), and
the reply is queued in the same transaction, so a mail seen twice, or again after a crash
between storing it and marking it read, is answered once. A national ID in a mail is used
to verify the sender and never stored: the stored text has it masked.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.email_rules import (
    Section,
    find_national_id,
    find_transaction_numbers,
    loop_reason,
    plain_text,
    redact_national_ids,
    reply_references,
    reply_sections,
    reply_subject,
)
from core.messaging import outbox
from core.messaging.inbound import ANSWERED, IGNORED, Received
from core.messaging.models import EmailExchange, InboundMessage, MailboxCursor, Notification
from core.platform.db import Database, utcnow
from core.transactions.inquiry import InquiryRequest

if TYPE_CHECKING:
    from core.service import Core

log = logging.getLogger(__name__)

CHANNEL = "email"
_SENDER_MAX, _RECIPIENT_MAX = 254, 64
# Header values kept for threading the reply (RFC 5322's line limit).
_HEADER_MAX = 998
RATE_LIMITED = "rate limit: replies per hour"
# The circuit breaker: an address that reached the hourly limit gets nothing for a day
# (a loop no header reveals keeps going; one a day still answers would never stop).
SILENCED = "rate limit: silenced for a day"
SILENCE = timedelta(days=1)
# What is kept of a mail's text: enough for staff to see what was asked.
_STORED_TEXT_MAX = 20_000


@dataclass(frozen=True)
class InboundEmail:
    """A citizen's mail as the adapter understood it."""

    sender: str  # the From address
    subject: str
    text: str  # the new text only: no quoted history, HTML converted, attachments left out
    headers: dict[str, str] = field(default_factory=dict)  # lower-case name -> value
    message_id: str | None = None
    references: str = ""
    recipient: str = ""
    # Identifies a mail without a Message-ID (a digest of its bytes).
    digest: str = ""
    oversized: bool = False


@dataclass(frozen=True)
class EmailRules:
    """The responder's settings the core needs."""

    own_addresses: frozenset[str] = frozenset()
    # Replies one address may get per hour: a backstop against loops no header reveals.
    max_replies_per_hour: int = 10


def dedupe_key(mail: InboundEmail) -> str:
    """One key per mail: a digest of the sender and the Message-ID as written (whitespace
    removed), else of the mail's bytes. The sender is part of it, so another's mail that
    reuses a Message-ID is not taken for a duplicate; "<>" or none falls back to bytes."""
    message_id = "".join((mail.message_id or "").split())
    sender = mail.sender.strip().lower()
    if message_id.strip("<>"):
        source = f"{sender}\n{message_id}"
        return "email:id:" + hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    return "email:digest:" + (mail.digest or hashlib.sha256(
        f"{mail.sender}\n{mail.subject}\n{mail.text}".encode("utf-8", "replace")).hexdigest())


def already_received(db: Database, mail: InboundEmail) -> Received | None:
    key = dedupe_key(mail)
    with db.read() as session:
        row = session.execute(select(InboundMessage.id, InboundMessage.status)
                              .where(InboundMessage.dedupe_key == key)).one_or_none()
    return Received(row.id, row.status, duplicate=True) if row else None


def receive(core: Core, mail: InboundEmail, rules: EmailRules) -> Received:
    """Store one mail and queue its reply (or record why it gets none), in one transaction.

    A mail stored before (same dedupe key) is returned as a duplicate, nothing added. Only a
    database failure raises: then the adapter must leave the mail unread in the mailbox.
    """
    seen = already_received(core.db, mail)
    if seen is not None:
        return seen
    sender = _safe(mail.sender.strip().lower(), _SENDER_MAX)
    reason = loop_reason(mail.headers, sender, rules.own_addresses)
    if reason is None and _limited_lately(core.db, sender):
        reason = SILENCED
    if reason is None and _replies_last_hour(core.db, sender) >= rules.max_replies_per_hour:
        reason = RATE_LIMITED
    if reason is not None:
        log.info("e-mail from %s gets no reply: %s", _masked(sender), reason)
        return _store(core, mail, sender, status=IGNORED, note=reason, sections=None)
    sections = _reply(core, mail, sender)
    return _store(core, mail, sender, status=ANSWERED,
                  note="oversized" if mail.oversized else None, sections=sections)


def _reply(core: Core, mail: InboundEmail, sender: str) -> list[Section]:
    tz = core.config.tz
    if mail.oversized:
        return reply_sections([], tz, oversized=True)
    asked = f"{mail.subject}\n{mail.text}"
    national_id = find_national_id(asked)
    answers = []
    for number in find_transaction_numbers(asked, core.config.phone_region):
        answers.append((number, core.inquire(InquiryRequest(
            channel=CHANNEL, number_text=number, email=sender, national_id=national_id,
            origin=sender))))
    return reply_sections(answers, tz)


def _store(core: Core, mail: InboundEmail, sender: str, *, status: str, note: str | None,
           sections: list[Section] | None) -> Received:
    key = dedupe_key(mail)
    now = utcnow()
    message_id = _safe(mail.message_id or "", _HEADER_MAX) or None
    stored_text = redact_national_ids(f"{mail.subject}\n\n{mail.text}")[:_STORED_TEXT_MAX]
    try:
        with core.db.write.begin() as session:
            message = InboundMessage(
                channel=CHANNEL, dedupe_key=key, sender=sender,
                recipient=_safe(mail.recipient.strip().lower(), _RECIPIENT_MAX),
                text=_safe(stored_text, _STORED_TEXT_MAX), received_at=now, status=status,
                answered_at=now if status == ANSWERED else None)
            session.add(message)
            session.flush()
            exchange = EmailExchange(
                inbound_id=message.id, message_id=message_id,
                reply_subject=_safe(reply_subject(redact_national_ids(mail.subject)),
                                    _HEADER_MAX),
                references=_safe(reply_references(_safe(mail.references, _HEADER_MAX * 4),
                                                  message_id), _HEADER_MAX * 4),
                sections=[{"lang": s.lang, "text": s.text} for s in sections or []],
                note=note)
            if sections is not None:
                reply = outbox.enqueue(
                    session, cause_key=f"email:{message.id}:answer", kind="answer",
                    audience="citizen", recipient=sender, language=sections[0].lang,
                    body=plain_text(sections), channel=CHANNEL,
                    priority=outbox.PRIORITY_ANSWER)
                session.flush()
                exchange.notification_id = reply.id
            session.add(exchange)
        return Received(id=message.id, status=status)
    except IntegrityError:
        # Another poller stored the same mail a moment ago: it answered it.
        seen = already_received(core.db, mail)
        if seen is None:
            raise
        return seen


def _safe(text: str, limit: int) -> str:
    """A value PostgreSQL stores: no NUL (a text column refuses it), no lone surrogate,
    at most ``limit`` characters."""
    text = text.replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit]


def _replies_last_hour(db: Database, sender: str) -> int:
    since = utcnow() - timedelta(hours=1)
    with db.read() as session:
        return session.scalar(
            select(func.count()).select_from(InboundMessage)
            .where(InboundMessage.sender == sender, InboundMessage.received_at >= since,
                   InboundMessage.channel == CHANNEL, InboundMessage.status == ANSWERED))


def _limited_lately(db: Database, sender: str) -> bool:
    """Whether this address reached the hourly limit within the last day."""
    since = utcnow() - SILENCE
    with db.read() as session:
        return session.scalar(
            select(InboundMessage.id).join(EmailExchange,
                                           EmailExchange.inbound_id == InboundMessage.id)
            .where(InboundMessage.sender == sender, InboundMessage.received_at >= since,
                   InboundMessage.channel == CHANNEL, EmailExchange.note == RATE_LIMITED)
            .limit(1)) is not None


def _masked(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"


# --- the sender's side -------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyEnvelope:
    """What threads a reply to the citizen's mail, and its sections for the HTML part."""

    subject: str
    in_reply_to: str | None
    references: str
    sections: tuple[Section, ...]


def queued_at(db: Database, notification_id: int) -> datetime | None:
    """When an outbox row was queued: with its id, what makes our Message-ID unique even
    after a database restore or on a second install (ids repeat, times do not)."""
    with db.read() as session:
        return session.scalar(select(Notification.created_at)
                              .where(Notification.id == notification_id))


def reply_envelope(db: Database, notification_id: int) -> ReplyEnvelope | None:
    """The envelope of an outbox row that answers a mail; None for any other row."""
    with db.read() as session:
        row = session.scalars(select(EmailExchange)
                              .where(EmailExchange.notification_id == notification_id)).first()
        if row is None:
            return None
        return ReplyEnvelope(
            subject=row.reply_subject, in_reply_to=row.message_id, references=row.references,
            sections=tuple(Section(s["lang"], s["text"]) for s in row.sections or []))


# --- the poller's place in a folder ------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    uidvalidity: int
    last_uid: int


def cursor(db: Database, mailbox: str) -> Cursor | None:
    with db.read() as session:
        row = session.get(MailboxCursor, mailbox)
        return Cursor(row.uidvalidity, row.last_uid) if row else None


def save_cursor(db: Database, mailbox: str, uidvalidity: int, last_uid: int) -> None:
    """Remember the last UID whose outcome is committed (never moves backwards within one
    UIDVALIDITY)."""
    with db.write.begin() as session:
        row = session.get(MailboxCursor, mailbox)
        if row is None:
            session.add(MailboxCursor(mailbox=mailbox, uidvalidity=uidvalidity,
                                      last_uid=last_uid, updated_at=utcnow()))
        elif row.uidvalidity != uidvalidity or last_uid > row.last_uid:
            row.uidvalidity, row.last_uid = uidvalidity, last_uid
