"""Putting messages in the outbox: one, many, many alike, only the new, or already claimed
for a sender that sends them at once; their priorities; the queue's depth."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    bindparam,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import Session

from core.messaging.models import Notification, NotificationStatus
from core.messaging.outbox.table import CLAIMED_COLUMNS, TABLE, Claimed, dialect
from core.platform import raw_rows
from core.platform.db import utcnow

PRIORITY_ANSWER = 0
PRIORITY_STAFF = 5
PRIORITY_CITIZEN = 10


def enqueue(
    session: Session, *, cause_key: str, kind: str, audience: str, recipient: str,
    language: str, body: str, transaction_id: int | None = None, channel: str = "sms",
    priority: int | None = None, not_before: datetime | None = None,
) -> Notification:
    """Add one message to the outbox in ``session``'s transaction (committed with it)."""
    row = Notification(**_row(
        cause_key=cause_key, kind=kind, audience=audience, recipient=recipient,
        language=language, body=body, transaction_id=transaction_id, channel=channel,
        priority=priority, not_before=not_before))
    session.add(row)
    return row


def enqueue_many(session: Session | Connection, messages: list[dict[str, Any]]) -> int:
    """``enqueue`` for many messages in one INSERT (each a dict of ``enqueue``'s arguments);
    how many.

    For batches (SMS answers, the overdue scan): Core executemany, no ORM objects, whose
    bulk path costs more than the database does.
    """
    if messages:
        now = utcnow()
        session.execute(insert(TABLE), [_row(now=now, **m) for m in messages])
    return len(messages)


def enqueue_alike(connection: Connection,
                  messages: list[tuple[str, str, str, int | None]], *, kind: str,
                  audience: str, language: str, channel: str = "sms",
                  priority: int | None = None, not_before: datetime | None = None) -> int:
    """``enqueue_many`` for messages alike but for their ``(cause_key, recipient, body,
    transaction_id)`` (the managers' overdue messages): one statement, however many; how
    many.

    The varying columns go as one parameter (arrays on PostgreSQL, a JSON array on SQLite,
    ``INSERT ... SELECT`` from them) and everything else as one constant each: no
    parameters per row, whose handling costs more than the insert itself for thousands.
    """
    if not messages:
        return 0
    shared = _row(cause_key="", body="", kind=kind, audience=audience, recipient="",
                  language=language, channel=channel, priority=priority,
                  not_before=not_before)
    varying = ("cause_key", "recipient", "body", "transaction_id")
    columns = [*varying, *(name for name in shared if name not in varying)]
    constants = [literal(shared[name], TABLE.c[name].type) for name in columns[len(varying):]]
    connection.execute(insert(TABLE).from_select(
        columns, select(*_unpacked(connection, messages, varying), *constants)))
    return len(messages)


def _unpacked(connection: Connection, rows: list[tuple[str, str, str, int | None]],
              names: tuple[str, ...]) -> list[ColumnElement[Any]]:
    """The columns ``names`` of ``rows`` as a set-returning select list, sent as one value."""
    if dialect(connection) == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return [func.unnest(bindparam(name, list(values), type_=ARRAY(TABLE.c[name].type)))
                for name, values in zip(names, zip(*rows, strict=True), strict=True)]
    each = func.json_each(bindparam(None, json.dumps(rows), type_=String)).table_valued(
        "value")
    return [func.json_extract(each.c.value, f"$[{n}]").label(name)
            for n, name in enumerate(names)]


def enqueue_new(session: Session | Connection, messages: list[dict[str, Any]]) -> int:
    """``enqueue_many`` for causes that may already be queued (a daily digest two
    schedulers both queue): those are skipped, not an error; how many were new."""
    if not messages:
        return 0
    if dialect(session) == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        # SQLite's insert() stands in for PostgreSQL's: the same ON CONFLICT DO NOTHING.
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    now = utcnow()
    statement = (dialect_insert(TABLE).on_conflict_do_nothing(index_elements=["cause_key"])
                 .returning(TABLE.c.id))
    return len(session.execute(statement, [_row(now=now, **m) for m in messages]).all())


def enqueue_claimed(session: Session | Connection, messages: list[dict[str, Any]], *,
                    holder: str | None = None) -> list[Claimed]:
    """``enqueue_many`` for messages the caller sends at once: written already claimed.

    Each row goes in as "sending" (one attempt, ``claimed_at`` now, ``claimed_by``
    ``holder``), exactly as ``claim`` would leave it, so the sender skips a claim round
    trip; it must end each claim the same way (``mark_sent``, ``mark_retry`` or
    ``mark_failed``). Should the sender die first, ``recover_claims_of_stopped_holders``
    (or ``recover_stale_claims``) gives the rows back to the queue.
    """
    if not messages:
        return []
    now = utcnow()
    rows = [{**_row(now=now, **m), "status": NotificationStatus.SENDING, "claimed_at": now,
             "claimed_by": holder, "attempts": 1} for m in messages]
    if isinstance(session, Connection):
        # On the driver's cursor (the SMS answers of a burst): SQLAlchemy's many-rows
        # INSERT cost more than the rows. The ids come back by cause key.
        ids = dict(raw_rows.insert_many(
            session, TABLE, _CLAIMED_ROW, [[row[name] for name in _CLAIMED_ROW]
                                           for row in rows],
            returning=("cause_key", "id")))
        return [Claimed(ids[row["cause_key"]], row["recipient"], row["body"],
                        row["language"], row["kind"], row["audience"], row["priority"], 1)
                for row in rows]
    returned = session.execute(
        insert(TABLE).returning(*CLAIMED_COLUMNS, sort_by_parameter_order=True), rows)
    return [Claimed(*row) for row in returned]


# The columns of a row written claimed (``enqueue_claimed``).
_CLAIMED_ROW = ("cause_key", "kind", "channel", "audience", "recipient", "language", "body",
                "priority", "status", "transaction_id", "created_at", "not_before",
                "attempts", "claimed_at", "claimed_by")


def _row(*, cause_key: str, kind: str, audience: str, recipient: str, language: str,
         body: str, transaction_id: int | None = None, channel: str = "sms",
         priority: int | None = None, not_before: datetime | None = None,
         now: datetime | None = None) -> dict[str, Any]:
    if priority is None:
        priority = PRIORITY_STAFF if audience == "staff" else PRIORITY_CITIZEN
    now = now or utcnow()
    return {
        "cause_key": cause_key, "kind": kind, "channel": channel, "audience": audience,
        "recipient": recipient, "language": language, "body": body, "priority": priority,
        "status": NotificationStatus.PENDING, "transaction_id": transaction_id,
        "created_at": now, "not_before": not_before or now, "attempts": 0,
    }


def depth(session: Session) -> dict[str, int]:
    """Messages per status, for /metrics and /healthz."""
    rows = session.execute(
        select(Notification.status, func.count()).group_by(Notification.status))
    return {status: count for status, count in rows}
