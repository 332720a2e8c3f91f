"""The notification outbox: rows written inside the caller's unit of work, sent later.

A sender takes work from here, never from memory. ``cause_key`` is unique, so the same
cause (an event, an overdue cycle) can never produce a second message.

A message's states: pending → sending (``claim_due``) → sent (``mark_sent``) → delivered or
failed (``mark_delivered``); sending → pending again (``mark_retry``, ``mark_unsent``,
``recover_claims_of_stopped_holders``, ``recover_stale_claims``) or failed
(``mark_failed``); pending → expired
(``expire_undeliverable``). Every transition updates only rows in the state it leaves, so a
late or repeated call changes nothing and says so (False or 0).

A claim's ``attempts`` is its fencing token: every claim adds one, so a sender that passes
the ``attempt`` it claimed (``Claimed.attempts``) records an outcome only on its own claim.
A sender that stalled past ``recover_stale_claims`` and woke up after the row was claimed
again changes nothing; the new claim's outcome stands. (``mark_unsent`` takes the attempt
back: the holder gives up a claim it never tried, and no one else holds that number.)
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Row,
    String,
    and_,
    bindparam,
    func,
    insert,
    literal,
    not_,
    select,
    update,
)
from sqlalchemy.orm import Session

from core.calendar.quiet_hours import QuietHours
from core.messaging.models import Notification, NotificationStatus
from core.platform import leases
from core.platform.db import Database, utcnow
from core.platform.models import Lease

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
        session.execute(insert(_T), [_row(now=now, **m) for m in messages])
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
    constants = [literal(shared[name], _T.c[name].type) for name in columns[len(varying):]]
    connection.execute(insert(_T).from_select(
        columns, select(*_unpacked(connection, messages, varying), *constants)))
    return len(messages)


def _unpacked(connection: Connection, rows: list[tuple[str, str, str, int | None]],
              names: tuple[str, ...]) -> list[ColumnElement[Any]]:
    """The columns ``names`` of ``rows`` as a set-returning select list, sent as one value."""
    if _dialect(connection) == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return [func.unnest(bindparam(name, list(values), type_=ARRAY(_T.c[name].type)))
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
    if _dialect(session) == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        # SQLite's insert() stands in for PostgreSQL's: the same ON CONFLICT DO NOTHING.
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    now = utcnow()
    statement = (dialect_insert(_T).on_conflict_do_nothing(index_elements=["cause_key"])
                 .returning(_T.c.id))
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
    returned = session.execute(insert(_T).returning(*_CLAIMED, sort_by_parameter_order=True),
                               rows)
    return [Claimed(*row) for row in returned]


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
    # Parts of this message the SMSC already accepted on an earlier attempt (see
    # ``mark_retry``); None when none were.
    segments_accepted: tuple[str | None, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.segments_accepted, list):
            object.__setattr__(self, "segments_accepted", tuple(self.segments_accepted))


# The hot paths (claims, transitions) use the table with a connection: no ORM session.
_T = Notification.__table__
_CLAIMED = (_T.c.id, _T.c.recipient, _T.c.body, _T.c.language, _T.c.kind, _T.c.audience,
            _T.c.priority, _T.c.attempts, _T.c.segments_accepted)

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
    due = (
        select(_T.c.id)
        .where(_T.c.status == NotificationStatus.PENDING, _T.c.channel == channel,
               _T.c.not_before <= now)
        .order_by(_T.c.priority, _T.c.id)
        .limit(limit)
    )
    if audience is not None:
        due = due.where(_T.c.audience == audience)
    held = quiet_hours.held_audiences(now) if quiet_hours is not None else ()
    if held:
        due = due.where(not_(and_(_T.c.audience.in_(held), _T.c.priority > PRIORITY_ANSWER)))
    take = update(_T).values(status=NotificationStatus.SENDING, claimed_at=now,
                             claimed_by=holder,
                             attempts=_T.c.attempts + 1).returning(*_CLAIMED)
    if _dialect(executor) == "sqlite":
        # One statement: the writer holds the database, the sub-select runs once.
        claimed = executor.execute(take.where(_T.c.id.in_(due.scalar_subquery())))
    else:
        # Two statements, not UPDATE ... WHERE id IN (sub-select): PostgreSQL may run such
        # a sub-select once per row, and with SKIP LOCKED each run finds more rows than
        # the limit.
        ids = list(executor.scalars(due.with_for_update(skip_locked=True)))
        if not ids:
            return []
        # The status guard is redundant with the lock, and keeps the claim exclusive if not.
        claimed = executor.execute(
            take.where(_T.c.id.in_(ids), _T.c.status == NotificationStatus.PENDING))
    # RETURNING gives no order; the sender must send in priority order.
    return sorted((Claimed(*row) for row in claimed), key=lambda c: (c.priority, c.id))


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


def _dialect(executor: Session | Connection) -> str:
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    return bind.dialect.name


def _transition(db: Database, *conditions: ColumnElement[bool], **values: object) -> int:
    """Update the rows meeting ``conditions`` in one unit of work; how many changed.

    A connection and the table, not an ORM session: these run for every message sent.
    """
    with db.write_engine.begin() as connection:
        return connection.execute(update(_T).where(*conditions).values(**values)).rowcount


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
    return bool(_transition(
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
    # attempts = coalesce(:attempt, attempts): the fence when the sender gave its attempt.
    return connection.execute(
        update(_T)
        .where(_T.c.id == bindparam("sent_id"), _T.c.status == NotificationStatus.SENDING,
               _T.c.attempts == func.coalesce(bindparam("attempt", type_=Integer),
                                              _T.c.attempts))
        .values(status=NotificationStatus.SENT, sent_at=now, last_error=None,
                provider_message_id=bindparam("provider_ids"),
                receipt_id=bindparam("first_id")),
        [{"sent_id": item[0], "provider_ids": joined, "first_id": joined.split(" ", 1)[0],
          "attempt": item[2] if len(item) > 2 else None}
         for item in sent for joined in (join_provider_ids(item[1]),)]).rowcount


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
    """A temporary failure: "sending" → "pending", due again at ``retry_at``.

    The row keeps its priority and id, so once due it takes its old place in the queue and
    the messages behind it are not reordered. ``segments_accepted`` records, for a message
    in parts, the SMSC's id of each part it accepted (None where not), so the retry sends
    only the rest and the phone does not get a part twice. False unless the row was
    "sending" (under the claim ``attempt``, when given).
    """
    values: dict[str, object] = {
        "status": NotificationStatus.PENDING, "not_before": retry_at, "claimed_at": None,
        "claimed_by": None, "last_error": reason}
    if segments_accepted is not None and any(segments_accepted):
        values["segments_accepted"] = list(segments_accepted)
    return bool(_transition(db, *_claimed_by(notification_id, attempt), **values))


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
        "claimed_by": None, "attempts": _T.c.attempts - 1}
    if segments_accepted is not None and any(segments_accepted):
        values["segments_accepted"] = list(segments_accepted)
    return bool(_transition(db, *_claimed_by(notification_id, attempt), **values))


def mark_failed(db: Database, notification_id: int, reason: str, *,
                attempt: int | None = None) -> bool:
    """A permanent failure: "sending" → "failed" with the reason; never claimed again.

    False unless the row was "sending" (under the claim ``attempt``, when given).
    """
    return bool(_transition(db, *_claimed_by(notification_id, attempt),
                            status=NotificationStatus.FAILED, last_error=reason))


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
            update(_T).where(_T.c.id == receipt.part_of, _T.c.status.in_(
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
    if sent and connection.execute(update(_T).where(
            _T.c.id.in_(sent), _T.c.status == NotificationStatus.SENT)
            .values(**values)).rowcount:
        return Applied.CHANGED
    return Applied.FINAL


def _by_receipt_id(connection: Connection, channel: str,
                   ids: list[str]) -> Sequence[Row[int, NotificationStatus]]:
    return connection.execute(
        select(_T.c.id, _T.c.status).where(_T.c.receipt_id.in_(ids), _T.c.channel == channel)
    ).all()


def recover_stale_claims(db: Database, older_than: timedelta, now: datetime | None = None,
                         *, channel: str | None = None) -> int:
    """Give claims that name no holder (``claimed_by`` NULL, e.g. the e-mail sender's)
    and are older than ``older_than`` (of one ``channel``, or all) back to the queue; how
    many.

    A row still "sending" that long after its claim belongs to a sender that died (or lost
    its connection) between claiming and recording the outcome; it goes back to "pending"
    in its old place and is sent again. A claim that names its holder is never taken by
    age: ``claimed_at`` is the holder's clock, and a holder may hold a claim longer than
    any age; only its stopped heartbeat gives it back
    (``recover_claims_of_stopped_holders``). The SMSC may have accepted it before the crash, so
    each message in flight at a crash can be delivered twice: at most one duplicate per
    in-flight message per crash, never a loss. ``older_than`` must exceed the longest a
    live sender holds a claim (its submit timeout), or a live claim is resent too; should
    that happen, the late sender's outcome, recorded under its old ``attempt``, changes
    nothing (see the fencing note above).
    """
    now = now or utcnow()
    conditions = [Notification.status == NotificationStatus.SENDING,
                  Notification.claimed_by.is_(None),
                  Notification.claimed_at < now - older_than]
    if channel is not None:
        conditions.append(Notification.channel == channel)
    return _transition(
        db, *conditions, status=NotificationStatus.PENDING, claimed_at=None, claimed_by=None,
        last_error="claim expired: the sender stopped before recording the outcome")


class Heartbeats:
    """What this process has seen of the senders' heartbeat leases (those named
    ``lease_prefix``...), timed on its own monotonic clock.

    A heartbeat's ``expires_at`` is written with its holder's clock, and comparing it with
    ours would take a live sender's claims whenever the two machines' clocks are apart by
    more than the lease's lifetime. Instead a holder has stopped when its row has not
    changed (the same ``renewed_at`` and ``expires_at``) for the lease's own lifetime
    (``expires_at - renewed_at``, a duration on one clock), counted by this process from
    the moment it first saw that version of the row; or at once when the holder names a
    process of this machine that is gone (``leases.reclaimable``: a restart after a crash).

    A holder with claims and no row at all has stopped only when it had claims and no row
    at the previous observation too: a sender writes its heartbeat before it claims, so a
    row missing from a read made after claims were seen without one was given up (a clean
    stop), not one about to be written. (Within one observation the claims are read after
    the rows, each in a snapshot of its own on PostgreSQL's READ COMMITTED: a sender
    starting in between shows claims and no row.)
    """

    def __init__(self, lease_prefix: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.lease_prefix = lease_prefix
        self._clock = clock
        # holder -> (the row's version, when this process first saw that version)
        self._seen: dict[str, tuple[tuple[datetime, datetime], float]] = {}
        # holders seen with claims and no heartbeat row at the last observation
        self._rowless: set[str] = set()

    def stopped(self, rows: list[tuple[str, datetime, datetime]],
                claimants: set[str] | None = None,
                ) -> dict[str, tuple[datetime, datetime] | None]:
        """Note ``rows`` (every heartbeat's holder, ``renewed_at``, ``expires_at``, read
        now) and ``claimants`` (the holders named on claims, read after ``rows``); the
        holders that have stopped, each with the version of its row seen (None: no row)."""
        now = self._clock()
        seen: dict[str, tuple[tuple[datetime, datetime], float]] = {}
        stopped: dict[str, tuple[datetime, datetime] | None] = {}
        for holder, renewed_at, expires_at in rows:
            version = (renewed_at, expires_at)
            earlier = self._seen.get(holder)
            first = earlier[1] if earlier is not None and earlier[0] == version else now
            seen[holder] = (version, first)
            lifetime = (expires_at - renewed_at).total_seconds()
            if now - first >= lifetime or leases.reclaimable(holder):
                stopped[holder] = version
        rowless = set(claimants or ()) - set(seen)
        for holder in rowless:
            if holder in self._rowless or leases.reclaimable(holder):
                stopped[holder] = None
        self._seen = seen
        self._rowless = rowless
        return stopped


def recover_claims_of_stopped_holders(db: Database, heartbeats: Heartbeats, *,
                                      channel: str) -> int:
    """Give back the claims (of ``channel``) whose holder's heartbeat lease is gone or has
    stopped (see ``Heartbeats``); how many.

    A sender that records itself as ``holder`` on its claims (``claim(holder=...)``) and
    renews a lease under ``heartbeats.lease_prefix`` while it runs needs no stale-claim
    age: once its lease has stopped changing for its lifetime, it is dead (or cut off from
    the database, and then its outcomes, fenced by ``attempt``, change nothing; it claims
    nothing once its last renewal is older than its lifetime). A live holder's claims are
    never touched, whatever the machines' clocks say, so two senders on two machines never
    take each other's work in flight. A holder whose heartbeat was given up (a clean stop)
    has its claims back at the next observation; one of this machine whose process is gone,
    at once. Each holder's claims go back only while its heartbeat row is still as seen
    (or still missing): a renewal committed meanwhile wins, and no heartbeat row is locked,
    so no sender's renewal waits for this. Each message in flight at a crash may be
    delivered twice, as with ``recover_stale_claims``.
    """
    prefix = Lease.name.startswith(heartbeats.lease_prefix, autoescape=True)
    sending = (_T.c.status == NotificationStatus.SENDING, _T.c.channel == channel)
    with db.write_engine.begin() as connection:
        rows = connection.execute(
            select(Lease.holder, Lease.renewed_at, Lease.expires_at).where(prefix)).all()
        claimants = set(connection.scalars(
            select(_T.c.claimed_by).distinct()
            .where(*sending, _T.c.claimed_by.is_not(None))).all())
        stopped = heartbeats.stopped([(holder, renewed, expires)
                                      for holder, renewed, expires in rows], claimants)
        recovered = 0
        for holder, version in sorted(stopped.items()):
            if holder not in claimants:
                continue
            heartbeat = select(Lease.name).where(prefix, Lease.holder == holder)
            unchanged = (~heartbeat.exists() if version is None else heartbeat.where(
                Lease.renewed_at == version[0], Lease.expires_at == version[1]).exists())
            recovered += connection.execute(
                update(_T).where(*sending, _T.c.claimed_by == holder, unchanged)
                .values(status=NotificationStatus.PENDING, claimed_at=None, claimed_by=None,
                        last_error="claim given back: its sender's heartbeat stopped before "
                                   "it recorded the outcome")).rowcount
        return recovered


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

