"""Leases: one holder at a time for a named piece of work, across processes and machines.

The overdue scan, the mailbox poller and the SMPP bind must each run in one place even
when several gateway machines are configured to run them. A lease is a row naming its
holder and when the claim runs out; the holder renews it well before then. If the holder
dies, the lease expires and another process takes it over; a holder whose process is gone
(a crash, then a restart), seen from the same machine and pid namespace, is taken over
at once, without waiting for the expiry (``reclaimable``). Every change is one
conditional UPDATE (or the INSERT that creates the row), so two contenders can never both
win: the database's row lock decides, on SQLite and on PostgreSQL alike.

A holder must stop the work when ``renew`` returns False: someone else holds it now.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError

from core.platform.db import Database, utcnow
from core.platform.models import Lease

# Each running SMS channel keeps a lease of its own under this prefix as its heartbeat
# (its bind state for /healthz on any machine); SMS channels do not exclude each other.
SMS_CHANNEL_PREFIX = "sms:"
# Each running e-mail sender likewise: its claims go back once it stops.
EMAIL_SENDER_PREFIX = "email-sender:"

_NAME_MAX = 64  # the name column's length


def namespace_identity() -> str | None:
    """This boot of this machine and this process's pid namespace, as 12 hex digits.

    A pid means something only there: two containers given the same host name (the
    same compose ``hostname:``, or ``docker --network host``) with pid namespaces of
    their own each see the other's processes as gone. The boot id changes at every boot
    and differs between machines; the namespace's inode tells the namespaces of one boot
    apart. None where either is unknown (not Linux, /proc not mounted): then no lease is
    taken over early, from here or by anyone else.
    """
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as file:
            boot_id = file.read().strip()
        namespace = os.stat("/proc/self/ns/pid")
    except OSError:
        return None
    if not boot_id:
        return None
    seed = f"{boot_id}:{namespace.st_dev}:{namespace.st_ino}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]


def holder_name(component: str) -> str:
    """A holder id that tells an operator which machine and process holds the lease.

    ``component@host:pid:random/identity``: the ``namespace_identity`` goes last, after
    the random part (without it when unknown), so the name still reads, and parses, as
    ``component@host:pid:random``, and a name cut short (the SMS heartbeat's lease name)
    loses the identity before the part that makes it unique.
    """
    name = f"{component}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    identity = namespace_identity()
    return f"{name}/{identity}" if identity else name


def heartbeat_name(prefix: str, holder: str) -> str:
    """The name of ``holder``'s heartbeat lease under ``prefix`` (a ``holder_name``): at
    most the column's 64 characters, and unique per holder however long the host name (a
    hash of the whole holder, then its end: the pid and the random suffix)."""
    name = f"{prefix}{holder}"
    if len(name) <= _NAME_MAX:
        return name
    digest = hashlib.sha256(holder.encode()).hexdigest()[:12]
    keep = _NAME_MAX - len(prefix) - len(digest) - 1
    return f"{prefix}{digest}~{holder[-keep:]}"


def reclaimable(holder: str) -> bool:
    """Whether ``holder`` (a ``holder_name``) names a process that is gone, as seen here.

    A process that crashed and was restarted has a new pid: its old lease is then free at
    once, not after its expiry. That holds only for a holder of this host name whose
    ``namespace_identity`` is ours: the same boot of the same machine, the same pid
    namespace, where its pid means the same process. A holder from another namespace
    (a container sharing the host name), of unknown identity (a name without one, as
    before identities were recorded) or whose pid is still alive (our own, or reused by
    another process) keeps the lease until it expires, as it would anyway.
    """
    _component, at, rest = holder.partition("@")
    host_pid, _sep, random_identity = rest.rpartition(":")
    host, _sep, pid = host_pid.rpartition(":")
    _random, _sep, identity = random_identity.partition("/")
    if not at or host != socket.gethostname() or not pid.isdigit():
        return False
    ours = namespace_identity()
    if ours is None or identity != ours:
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, though another user's
        return False
    return False


def acquire(db: Database, name: str, holder: str, ttl: timedelta, *,
            now: datetime | None = None, state: dict[str, Any] | None = None) -> bool:
    """Take the lease if it is free, expired or already ours; True when we hold it now."""
    now = now or utcnow()
    if renew(db, name, holder, ttl, now=now, state=state):
        return True
    values = {"holder": holder, "acquired_at": now, "renewed_at": now,
              "expires_at": now + ttl, "state": state or {}}
    with db.write.begin() as session:
        if cast(CursorResult[Any], session.execute(
                update(Lease).where(Lease.name == name, Lease.expires_at <= now)
                .values(**values).execution_options(synchronize_session=False))).rowcount:
            return True
        held_by = session.scalar(select(Lease.holder).where(Lease.name == name))
        if held_by is not None:
            # Conditional on the very holder seen dead: of two restarted contenders one wins.
            return reclaimable(held_by) and bool(cast(CursorResult[Any], session.execute(
                update(Lease).where(Lease.name == name, Lease.holder == held_by)
                .values(**values).execution_options(synchronize_session=False))).rowcount)
    # No row yet: the first to insert it holds the lease.
    try:
        with db.write.begin() as session:
            session.add(Lease(name=name, **values))
        return True
    except IntegrityError:
        return False


def renew(db: Database, name: str, holder: str, ttl: timedelta, *,
          now: datetime | None = None, state: dict[str, Any] | None = None) -> bool:
    """Extend our lease; False when it is no longer ours (it expired and was taken)."""
    now = now or utcnow()
    values: dict[str, Any] = {"renewed_at": now, "expires_at": now + ttl}
    if state is not None:
        values["state"] = state
    with db.write.begin() as session:
        return bool(cast(CursorResult[Any], session.execute(
            update(Lease).where(Lease.name == name, Lease.holder == holder)
            .values(**values).execution_options(synchronize_session=False))).rowcount)


def release(db: Database, name: str, holder: str) -> bool:
    """Give the lease up at a clean stop, so another process need not wait for expiry."""
    with db.write.begin() as session:
        return bool(cast(CursorResult[Any], session.execute(
            delete(Lease).where(Lease.name == name, Lease.holder == holder)
            .execution_options(synchronize_session=False))).rowcount)


@dataclass(frozen=True)
class LeaseView:
    name: str
    holder: str
    renewed_at: datetime
    expires_at: datetime
    state: dict[str, Any]

    def live(self, now: datetime | None = None) -> bool:
        return self.expires_at > (now or utcnow())


def current(db: Database) -> dict[str, LeaseView]:
    """Every lease row, live or expired, for /healthz and the operator pages."""
    with db.read() as session:
        rows = session.scalars(select(Lease)).all()
        return {row.name: LeaseView(row.name, row.holder, row.renewed_at, row.expires_at,
                                    dict(row.state or {})) for row in rows}
