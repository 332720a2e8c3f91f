"""Leases: one holder at a time for a named piece of work, across processes and machines.

The overdue scan, the mailbox poller and the SMPP bind must each run in one place even
when several gateway machines are configured to run them. A lease is a row naming its
holder and when the claim runs out; the holder renews it well before then. If the holder
dies, the lease expires and another process takes it over; a holder on this machine whose
process is gone (a crash, then a restart) is taken over at once, without waiting for
the expiry (``reclaimable``). Every change is one
conditional UPDATE (or the INSERT that creates the row), so two contenders can never both
win: the database's row lock decides, on SQLite and on PostgreSQL alike.

A holder must stop the work when ``renew`` returns False: someone else holds it now.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from core.db import Database, utcnow
from core.models import Lease

# Each running SMS channel keeps a lease of its own under this prefix as its heartbeat
# (its bind state for /healthz on any machine); SMS channels do not exclude each other.
SMS_CHANNEL_PREFIX = "sms:"


def holder_name(component: str) -> str:
    """A holder id that tells an operator which machine and process holds the lease."""
    return f"{component}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def reclaimable(holder: str) -> bool:
    """Whether ``holder`` (a ``holder_name``) names a process of this machine that is gone.

    A process that crashed and was restarted has a new pid: its old lease is then free at
    once, not after its expiry. Only the same host name counts as this machine (give each
    machine or container running the gateway its own), and a pid still alive (our own,
    or reused by another process) keeps the lease until it expires, as it would anyway.
    """
    _component, at, rest = holder.partition("@")
    host_pid, _sep, _random = rest.rpartition(":")
    host, _sep, pid = host_pid.rpartition(":")
    if not at or host != socket.gethostname() or not pid.isdigit():
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
        if session.execute(
                update(Lease).where(Lease.name == name, Lease.expires_at <= now)
                .values(**values).execution_options(synchronize_session=False)).rowcount:
            return True
        held_by = session.scalar(select(Lease.holder).where(Lease.name == name))
        if held_by is not None:
            # Conditional on the very holder seen dead: of two restarted contenders one wins.
            return reclaimable(held_by) and bool(session.execute(
                update(Lease).where(Lease.name == name, Lease.holder == held_by)
                .values(**values).execution_options(synchronize_session=False)).rowcount)
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
        return bool(session.execute(
            update(Lease).where(Lease.name == name, Lease.holder == holder)
            .values(**values).execution_options(synchronize_session=False)).rowcount)


def release(db: Database, name: str, holder: str) -> bool:
    """Give the lease up at a clean stop, so another process need not wait for expiry."""
    with db.write.begin() as session:
        return bool(session.execute(
            delete(Lease).where(Lease.name == name, Lease.holder == holder)
            .execution_options(synchronize_session=False)).rowcount)


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
