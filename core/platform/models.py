"""The declarative base every feature's tables share, and the leases table that several
processes agree through.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    Integer,
    MetaData,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.platform.db import UTCDateTime

if TYPE_CHECKING:
    from sqlalchemy import Table

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite wants INTEGER PRIMARY KEY for its rowid alias; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}

    if TYPE_CHECKING:
        # Every model here is mapped to a plain Table (SQLAlchemy types it as any
        # FromClause), so Core insert()/update() accept ``Model.__table__``.
        __table__: ClassVar[Table]


class Lease(Base):
    """A named piece of work only one process may do at a time (the overdue scan, the
    mailbox poller, the SMPP bind), held by whoever renewed it last before it expired.

    ``renewed_at`` doubles as the holder's heartbeat: /healthz on any machine reads it.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    renewed_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # What the holder wants an operator to see (bind state, last poll), free-form.
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FailureCount(Base):
    """Failed inquiries per key (a keyed hash of an origin, a credential, a number, or a
    pair of them) within a window opening at ``since``: shared by every process.

    ``since`` is wall-clock seconds (a float, one comparison in SQL on either database).
    Rows whose window has passed are deleted by the upkeep, or start over on the next
    failure.
    """

    __tablename__ = "failure_counts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    since: Mapped[float] = mapped_column(Double, index=True)
