"""Delivery receipts: matching each to its message by receipt id, and moving a "sent"
message to delivered or failed."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, or_, select, update

from core.messaging.models import NotificationStatus
from core.messaging.outbox.table import TABLE
from core.platform.db import Database


class Applied(enum.Enum):
    """What a delivery receipt did to the outbox."""

    CHANGED = "changed"  # the message moved to delivered or failed
    FINAL = "final"  # it matched a message already past "sent" (a repeat): nothing to do
    UNMATCHED = "unmatched"  # no message (yet), or more than one reading matched

    @property
    def matched(self) -> bool:
        return self is not Applied.UNMATCHED


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt as the outbox applies it.

    ``message_ids`` holds the exact id first (as ``mark_sent`` stored it), then other
    readings of it (hex/decimal) that may be tried only when the exact id matches no
    message in any state. ``part_of`` instead names the message when the receipt is for
    one of its later segments (known to the adapter): a failure there fails the message.
    """

    message_ids: tuple[str, ...]
    at: datetime
    final_status: str
    reason: str | None = None
    channel: str = "sms"
    part_of: int | None = None


def mark_delivered(db: Database, provider_message_id: str, delivered_at: datetime,
                   final_status: str, reason: str | None = None) -> bool:
    """Apply a delivery receipt to the "sent" message whose first segment has this id.

    The match is exact (case and leading zeros included: the adapter normalizes ids the same
    way before ``mark_sent`` and here). ``final_status`` is "delivered" (``delivered_at``
    recorded) or "failed" (``reason`` recorded). A receipt for an unknown id, for a later
    segment, or for a message no longer "sent" changes nothing and returns False; so does one
    that arrives before ``mark_sent`` (the adapter holds it and tries again).
    """
    receipt = Receipt((provider_message_id,), delivered_at, final_status, reason)
    return mark_delivered_many(db, [receipt]) == [Applied.CHANGED]


def mark_delivered_many(db: Database, receipts: list[Receipt]) -> list[Applied]:
    """``mark_delivered`` for a batch of receipts in one transaction; what each did.

    The exact id (``message_ids[0]``) is looked up in every state: when it names a
    message, that message alone is the receipt's, changed if still "sent", else left (a
    repeated receipt). Only when it names none are the other readings tried, and then
    only one message may match them: two (a hex id that is another message's decimal
    id) leave the receipt unmatched, for the adapter to hold or drop.
    """
    if not receipts:
        return []
    with db.write_engine.begin() as connection:
        return [_deliver(connection, receipt) for receipt in receipts]


def _final_values(receipt: Receipt) -> dict[str, object]:
    if receipt.final_status == NotificationStatus.DELIVERED:
        return {"status": NotificationStatus.DELIVERED, "delivered_at": receipt.at}
    if receipt.final_status == NotificationStatus.FAILED:
        return {"status": NotificationStatus.FAILED,
                "last_error": receipt.reason
                or f"delivery receipt: failed at {receipt.at:%FT%TZ}"}
    raise ValueError("a delivery receipt ends in delivered or failed, "
                     f"not {receipt.final_status}")


def _deliver(connection: Connection, receipt: Receipt) -> Applied:
    values = _final_values(receipt)
    if receipt.part_of is not None:
        # A later segment: its delivery says nothing the first segment's does not; its
        # failure means the text reached the phone incomplete.
        if receipt.final_status != NotificationStatus.FAILED:
            return Applied.FINAL
        changed = connection.execute(
            update(TABLE).where(TABLE.c.id == receipt.part_of, TABLE.c.status.in_(
                (NotificationStatus.SENT, NotificationStatus.DELIVERED)))
            .values(status=NotificationStatus.FAILED, last_error=values["last_error"],
                    delivered_at=None)).rowcount
        return Applied.CHANGED if changed else Applied.FINAL
    if not receipt.message_ids:
        return Applied.UNMATCHED
    exact, *others = receipt.message_ids
    rows = _by_receipt_id(connection, receipt.channel, [exact])
    if not rows and others:
        rows = _by_receipt_id(connection, receipt.channel, others)
        if len(rows) > 1:
            return Applied.UNMATCHED  # ambiguous: hold until the exact id shows, or drop
    if not rows:
        return Applied.UNMATCHED
    sent = [row_id for row_id, status in rows if status == NotificationStatus.SENT]
    if sent and connection.execute(update(TABLE).where(
            TABLE.c.id.in_(sent), TABLE.c.status == NotificationStatus.SENT)
            .values(**values)).rowcount:
        return Applied.CHANGED
    return Applied.FINAL


def _by_receipt_id(connection: Connection, channel: str,
                   ids: list[str]) -> Sequence[Row[int, NotificationStatus]]:
    return connection.execute(
        select(TABLE.c.id, TABLE.c.status)
        .where(TABLE.c.receipt_id.in_(ids), TABLE.c.channel == channel)
    ).all()


def later_part(db: Database, ids: Sequence[str], channel: str = "sms"
               ) -> tuple[int, int] | None:
    """The message (and part number) whose second or later segment the provider gave one
    of ``ids`` (as ``mark_sent`` stored them, after the first), or None.

    For a receipt no process remembered the segment of: it came in on another process's
    bind. A scan of the sent and delivered messages' ids (they are not indexed after the
    first), so only for receipts that matched nothing else and would fail their message.
    """
    patterns = [pattern for pid in ids if pid and " " not in pid and "%" not in pid
                and "_" not in pid for pattern in (f"% {pid}", f"% {pid} %")]
    if not patterns:
        return None
    with db.write_engine.connect() as connection:
        rows = connection.execute(
            select(TABLE.c.id, TABLE.c.provider_message_id)
            .where(TABLE.c.channel == channel, TABLE.c.status.in_(
                (NotificationStatus.SENT, NotificationStatus.DELIVERED)),
                or_(*(TABLE.c.provider_message_id.like(p) for p in patterns)))
            .limit(2)).all()
    if len(rows) != 1:
        return None  # none, or ambiguous
    message_id, joined = rows[0]
    parts = (joined or "").split(" ")
    for number, pid in enumerate(parts[1:], start=2):
        if pid in ids:
            return message_id, number
    return None
