"""Slots: one of ``count`` interchangeable leases, for work an agreement allows ``count``
of at a time across processes and machines (the SMSC's binds on one account).

Slot ``k`` is the lease row ``<prefix><k>``; a holder holds at most one. A slot is free
when it has no row (never taken, or given up at a clean stop), when its holder names a
process of this machine that is gone (``leases.reclaimable``), or when its row has stood
still, the same version, for the lease's own lifetime (``expires_at - renewed_at``),
counted on this process's monotonic clock from the moment it first saw that version:
as ``outbox.Heartbeats`` does, so two machines whose clocks disagree never hold one
slot at once. A holder that cannot renew stops using its slot before its lifetime ends
(its own deadline); whoever takes the slot over waits at least that lifetime after the
last renewal it saw. Every take is one conditional write (an INSERT of a missing row, or
an UPDATE naming the exact version seen), so of two contenders one wins.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, insert, select, update
from sqlalchemy.exc import IntegrityError

from core.platform import leases
from core.platform.db import Database, utcnow
from core.platform.models import Lease

_TABLE = Lease.__table__


class Slots:
    """What this process has seen of slots ``<prefix>0`` .. ``<prefix><count - 1>``, and
    the one call that keeps a holder in one of them (``hold``)."""

    def __init__(self, prefix: str, count: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if count < 1:
            raise ValueError("at least one slot")
        self.prefix = prefix
        self.count = count
        self._clock = clock
        # slot name -> (the row's version, when this process first saw that version)
        self._seen: dict[str, tuple[tuple[str, datetime, datetime], float]] = {}

    def name(self, index: int) -> str:
        return f"{self.prefix}{index}"

    def hold(self, db: Database, holder: str, ttl: timedelta, *,
             state: dict[str, Any] | None = None,
             now: datetime | None = None) -> int | None:
        """Renew the slot ``holder`` holds, else take a free one; its index, or None when
        every slot is another live holder's."""
        now = now or utcnow()
        values = {"renewed_at": now, "expires_at": now + ttl, "state": state or {}}
        with db.write_engine.begin() as connection:
            rows = self._observe(connection)
            for index in range(self.count):
                row = rows.get(self.name(index))
                if row is not None and row[0] == holder and _changed(connection, update(
                        _TABLE).where(_TABLE.c.name == self.name(index),
                                      _TABLE.c.holder == holder).values(**values)):
                    return index
            for index in self._free(rows):
                if self._take(connection, index, rows.get(self.name(index)), holder,
                              {**values, "holder": holder, "acquired_at": now}):
                    return index
        return None

    def release(self, db: Database, holder: str) -> None:
        """Give up whatever slot ``holder`` holds (a clean stop): free at once for others."""
        for index in range(self.count):
            leases.release(db, self.name(index), holder)

    def _observe(self, connection: Connection) -> dict[str, tuple[str, datetime, datetime]]:
        names = [self.name(index) for index in range(self.count)]
        rows = {name: (holder, renewed, expires) for name, holder, renewed, expires in
                connection.execute(select(_TABLE.c.name, _TABLE.c.holder,
                                          _TABLE.c.renewed_at, _TABLE.c.expires_at)
                                   .where(_TABLE.c.name.in_(names))).all()}
        now = self._clock()
        seen = {}
        for name, version in rows.items():
            earlier = self._seen.get(name)
            seen[name] = (version, earlier[1] if earlier and earlier[0] == version else now)
        self._seen = seen
        return rows

    def _free(self, rows: dict[str, tuple[str, datetime, datetime]]) -> list[int]:
        """The slots another holder may take now: missing rows first, then rows whose
        holder is gone or that stood still for their lifetime."""
        now = self._clock()
        missing, stopped = [], []
        for index in range(self.count):
            row = rows.get(self.name(index))
            if row is None:
                missing.append(index)
                continue
            holder, renewed, expires = row
            lifetime = (expires - renewed).total_seconds()
            if now - self._seen[self.name(index)][1] >= lifetime or leases.reclaimable(holder):
                stopped.append(index)
        return missing + stopped

    def _take(self, connection: Connection, index: int,
              seen: tuple[str, datetime, datetime] | None, holder: str,
              values: dict[str, Any]) -> bool:
        name = self.name(index)
        if seen is None:
            # A savepoint: a lost race to insert leaves the rest of the transaction usable
            # (PostgreSQL aborts the whole transaction on a failed statement otherwise).
            try:
                with connection.begin_nested():
                    connection.execute(insert(_TABLE).values(name=name, **values))
                return True
            except IntegrityError:
                return False
        old_holder, renewed, expires = seen
        return _changed(connection, update(_TABLE).where(
            _TABLE.c.name == name, _TABLE.c.holder == old_holder,
            _TABLE.c.renewed_at == renewed, _TABLE.c.expires_at == expires).values(**values))


def _changed(connection: Connection, statement: Any) -> bool:
    return bool(cast(CursorResult[Any], connection.execute(statement)).rowcount)
