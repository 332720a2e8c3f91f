"""The e-mail exchanges the core keeps: each citizen's mail stored once (by the dedupe key
the channel gives it) with its reply queued in the outbox in the same transaction, the
per-sender counts the responder's rate policy reads, and what the SMTP sender needs to
thread a reply (its envelope, and when it was queued).

Which mail gets which answer is the e-mail channel's policy (``channels.email.inquiry``);
this module only stores what it decided and answers its questions about the past.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import (
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from core.messaging import outbox
from core.messaging.bilingual import Section, plain_text
from core.messaging.inbound import ANSWERED, IGNORED, Received
from core.messaging.models import (
    EmailExchange,
    EmailHtml,
    EmailThread,
    InboundMessage,
    Notification,
)
from core.platform.clock import utcnow
from core.platform.db import Database

CHANNEL = "email"
# Column sizes of inbound_messages (PostgreSQL enforces them, SQLite does not).
SENDER_MAX, RECIPIENT_MAX = 254, 64
# Header values kept for threading the reply (RFC 5322's line limit); References may
# hold a few lines' worth.
HEADER_MAX = 998
REFERENCES_MAX = HEADER_MAX * 4
# What is kept of a mail's text: enough for staff to see what was asked.
TEXT_MAX = 20_000
# An HTML part written by its author (a digest's tables): far below any mail limit.
HTML_MAX = 500_000
# Message-IDs looked up of a reply's References (a thread's newest ones).
THREAD_IDS_MAX = 10

# The store's failures as the channel tells them apart without importing the driver: the
# database away (leave the mail unread, try again next poll), and any database error
# (otherwise about this mail: a value the database refuses).
DATABASE_AWAY: tuple[type[Exception], ...] = (OperationalError, InterfaceError,
                                              DisconnectionError)
DATABASE_ERROR = SQLAlchemyError


def storable(text: str, limit: int) -> str:
    """A value PostgreSQL stores: no NUL (a text column refuses it), no lone surrogate,
    at most ``limit`` characters. Cleaning twice changes nothing."""
    text = text.replace("\x00", "")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:limit]


@dataclass(frozen=True)
class MailRecord:
    """One mail as the responder decided it: what is kept of it and what it gets.
    ``MailStore.record`` makes every value ``storable`` (the text cut at ``TEXT_MAX``
    first), so the channel hands over what it has."""

    dedupe_key: str
    sender: str
    recipient: str
    text: str  # national IDs already masked: they are never stored
    message_id: str | None
    reply_subject: str
    references: str
    # Why the mail gets no reply (a loop rule, the rate limit), or "oversized".
    note: str | None = None
    # The reply (the mail is ANSWERED), or None: no reply (IGNORED, ``note`` says why).
    sections: list[Section] | None = None
    # The outbox kind of the reply (its subject: ``core.messaging.subjects``).
    kind: str = "answer"
    # Answered apart, in the transaction that acted on it (a Citizen's Voice notice): the
    # mail is ANSWERED (counted by the rate policy) without a reply of its own here.
    answered_apart: bool = False


@dataclass(frozen=True)
class ReplyEnvelope:
    """What threads a reply to the citizen's mail, and its sections for the HTML part."""

    subject: str
    in_reply_to: str | None
    references: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Composition:
    """An outbox row's mail as the sender writes it: when it was queued (with its id,
    what makes our Message-ID unique even after a database restore or on a second
    install: ids repeat, times do not), the envelope of the mail it answers (None for
    any other row), and the HTML its author wrote (None: made from the body)."""

    queued_at: datetime | None
    envelope: ReplyEnvelope | None
    html: str | None


class MailStore:
    """The e-mail channel's tables, over the core's database: the channel is given one of
    these and never sees a session or a model."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def already_received(self, dedupe_key: str) -> Received | None:
        """The mail stored before under this key (a duplicate), or None."""
        with self.db.read() as session:
            row = session.execute(select(InboundMessage.id, InboundMessage.status)
                                  .where(InboundMessage.dedupe_key == dedupe_key)
                                  ).one_or_none()
        return Received(row.id, row.status, duplicate=True) if row else None

    def replies_within(self, sender: str, window: timedelta) -> int:
        """How many of this address's mails were answered within ``window`` until now."""
        since = utcnow() - window
        with self.db.read() as session:
            return session.scalar(
                select(func.count()).select_from(InboundMessage)
                .where(InboundMessage.sender == sender, InboundMessage.received_at >= since,
                       InboundMessage.channel == CHANNEL,
                       InboundMessage.status == ANSWERED)) or 0

    def noted_within(self, sender: str, note: str, window: timedelta) -> bool:
        """Whether a mail of this address was stored with ``note`` within ``window``."""
        since = utcnow() - window
        with self.db.read() as session:
            return session.scalar(
                select(InboundMessage.id).join(EmailExchange,
                                               EmailExchange.inbound_id == InboundMessage.id)
                .where(InboundMessage.sender == sender, InboundMessage.received_at >= since,
                       InboundMessage.channel == CHANNEL, EmailExchange.note == note)
                .limit(1)) is not None

    def record(self, mail: MailRecord) -> Received:
        """Store one mail and queue its reply (when it has sections), in one transaction.

        A mail stored meanwhile under the same key (another poller) is returned as a
        duplicate. Only a database failure raises: then the mail must stay unread.
        """
        now = utcnow()
        status = ANSWERED if mail.sections is not None or mail.answered_apart else IGNORED
        message_id = storable(mail.message_id or "", HEADER_MAX) or None
        try:
            with self.db.write.begin() as session:
                message = InboundMessage(
                    channel=CHANNEL, dedupe_key=mail.dedupe_key,
                    sender=storable(mail.sender, SENDER_MAX),
                    recipient=storable(mail.recipient, RECIPIENT_MAX),
                    text=storable(mail.text[:TEXT_MAX], TEXT_MAX), received_at=now,
                    status=status, answered_at=now if status == ANSWERED else None)
                session.add(message)
                session.flush()
                exchange = EmailExchange(
                    inbound_id=message.id, message_id=message_id,
                    reply_subject=storable(mail.reply_subject, HEADER_MAX),
                    references=storable(mail.references, REFERENCES_MAX),
                    sections=[{"lang": s.lang, "text": s.text} for s in mail.sections or []],
                    note=mail.note)
                if mail.sections is not None:
                    reply = outbox.enqueue(
                        session, cause_key=f"email:{message.id}:answer", kind=mail.kind,
                        audience="citizen", recipient=message.sender,
                        language=mail.sections[0].lang, body=plain_text(mail.sections),
                        channel=CHANNEL, priority=outbox.PRIORITY_ANSWER)
                    session.flush()
                    exchange.notification_id = reply.id
                session.add(exchange)
            return Received(id=message.id, status=status)
        except IntegrityError:
            # Another poller stored the same mail a moment ago: it answered it.
            seen = self.already_received(mail.dedupe_key)
            if seen is None:
                raise
            return seen

    def compositions(self, notification_ids: Sequence[int]) -> dict[int, Composition]:
        """What the sender needs to write each of these outbox rows as a mail, read at
        once for a round of replies (one session, a statement per table, not three
        round trips per reply)."""
        ids = list(dict.fromkeys(notification_ids))
        if not ids:
            return {}
        with self.db.read() as session:
            queued = dict(session.execute(select(Notification.id, Notification.created_at)
                                          .where(Notification.id.in_(ids))).all())
            html = dict(session.execute(select(EmailHtml.notification_id, EmailHtml.html)
                                        .where(EmailHtml.notification_id.in_(ids))).all())
            envelopes: dict[int, ReplyEnvelope] = {}
            for row in session.scalars(select(EmailExchange).where(
                    EmailExchange.notification_id.in_(ids))
                    .order_by(EmailExchange.inbound_id)):
                if row.notification_id is None:
                    continue
                envelopes.setdefault(row.notification_id, ReplyEnvelope(
                    subject=row.reply_subject, in_reply_to=row.message_id,
                    references=row.references,
                    sections=tuple(Section(s["lang"], s["text"])
                                   for s in row.sections or [])))
            threads = [i for i in ids if i not in envelopes]
            if threads:
                for thread in session.scalars(select(EmailThread).where(
                        EmailThread.notification_id.in_(threads))):
                    envelopes[thread.notification_id] = ReplyEnvelope(
                        subject="", in_reply_to=thread.in_reply_to,
                        references=thread.references, sections=())
        return {i: Composition(queued.get(i), envelopes.get(i), html.get(i)) for i in ids}


def attach_html(session: Session, notification_id: int, html: str) -> None:
    """Send the e-mail notification ``notification_id`` (queued in ``session``'s
    transaction) with ``html`` as its HTML part, in that transaction; its plain-text
    body stays the other alternative."""
    session.add(EmailHtml(notification_id=notification_id, html=storable(html, HTML_MAX)))


def thread(session: Session, notification: Notification, references: str) -> None:
    """Write the e-mail ``notification`` (queued in ``session``) into the thread
    ``references`` (a mail's References, the mail it answers last): the SMTP sender
    threads it as a reply to that mail."""
    references = storable(" ".join(references.split()), REFERENCES_MAX)
    if not references:
        return
    session.flush()
    session.add(EmailThread(notification_id=notification.id,
                            in_reply_to=references.split()[-1], references=references))


def sent_as(session: Session, message_ids: list[str]) -> list[str]:
    """The cause keys of the e-mails we sent under any of ``message_ids`` (as a reply's
    In-Reply-To and References name them): what a citizen's reply answers."""
    ids = [message_id.strip().strip("<>") for message_id in message_ids]
    ids = list(dict.fromkeys(i for i in ids if i))[:THREAD_IDS_MAX * 2]
    if not ids:
        return []
    return list(session.scalars(select(Notification.cause_key).where(
        Notification.provider_message_id.in_(ids), Notification.channel == CHANNEL)))
