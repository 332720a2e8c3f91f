"""The outbox as staff see it: the newest messages, what happened to each and why.

Kind, audience, the recipient masked (never the full number or address), status (a
pending message that already failed once shows as "retrying"), attempts, the last error
(its addresses and numbers masked again: rows stored before reasons were masked), and
the created/sent/delivered times in the configured time zone. Only reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.addresses import mask_email
from core.identity.masking import mask_contacts
from core.identity.phones import mask_mobile
from core.messaging.models import Notification, NotificationStatus
from core.platform.db import Database

LIMIT = 200
RETRYING = "retrying"
STATUSES = (NotificationStatus.PENDING.value, RETRYING, NotificationStatus.SENDING.value,
            NotificationStatus.SENT.value, NotificationStatus.DELIVERED.value,
            NotificationStatus.FAILED.value, NotificationStatus.EXPIRED.value)
MAX_KIND_CHARS = 30  # Notification.kind is String(30)


@dataclass(frozen=True)
class MessageRow:
    id: int
    kind: str
    channel: str
    audience: str
    recipient: str  # masked
    status: str  # as shown: "retrying" for a pending message with attempts
    attempts: int
    last_error: str | None  # masked
    created_at: str
    sent_at: str
    delivered_at: str
    language: str
    body: str


def mask_recipient(recipient: str, channel: str) -> str:
    """The recipient as staff may see it: an address or a number, masked."""
    if channel == "email" or "@" in recipient:
        return mask_email(recipient)
    return mask_mobile(recipient)


def shown_status(status: str, attempts: int) -> str:
    if status == NotificationStatus.PENDING and attempts > 0:
        return RETRYING
    return status


def local_time(moment: datetime | None, tz: ZoneInfo) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in ``tz``; naive datetimes are UTC; empty for None."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def recent_messages(sessions: Callable[[], Session], tz: ZoneInfo, *, status: str | None = None,
                    kind: str | None = None, limit: int = LIMIT) -> list[MessageRow]:
    """The newest ``limit`` outbox messages, newest first, optionally of one status/kind."""
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status == RETRYING:
        query = query.where(Notification.status == NotificationStatus.PENDING,
                            Notification.attempts > 0)
    elif status == NotificationStatus.PENDING:
        query = query.where(Notification.status == NotificationStatus.PENDING,
                            Notification.attempts == 0)
    elif status:
        query = query.where(Notification.status == status)
    if kind:
        query = query.where(Notification.kind == kind)
    with sessions() as session:
        return [
            MessageRow(
                id=row.id, kind=row.kind, channel=row.channel, audience=row.audience,
                recipient=mask_recipient(row.recipient, row.channel),
                status=shown_status(row.status, row.attempts), attempts=row.attempts,
                last_error=mask_contacts(row.last_error) if row.last_error else None,
                created_at=local_time(row.created_at, tz),
                sent_at=local_time(row.sent_at, tz),
                delivered_at=local_time(row.delivered_at, tz), language=row.language,
                body=row.body)
            for row in session.scalars(query)
        ]


def known_kinds(sessions: Callable[[], Session]) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(Notification.kind).distinct()))


class MessageHistory:
    """The history over one database, in the configured time zone."""

    def __init__(self, db: Database, tz: ZoneInfo) -> None:
        self._db = db
        self.tz = tz

    def recent(self, *, status: str | None = None, kind: str | None = None,
               limit: int = LIMIT) -> list[MessageRow]:
        return recent_messages(self._db.read, self.tz, status=status, kind=kind, limit=limit)

    def kinds(self) -> list[str]:
        """Every kind of message the outbox has held, for the filter."""
        return known_kinds(self._db.read)
