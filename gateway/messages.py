"""Message history for staff: the newest outbox messages, what happened to each and why.

The operator's view of the outbox (issue 3, "Visible"): kind, audience, the recipient
masked (never the full number or address), status (a pending message that already failed
once shows as "retrying"), attempts, the last error, and the created/sent/delivered times
in the configured time zone. Filter with ``?status=`` and ``?kind=``. Staff sign in on
the simulator's page (``gateway.staff``); the list only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select

from core.identity.addresses import mask_email
from core.identity.phones import mask_mobile
from core.messaging.models import Notification, NotificationStatus
from gateway.staff import current_staff, to_login

messages = Blueprint("messages", __name__, url_prefix="/staff")

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
    last_error: str | None
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


def recent_messages(sessions, tz: ZoneInfo, *, status: str | None = None,
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
                last_error=row.last_error, created_at=local_time(row.created_at, tz),
                sent_at=local_time(row.sent_at, tz),
                delivered_at=local_time(row.delivered_at, tz), language=row.language,
                body=row.body)
            for row in session.scalars(query)
        ]


def known_kinds(sessions) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(Notification.kind).distinct()))


@messages.get("/messages")
def history():
    staff = current_staff()
    if staff is None:
        return to_login()
    core = current_app.extensions["core"]
    status = request.args.get("status", "").strip()
    if status not in STATUSES:
        status = ""
    kind = request.args.get("kind", "").strip()[:MAX_KIND_CHARS]
    rows = recent_messages(core.db.read, core.config.tz, status=status or None,
                           kind=kind or None)
    return render_template("messages.html", staff=staff, rows=rows, status=status,
                           kind=kind, statuses=STATUSES, kinds=known_kinds(core.db.read),
                           limit=LIMIT, tz=core.config.tz.key)
