"""The audit log: who read or changed what, written in the same database transaction as
the act it records (a read is recorded as it is served)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.access.actors import Actor
from core.access.models import AuditEntry
from core.platform.clock import utcnow


def record(session: Session, actor: Actor | None, action: str, object_kind: str,
           object_id: str = "", detail: str = "", *, role: str | None = None) -> None:
    """One audit row in ``session``'s transaction. ``actor`` None is the system or an
    anonymous caller (then ``role`` says which: "system", "citizen", "anonymous")."""
    session.add(AuditEntry(
        at=utcnow(), user_id=actor.user_id if actor else None,
        role=actor.role if actor else (role or "system"), action=action[:30],
        object_kind=object_kind[:30], object_id=object_id[:64], detail=detail[:2000]))
