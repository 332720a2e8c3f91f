"""The notification outbox: rows written inside the caller's unit of work, sent later.

A sender takes work from here, never from memory. ``cause_key`` is unique, so the same
cause (an event, an overdue cycle) can never produce a second message.

A message's states: pending → sending (``claim_due``) → sent (``mark_sent``) → delivered or
failed (``mark_delivered``); sending → pending again (``mark_retry``,
``recover_stale_claims``) or failed (``mark_failed``); pending → expired
(``expire_undeliverable``). Every transition updates only rows in the state it leaves, so a
late or repeated call changes nothing and says so (False or 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, insert, not_, select, update
from sqlalchemy.orm import Session

from core.db import Database, utcnow
from core.models import Notification, NotificationStatus
from core.quiet_hours import QuietHours

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


def _rows(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """``enqueue``'s keyword arguments, with its defaults, as table rows."""
    now = utcnow()
    values = []
    for row in rows:
        priority = row.get("priority")
        if priority is None:
            priority = PRIORITY_STAFF if row["audience"] == "staff" else PRIORITY_CITIZEN
        values.append({"channel": "sms", "transaction_id": None, **row, "priority": priority,
                       "status": NotificationStatus.PENDING, "created_at": now,
                       "not_before": row.get("not_before") or now, "attempts": 0})
    return values


def enqueue_many(session: Session, rows: list[dict[str, object]]) -> int:
    """Add many messages at once (the overdue scan's batches); how many.

    Each row gives ``enqueue``'s keyword arguments. Core executemany on the session's
    connection: the ORM's bulk path costs more than the database does.
    """
    if rows:
        session.connection().execute(insert(Notification.__table__), _rows(rows))
    return len(rows)


def enqueue_new(session: Session, rows: list[dict[str, object]]) -> int:
    """``enqueue_many`` for causes that may already be queued (a daily digest two
    schedulers both queue): those are skipped, not an error; how many were new."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = (dialect_insert(Notification.__table__)
                 .on_conflict_do_nothing(index_elements=["cause_key"])
                 .returning(Notification.__table__.c.id))
    return len(session.connection().execute(statement, _rows(rows)).all())


def depth(session: Session) -> dict[str, int]:
    """Messages per status, for /metrics and /healthz."""
    rows = session.execute(
        select(Notification.status, func.count()).group_by(Notification.status))
    return {status: count for status, count in rows}


# A sender's view of a claimed message: plain values, safe to use after the session closes.
@dataclass(frozen=True)
class Claimed:
    id: int
    recipient: str
    body: str
    language: str
    kind: str
    audience: str
    priority: int
    attempts: int


# provider_message_id is String(100); SMPP message ids are at most 64 characters.
PROVIDER_IDS_MAX = 100


def claim(session: Session, *, channel: str = "sms", limit: int = 50,
          now: datetime | None = None, audience: str | None = None,
          quiet_hours: QuietHours | None = None) -> list[Claimed]:
    """Claim due messages inside ``session``'s transaction; they are the caller's once it commits.

    Due means pending with ``not_before <= now``; the most urgent (lowest priority, then
    oldest id) come first. With ``quiet_hours`` (``CoreConfig.quiet_hours``), notifications
    to the audiences it holds at ``now`` are not due yet, except answers to inquiries
    (``PRIORITY_ANSWER``); they keep their place and are claimed when the window ends.
    On PostgreSQL the select locks with ``FOR UPDATE SKIP LOCKED``, so concurrent senders
    take disjoint rows without waiting; SQLite writers are serialized by ``BEGIN IMMEDIATE``.
    """
    now = now or utcnow()
    due = (
        select(Notification.id)
        .where(Notification.status == NotificationStatus.PENDING,
               Notification.channel == channel, Notification.not_before <= now)
        .order_by(Notification.priority, Notification.id)
        .limit(limit)
    )
    if audience is not None:
        due = due.where(Notification.audience == audience)
    held = quiet_hours.held_audiences(now) if quiet_hours is not None else ()
    if held:
        due = due.where(not_(and_(Notification.audience.in_(held),
                                  Notification.priority > PRIORITY_ANSWER)))
    if session.get_bind().dialect.name != "sqlite":
        due = due.with_for_update(skip_locked=True)
    # Two statements, not UPDATE ... WHERE id IN (sub-select): PostgreSQL may run such a
    # sub-select once per row, and with SKIP LOCKED each run finds more rows than the limit.
    ids = list(session.scalars(due))
    if not ids:
        return []
    claimed = session.execute(
        update(Notification)
        # The status guard is redundant with the lock, and keeps the claim exclusive if not.
        .where(Notification.id.in_(ids), Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.SENDING, claimed_at=now,
                attempts=Notification.attempts + 1)
        .returning(Notification.id, Notification.recipient, Notification.body,
                   Notification.language, Notification.kind, Notification.audience,
                   Notification.priority, Notification.attempts)
        .execution_options(synchronize_session=False)
    )
    # RETURNING gives no order; the sender must send in priority order.
    return sorted((Claimed(*row) for row in claimed), key=lambda c: (c.priority, c.id))


def claim_due(db: Database, *, channel: str = "sms", limit: int = 50,
              now: datetime | None = None, audience: str | None = None,
              quiet_hours: QuietHours | None = None) -> list[Claimed]:
    """Claim up to ``limit`` due messages for sending and commit (see ``claim``).

    Each comes back with status "sending", ``claimed_at=now`` and one more attempt; the
    sender must end each claim with ``mark_sent``, ``mark_retry`` or ``mark_failed``.
    """
    with db.write.begin() as session:
        return claim(session, channel=channel, limit=limit, now=now, audience=audience,
                     quiet_hours=quiet_hours)


def _transition(db: Database, *conditions: ColumnElement[bool], **values: object) -> int:
    """Update the rows meeting ``conditions`` in one unit of work; how many changed."""
    with db.write.begin() as session:
        result = session.execute(
            update(Notification).where(*conditions).values(**values)
            .execution_options(synchronize_session=False))
        return result.rowcount


def join_provider_ids(provider_message_ids: list[str]) -> str:
    """The provider's ids for a message's segments, as stored: space-separated, in order.

    The first segment's id leads, so a receipt for it finds the message (``mark_delivered``);
    ids that would not fit the column are dropped from the end (their receipts are ignored).
    """
    if not provider_message_ids:
        raise ValueError("a sent message has at least one provider message id")
    if any(not pid or pid != pid.strip() or " " in pid for pid in provider_message_ids):
        raise ValueError("provider message ids must be non-empty and contain no spaces")
    if len(provider_message_ids[0]) > PROVIDER_IDS_MAX:
        raise ValueError("provider message id longer than the column")
    joined = provider_message_ids[0]
    for pid in provider_message_ids[1:]:
        if len(joined) + 1 + len(pid) > PROVIDER_IDS_MAX:
            break
        joined = f"{joined} {pid}"
    return joined


def mark_sent(db: Database, notification_id: int, provider_message_ids: list[str], *,
              now: datetime | None = None) -> bool:
    """The SMSC accepted every segment: "sending" → "sent", the provider's ids recorded.

    ``provider_message_ids`` holds one id per segment; they are stored joined with a space
    (see ``join_provider_ids``). False, and nothing changed, unless the row was "sending".
    """
    return bool(_transition(
        db, Notification.id == notification_id,
        Notification.status == NotificationStatus.SENDING,
        status=NotificationStatus.SENT, sent_at=now or utcnow(),
        provider_message_id=join_provider_ids(provider_message_ids)))


def mark_sent_many(db: Database, sent: list[tuple[int, list[str]]], *,
                   now: datetime | None = None) -> int:
    """``mark_sent`` for a round of messages in one transaction; how many changed.

    Each row still moves only from "sending", so a late or repeated call changes nothing.
    """
    now = now or utcnow()
    changed = 0
    with db.write.begin() as session:
        for notification_id, provider_message_ids in sent:
            result = session.execute(
                update(Notification)
                .where(Notification.id == notification_id,
                       Notification.status == NotificationStatus.SENDING)
                .values(status=NotificationStatus.SENT, sent_at=now,
                        provider_message_id=join_provider_ids(provider_message_ids))
                .execution_options(synchronize_session=False))
            changed += result.rowcount
    return changed


def mark_retry(db: Database, notification_id: int, reason: str, retry_at: datetime) -> bool:
    """A temporary failure: "sending" → "pending", due again at ``retry_at``.

    The row keeps its priority and id, so once due it takes its old place in the queue and
    the messages behind it are not reordered. False unless the row was "sending".
    """
    return bool(_transition(
        db, Notification.id == notification_id,
        Notification.status == NotificationStatus.SENDING,
        status=NotificationStatus.PENDING, not_before=retry_at, claimed_at=None,
        last_error=reason))


def mark_failed(db: Database, notification_id: int, reason: str) -> bool:
    """A permanent failure: "sending" → "failed" with the reason; never claimed again.

    False unless the row was "sending".
    """
    return bool(_transition(
        db, Notification.id == notification_id,
        Notification.status == NotificationStatus.SENDING,
        status=NotificationStatus.FAILED, last_error=reason))


def mark_delivered(db: Database, provider_message_id: str, delivered_at: datetime,
                   final_status: str, reason: str | None = None) -> bool:
    """Apply a delivery receipt to the "sent" message whose first segment has this id.

    The match is exact (case and leading zeros included: the adapter normalizes ids the same
    way before ``mark_sent`` and here). ``final_status`` is "delivered" (``delivered_at``
    recorded) or "failed" (``reason`` recorded). A receipt for an unknown id, for a later
    segment, or for a message no longer "sent" changes nothing and returns False; so does one
    that arrives before ``mark_sent`` (the adapter holds it and tries again).
    """
    if final_status == NotificationStatus.DELIVERED:
        values: dict[str, object] = {"status": NotificationStatus.DELIVERED,
                                     "delivered_at": delivered_at}
    elif final_status == NotificationStatus.FAILED:
        values = {"status": NotificationStatus.FAILED,
                  "last_error": reason or f"delivery receipt: failed at {delivered_at:%FT%TZ}"}
    else:
        raise ValueError(f"a delivery receipt ends in delivered or failed, not {final_status}")
    sent = Notification.status == NotificationStatus.SENT
    # The common single-segment case is an indexed equality; only when it misses, look for
    # the id as the first of several (a scan of the "sent" rows).
    if _transition(db, sent, Notification.provider_message_id == provider_message_id,
                   **values):
        return True
    prefix = f"{provider_message_id} "
    return bool(_transition(
        db, sent,
        func.substr(Notification.provider_message_id, 1, len(prefix)) == prefix,
        **values))


def recover_stale_claims(db: Database, older_than: timedelta, now: datetime | None = None,
                         ) -> int:
    """Give claims older than ``older_than`` back to the queue; how many.

    A row still "sending" that long after its claim belongs to a sender that died (or lost
    its connection) between claiming and recording the outcome; it goes back to "pending"
    in its old place and is sent again. The SMSC may have accepted it before the crash, so
    each message in flight at a crash can be delivered twice: at most one duplicate per
    in-flight message per crash, never a loss. ``older_than`` must exceed the longest a
    live sender holds a claim (its submit timeout), or a live claim is resent too.
    """
    now = now or utcnow()
    return _transition(
        db, Notification.status == NotificationStatus.SENDING,
        Notification.claimed_at < now - older_than,
        status=NotificationStatus.PENDING, claimed_at=None,
        last_error="claim expired: the sender stopped before recording the outcome")


def expire_undeliverable(db: Database, max_age: timedelta, now: datetime | None = None,
                         reason: str | None = None) -> int:
    """Expire pending messages created more than ``max_age`` ago; how many.

    A notification that could not go out in time is not sent late and out of context: it
    becomes "expired" with the reason in ``last_error`` (``reason``, or one naming the
    age and the last error, if any). Messages being sent are left alone.
    """
    now = now or utcnow()
    if reason is None:
        said = f"expired: not sent within {max_age} of being queued"
        reason_value: object = func.coalesce(said + "; last error: " + Notification.last_error,
                                             said)
    else:
        reason_value = reason
    return _transition(
        db, Notification.status == NotificationStatus.PENDING,
        Notification.created_at < now - max_age,
        status=NotificationStatus.EXPIRED, last_error=reason_value)

