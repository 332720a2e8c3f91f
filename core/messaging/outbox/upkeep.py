"""Upkeep of the outbox: claims given back when their sender died (by age, or by its stopped
heartbeat) and pending messages expired when too old to send."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from core.messaging.models import Notification, NotificationStatus
from core.messaging.outbox.table import TABLE, transition
from core.platform import leases
from core.platform.db import Database, utcnow
from core.platform.models import Lease


def recover_stale_claims(db: Database, older_than: timedelta, now: datetime | None = None,
                         *, channel: str | None = None) -> int:
    """Give claims that name no holder (``claimed_by`` NULL: a sender without a heartbeat)
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
    nothing (see the fencing note in the package's docstring).
    """
    now = now or utcnow()
    conditions = [Notification.status == NotificationStatus.SENDING,
                  Notification.claimed_by.is_(None),
                  Notification.claimed_at < now - older_than]
    if channel is not None:
        conditions.append(Notification.channel == channel)
    return transition(
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
    sending = (TABLE.c.status == NotificationStatus.SENDING, TABLE.c.channel == channel)
    with db.write_engine.begin() as connection:
        rows = connection.execute(
            select(Lease.holder, Lease.renewed_at, Lease.expires_at).where(prefix)).all()
        claimants = set(connection.scalars(
            select(TABLE.c.claimed_by).distinct()
            .where(*sending, TABLE.c.claimed_by.is_not(None))).all())
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
                update(TABLE).where(*sending, TABLE.c.claimed_by == holder, unchanged)
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
    return transition(
        db, Notification.status == NotificationStatus.PENDING,
        Notification.created_at < now - max_age,
        status=NotificationStatus.EXPIRED, last_error=reason_value)
