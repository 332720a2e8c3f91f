"""The outbox table as every job shares it: a claimed row's plain values (``Claimed``), read
from the table directly, and the guarded update each state change goes through."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, update
from sqlalchemy.orm import Session

from core.messaging.models import Notification
from core.platform.db import Database

# The hot paths (claims, transitions) use the table with a connection: no ORM session.
TABLE = Notification.__table__
# The columns a claim returns, in ``Claimed``'s order.
CLAIMED_COLUMNS = (TABLE.c.id, TABLE.c.recipient, TABLE.c.body, TABLE.c.language, TABLE.c.kind,
                   TABLE.c.audience, TABLE.c.priority, TABLE.c.attempts,
                   TABLE.c.segments_accepted)


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


def dialect(executor: Session | Connection) -> str:
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    return bind.dialect.name


def transition(db: Database, *conditions: ColumnElement[bool], **values: object) -> int:
    """Update the rows meeting ``conditions`` in one unit of work; how many changed.

    A connection and the table, not an ORM session: these run for every message sent.
    """
    with db.write_engine.begin() as connection:
        return connection.execute(update(TABLE).where(*conditions).values(**values)).rowcount
