"""Multi-part SMS kept in the database until whole.

A long SMS comes as parts, each acknowledged on its own; an SMSC never redelivers a part
it was told arrived. So each part is stored before its acknowledgement, and the message
is stored from its parts in the transaction that brings the last one: a restart between
parts loses nothing. Decoding stays with the adapter (a character may straddle two
parts): it hands over the raw bytes and, to join them, a function from a message's parts
to the ``Inbound`` to store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Insert, Select, bindparam, delete, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.messaging.inbound import RECIPIENT_MAX, Inbound, insert_new, new_rows, storable
from core.messaging.models import InboundPart
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.settings import CoreSettings


@dataclass(frozen=True)
class Part:
    """One part of a multi-part SMS as the adapter received it, undecoded.

    ``payload`` is the part without its header; ``coding`` is what the adapter needs to
    decode it (SMPP's data_coding). (``sender``, ``reference``, ``total``) ties the parts of
    one message together; ``seq`` is this part's place, 1 to ``total``.
    """

    sender: str
    recipient: str
    reference: int
    total: int
    seq: int
    payload: bytes
    coding: int = 0


# The adapter's joiner: the parts that arrived of one message, in order (all ``total``, or
# fewer once it waited too long), to the message to store. It must not raise.
Assemble = Callable[[list[Part]], Inbound]

_PARTS = InboundPart.__table__
_PART_SENDER_MAX = 64
_MESSAGE = (_PARTS.c.sender, _PARTS.c.reference, _PARTS.c.total)
_WAITING = _PARTS.c.joined_at.is_(None)


def receive_parts(db: Database, config: CoreSettings, parts: list[Part],
                  assemble: Assemble) -> int:
    """Store parts of multi-part SMS in one committed transaction, and with them every
    message they complete (assembled by ``assemble``, stored "received" for
    ``inbound.answer_pending``, same dedupe rule as ``inbound.receive_and_answer``); how
    many were completed.

    A redelivered part changes nothing, also for a while after its message was stored; a
    different part under a finished message's numbers starts a new message (a phone may
    reuse a reference). Only a database failure raises, and then the adapter must
    acknowledge none of the parts.
    """
    if not parts:
        return 0
    now = utcnow()
    with db.write_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes (two binds) storing two parts of one message at once would
            # each see only its own part and neither join them: one at a time per
            # message, in a fixed order (no deadlock).
            for key in sorted({_part_key(part) for part in parts}):
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                                   {"key": repr(key)})
        _store_parts(connection, parts, now)
        waiting = _waiting(connection, _OF_MESSAGES, {
            "messages": sorted({_part_key(part) for part in parts})})
        complete = [found for found in waiting if len(found[1]) == found[1][0].total]
        _join(connection, config, complete, assemble, now)
    return len(complete)


def expire_parts(db: Database, config: CoreSettings, older_than: timedelta,
                 assemble: Assemble, *, now: datetime | None = None) -> int:
    """Store, as they are, the messages still missing parts whose oldest part came
    ``older_than`` ago (also parts stored by a process that has since stopped), and forget
    parts of stored messages as old; how many messages were stored.

    Cheap when there is nothing to do (two indexed reads, no write lock): run it often.
    """
    now = now or utcnow()
    cutoff = now - older_than
    with db.lookup.connect() as connection:
        due = connection.execute(_ANY_OVERDUE, {"cutoff": cutoff}).first()
        stale = connection.execute(_ANY_FORGOTTEN, {"cutoff": cutoff}).first()
    if due is None and stale is None:
        return 0
    with db.write_engine.begin() as connection:
        connection.execute(_FORGET, {"cutoff": cutoff})
        waiting = _waiting(connection, _OF_OVERDUE_MESSAGES, {"cutoff": cutoff})
        _join(connection, config, waiting, assemble, now)
    return len(waiting)


# The statements, built once (this runs for every part received).
_OVERDUE = _WAITING & (_PARTS.c.received_at <= bindparam("cutoff"))
_FORGOTTEN = _PARTS.c.joined_at <= bindparam("cutoff")
_ANY_OVERDUE = select(_PARTS.c.id).where(_OVERDUE).limit(1)
_ANY_FORGOTTEN = select(_PARTS.c.id).where(_FORGOTTEN).limit(1)
_FORGET = delete(_PARTS).where(_FORGOTTEN)
# Locked, so that of two transactions joining one message (its last part and the
# timeout), the second finds the parts joined and leaves them.
_OF_MESSAGES = select(_PARTS).where(
    _WAITING, tuple_(*_MESSAGE).in_(bindparam("messages", expanding=True))
).order_by(_PARTS.c.id).with_for_update()
_OF_OVERDUE_MESSAGES = select(_PARTS).where(
    _WAITING, tuple_(*_MESSAGE).in_(select(*_MESSAGE).where(_OVERDUE))
).order_by(_PARTS.c.id).with_for_update()
_MARK_JOINED = update(_PARTS).where(
    _PARTS.c.id.in_(bindparam("ids", expanding=True))).values(joined_at=bindparam("now"))


def _upsert_parts(dialect: str) -> Insert:
    """Insert a part; one already waiting, or the same bytes again after its message was
    joined, is left as it is; different bytes under a joined part's numbers take its place
    (a new message reusing the reference)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(_PARTS)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["sender", "reference", "total", "seq"],
        set_={"recipient": new.recipient, "payload": new.payload, "coding": new.coding,
              "received_at": new.received_at, "joined_at": None},
        where=_PARTS.c.joined_at.is_not(None) & (_PARTS.c.payload != new.payload))


_UPSERT_PARTS = {name: _upsert_parts(name) for name in ("postgresql", "sqlite")}


def _part_key(part: Part) -> tuple[str, int, int]:
    return (storable(part.sender.strip())[:_PART_SENDER_MAX], part.reference, part.total)


def _store_parts(connection: Connection, parts: list[Part], now: datetime) -> None:
    rows: dict[tuple[str, int, int, int], dict[str, object]] = {}
    for part in parts:
        sender, reference, total = _part_key(part)
        # One row per part and statement: PostgreSQL refuses to upsert a row twice in one.
        rows.setdefault((sender, reference, total, part.seq), {
            "sender": sender, "reference": reference, "total": total, "seq": part.seq,
            "recipient": storable(part.recipient.strip())[:RECIPIENT_MAX],
            "payload": part.payload, "coding": part.coding, "received_at": now,
            "joined_at": None,
        })
    connection.execute(_UPSERT_PARTS[connection.dialect.name], list(rows.values()))


def _waiting(connection: Connection, statement: Select[*tuple[Any, ...]],
             parameters: dict[str, object]) -> list[tuple[list[int], list[Part]]]:
    """The waiting parts ``statement`` selects, grouped by message: (ids, parts in order)."""
    found: dict[tuple[str, int, int], tuple[list[int], list[Part]]] = {}
    rows = connection.execute(statement, parameters).all()
    for row in sorted(rows, key=lambda row: row.seq):
        ids, parts = found.setdefault((row.sender, row.reference, row.total), ([], []))
        ids.append(row.id)
        parts.append(Part(row.sender, row.recipient, row.reference, row.total, row.seq,
                          bytes(row.payload), row.coding))
    return list(found.values())


def _join(connection: Connection, config: CoreSettings,
          messages: list[tuple[list[int], list[Part]]], assemble: Assemble,
          now: datetime) -> None:
    """Store each message from its parts and mark the parts joined."""
    if not messages:
        return
    insert_new(connection, new_rows(config, [assemble(parts) for _, parts in messages]))
    connection.execute(_MARK_JOINED, {
        "ids": [part_id for ids, _ in messages for part_id in ids], "now": now})
