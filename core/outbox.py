"""The notification outbox: rows written inside the caller's unit of work, sent later.

A sender takes work from here, never from memory. ``cause_key`` is unique, so the same
cause (an event, an overdue cycle) can never produce a second message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import Notification, NotificationStatus

PRIORITY_ANSWER = 0
PRIORITY_STAFF = 5
PRIORITY_CITIZEN = 10


def enqueue(
    session: Session, *, cause_key: str, kind: str, audience: str, recipient: str,
    language: str, body: str, transaction_id: int | None = None, channel: str = "sms",
    priority: int | None = None, not_before: datetime | None = None,
) -> Notification:
    """Add one message to the outbox in ``session``'s transaction (committed with it)."""
    if priority is None:
        priority = PRIORITY_STAFF if audience == "staff" else PRIORITY_CITIZEN
    now = utcnow()
    row = Notification(
        cause_key=cause_key, kind=kind, channel=channel, audience=audience,
        recipient=recipient, language=language, body=body, priority=priority,
        status=NotificationStatus.PENDING, transaction_id=transaction_id, created_at=now,
        not_before=not_before or now,
    )
    session.add(row)
    return row


def depth(session: Session) -> dict[str, int]:
    """Messages per status, for /metrics and /healthz."""
    rows = session.execute(
        select(Notification.status, func.count()).group_by(Notification.status))
    return {status: count for status, count in rows}
