"""Claiming due messages for sending, and ending each claim: sent (``mark_sent*``), due
again (``mark_retry``), given back untried (``mark_unsent``) or failed (``mark_failed``).

A reason is stored with its e-mail addresses and phone numbers masked: a provider's
refusal usually quotes the recipient ("550 5.1.1 <ali@example.com>: user unknown"), and
the reason is shown to staff and kept as long as the message.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Update,
    and_,
    bindparam,
    func,
    not_,
    null,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from core.calendar.quiet_hours import QuietHours
from core.identity.masking import mask_contacts
from core.messaging.models import Notification, NotificationStatus
from core.messaging.outbox.enqueue import PRIORITY_ANSWER
from core.messaging.outbox.table import CLAIMED_COLUMNS, TABLE, Claimed, dialect, transition
from core.platform.compiled import CompiledStatement
from core.platform.db import Database, utcnow

# provider_message_id is String(100); SMPP message ids are at most 64 characters.
PROVIDER_IDS_MAX = 100


def claim(executor: Session | Connection, *, channel: str = "sms", limit: int = 50,
          now: datetime | None = None, audience: str | None = None,
          quiet_hours: QuietHours | None = None, holder: str | None = None) -> list[Claimed]:
    """Claim due messages inside the caller's transaction (a session's or a connection's);
    they are the caller's once it commits.

    Due means pending with ``not_before <= now``; the most urgent (lowest priority, then
    oldest id) come first. With ``quiet_hours`` (``CoreSettings.quiet_hours``), notifications
    to the audiences it holds at ``now`` are not due yet, except answers to inquiries
    (``PRIORITY_ANSWER``); they keep their place and are claimed when the window ends.
    On PostgreSQL the select locks with ``FOR UPDATE SKIP LOCKED``, so concurrent senders
    take disjoint rows without waiting; SQLite writers are serialized by ``BEGIN IMMEDIATE``.
    ``holder`` (a sender's heartbeat holder) is recorded on the claims, so they can be
    given back as soon as that heartbeat stops (``recover_claims_of_stopped_holders``).
    """
    now = now or utcnow()
    held = tuple(sorted(quiet_hours.held_audiences(now))) if quiet_hours is not None else ()
    due, take, take_ids = _claim_statements(dialect(executor), audience is not None, held)
    params: dict[str, object] = {"due_channel": channel, "due_now": now, "due_limit": limit,
                                 "claim_now": now, "claim_holder": holder}
    if audience is not None:
        params["due_audience"] = audience
    if take_ids is None:
        # One statement: the writer holds the database, the sub-select runs once.
        claimed = executor.execute(take, params)
    else:
        # Two statements, not UPDATE ... WHERE id IN (sub-select): PostgreSQL may run such
        # a sub-select once per row, and with SKIP LOCKED each run finds more rows than
        # the limit.
        ids = list(executor.scalars(due, params))
        if not ids:
            return []
        claimed = executor.execute(take_ids, {**params, "claim_ids": ids})
    # RETURNING gives no order; the sender must send in priority order.
    return sorted((Claimed(*row) for row in claimed), key=lambda c: (c.priority, c.id))


@lru_cache(maxsize=64)
def _claim_statements(dialect_name: str, by_audience: bool, held: tuple[str, ...]
                      ) -> tuple[Select[tuple[int]], Update, Update | None]:
    """The claim's statements, built once per dialect, audience filter and audiences held
    (every sender claims again and again: building them cost more than running them).
    The select of due rows, and the update that claims them: by that select on SQLite,
    by the ids it found (``take_ids``) on PostgreSQL."""
    due = (
        select(TABLE.c.id)
        .where(TABLE.c.status == NotificationStatus.PENDING,
               TABLE.c.channel == bindparam("due_channel"),
               TABLE.c.not_before <= bindparam("due_now"))
        .order_by(TABLE.c.priority, TABLE.c.id)
        .limit(bindparam("due_limit", type_=Integer))
    )
    if by_audience:
        due = due.where(TABLE.c.audience == bindparam("due_audience"))
    if held:
        due = due.where(not_(and_(TABLE.c.audience.in_(held),
                                  TABLE.c.priority > PRIORITY_ANSWER)))
    take = update(TABLE).values(
        status=NotificationStatus.SENDING,
        claimed_at=bindparam("claim_now", type_=TABLE.c.claimed_at.type),
        claimed_by=bindparam("claim_holder", type_=TABLE.c.claimed_by.type),
        attempts=TABLE.c.attempts + 1).returning(*CLAIMED_COLUMNS)
    if dialect_name == "sqlite":
        return due, take.where(TABLE.c.id.in_(due.scalar_subquery())), None
    return (due.with_for_update(skip_locked=True), take,
            take.where(TABLE.c.id.in_(bindparam("claim_ids", expanding=True)),
                       # Redundant with the lock, and keeps the claim exclusive if not.
                       TABLE.c.status == NotificationStatus.PENDING))


def claim_due(db: Database, *, channel: str = "sms", limit: int = 50,
              now: datetime | None = None, audience: str | None = None,
              quiet_hours: QuietHours | None = None,
              holder: str | None = None) -> list[Claimed]:
    """Claim up to ``limit`` due messages for sending and commit (see ``claim``).

    Each comes back with status "sending", ``claimed_at=now`` and one more attempt; the
    sender must end each claim with ``mark_sent``, ``mark_retry`` or ``mark_failed``.
    """
    with db.write_engine.begin() as connection:
        return claim(connection, channel=channel, limit=limit, now=now, audience=audience,
                     quiet_hours=quiet_hours, holder=holder)


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
              now: datetime | None = None, attempt: int | None = None) -> bool:
    """The SMSC accepted every segment: "sending" → "sent", the provider's ids recorded.

    ``provider_message_ids`` holds one id per segment; they are stored joined with a space
    (see ``join_provider_ids``); the first is the one receipts are matched on
    (``receipt_id``). An earlier attempt's ``last_error`` is cleared: the message went
    (``attempts`` still says how many tries it took). False, and nothing changed, unless
    the row was "sending" (under the claim ``attempt``, when given).
    """
    joined = join_provider_ids(provider_message_ids)
    return bool(transition(
        db, *_claimed_by(notification_id, attempt),
        status=NotificationStatus.SENT, sent_at=now or utcnow(), last_error=None,
        provider_message_id=joined, receipt_id=joined.split(" ", 1)[0]))


Sent = tuple[int, list[str]] | tuple[int, list[str], int]
"""A message to mark sent: its id, its segments' provider ids, and the claim's attempt
(the fencing token) when the sender knows it."""


def mark_sent_many(db: Database, sent: list[Sent], *, now: datetime | None = None) -> int:
    """``mark_sent`` for many messages in one transaction (one executemany); how many changed.

    Each row still moves only from "sending" (under the claim's attempt, when given), so a
    late or repeated call changes nothing.
    """
    if not sent:
        return 0
    with db.write_engine.begin() as connection:
        return _mark_sent(connection, sent, now or utcnow())


def mark_sent_and_claim(db: Database, sent: list[Sent], *, limit: int,
                        channel: str = "sms", now: datetime | None = None,
                        quiet_hours: QuietHours | None = None,
                        holder: str | None = None) -> list[Claimed]:
    """``mark_sent_many`` and ``claim_due`` in one transaction: a busy sender's one commit
    per turn, recording what the SMSC accepted and taking the next messages at once."""
    now = now or utcnow()
    with db.write_engine.begin() as connection:
        if sent:
            _mark_sent(connection, sent, now)
        if limit <= 0:
            return []
        return claim(connection, channel=channel, limit=limit, now=now,
                     quiet_hours=quiet_hours, holder=holder)


def _mark_sent(connection: Connection, sent: list[Sent], now: datetime) -> int:
    """One UPDATE per message, run as one executemany on the driver's cursor (a busy
    sender's every turn: SQLAlchemy's executemany cost more than the updates)."""
    dialect = connection.dialect
    statement = _mark_sent_statement(dialect)
    stamp = TABLE.c.sent_at.type._cached_bind_processor(dialect)
    sent_at = stamp(now) if stamp is not None else now
    rows: list[Any] = [statement.params({
        "sent_status": NotificationStatus.SENT.value, "sent_at_now": sent_at,
        "provider_ids": joined, "first_id": joined.split(" ", 1)[0],
        "sent_id": item[0], "was_status": NotificationStatus.SENDING.value,
        "attempt": item[2] if len(item) > 2 else None})
        for item in sent for joined in (join_provider_ids(item[1]),)]
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(statement.sql, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


@lru_cache(maxsize=8)
def _mark_sent_statement(dialect: Dialect) -> CompiledStatement:
    # attempts = coalesce(:attempt, attempts): the fence when the sender gave its attempt.
    statement = (
        update(TABLE)
        .where(TABLE.c.id == bindparam("sent_id"),
               TABLE.c.status == bindparam("was_status", type_=String),
               TABLE.c.attempts == func.coalesce(bindparam("attempt", type_=Integer),
                                                 TABLE.c.attempts))
        .values(status=bindparam("sent_status", type_=String),
                sent_at=bindparam("sent_at_now"), last_error=null(),
                provider_message_id=bindparam("provider_ids", type_=String),
                receipt_id=bindparam("first_id", type_=String)))
    return CompiledStatement(statement, dialect)


def _claimed_by(notification_id: int, attempt: int | None) -> list[ColumnElement[bool]]:
    """The conditions for ending a claim: the row is "sending", under ``attempt`` if given."""
    conditions = [Notification.id == notification_id,
                  Notification.status == NotificationStatus.SENDING]
    if attempt is not None:
        conditions.append(Notification.attempts == attempt)
    return conditions


def mark_retry(db: Database, notification_id: int, reason: str, retry_at: datetime, *,
               segments_accepted: list[str | None] | None = None,
               attempt: int | None = None) -> bool:
    """A temporary failure: "sending" → "pending", due again at ``retry_at``; ``reason``
    is stored with its contacts masked.

    The row keeps its priority and id, so once due it takes its old place in the queue and
    the messages behind it are not reordered. ``segments_accepted`` records, for a message
    in parts, the SMSC's id of each part it accepted (None where not), so the retry sends
    only the rest and the phone does not get a part twice. False unless the row was
    "sending" (under the claim ``attempt``, when given).
    """
    values: dict[str, object] = {
        "status": NotificationStatus.PENDING, "not_before": retry_at, "claimed_at": None,
        "claimed_by": None, "last_error": mask_contacts(reason)}
    if segments_accepted is not None and any(segments_accepted):
        values["segments_accepted"] = list(segments_accepted)
    return bool(transition(db, *_claimed_by(notification_id, attempt), **values))


def mark_unsent(db: Database, notification_id: int, *, attempt: int,
                segments_accepted: list[str | None] | None = None) -> bool:
    """Give a claim back untried: nothing of it reached the provider (the connection ended
    before its turn). "sending" → "pending", due now, its claim's attempt taken back, so
    no backoff grows for a try that never happened; ``last_error`` is left as it was.

    Only the claim's holder calls this, under its ``attempt``, and gives the claim up by
    it: the next claim reuses that attempt number, which no one else holds. False unless
    the row was "sending" under ``attempt``.
    """
    values: dict[str, object] = {
        "status": NotificationStatus.PENDING, "not_before": utcnow(), "claimed_at": None,
        "claimed_by": None, "attempts": TABLE.c.attempts - 1}
    if segments_accepted is not None and any(segments_accepted):
        values["segments_accepted"] = list(segments_accepted)
    return bool(transition(db, *_claimed_by(notification_id, attempt), **values))


def mark_failed(db: Database, notification_id: int, reason: str, *,
                attempt: int | None = None) -> bool:
    """A permanent failure: "sending" → "failed" with the reason (its contacts masked);
    never claimed again.

    False unless the row was "sending" (under the claim ``attempt``, when given).
    """
    return bool(transition(db, *_claimed_by(notification_id, attempt),
                            status=NotificationStatus.FAILED, last_error=mask_contacts(reason)))
