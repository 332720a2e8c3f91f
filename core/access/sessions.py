"""Staff sessions on the server: signing out, idling and age end them on every machine.

The staff pages' cookie carries only a random session id; the database keeps its hash,
the token it was opened with, when it began and when it was last used. Each request
checks that row (one query), so a session ends for good when its holder signs out (a
copied cookie is refused from then on), after ``idle`` without a request, after
``lifetime`` whatever happens, and when its token is revoked or loses the role.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update

from core.access.models import ApiToken, StaffSession
from core.access.tokens import Principal, token_hash
from core.platform.clock import utcnow
from core.platform.db import Database

# How stale ``last_seen_at`` may be before a request writes it again: the idle timeout is
# that much less exact, and a busy staff page costs a write a minute, not one a request.
TOUCH_EVERY = timedelta(seconds=60)
# Ended and long-idle rows are deleted when a session opens (idle is at most a day).
KEEP_DEAD = timedelta(days=2)


class StaffSessions:
    """Open, check and end the staff sessions kept in ``staff_sessions``."""

    def __init__(self, db: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self.now = now  # the clock sessions age by (a test moves it)

    def open(self, token_id: int) -> str:
        """A new session for this token: the clear id, for the cookie only."""
        session_id = secrets.token_urlsafe(32)
        now = self.now()
        with self._db.write.begin() as session:
            session.execute(delete(StaffSession).where(or_(
                StaffSession.ended_at.is_not(None),
                StaffSession.last_seen_at < now - KEEP_DEAD)))
            session.add(StaffSession(session_hash=token_hash(session_id), token_id=token_id,
                                     created_at=now, last_seen_at=now))
        return session_id

    def check(self, session_id: str, role: str, *, idle: timedelta,
              lifetime: timedelta) -> Principal | None:
        """Who holds this session, while it is open, recent, young enough and its token
        active with ``role``; a session found too idle or too old is ended here."""
        digest = token_hash(session_id)
        with self._db.read() as session:
            row = session.execute(
                select(StaffSession.id, StaffSession.created_at, StaffSession.last_seen_at,
                       ApiToken.id.label("token_id"), ApiToken.name, ApiToken.role)
                .join(ApiToken, ApiToken.id == StaffSession.token_id)
                .where(StaffSession.session_hash == digest, StaffSession.ended_at.is_(None),
                       ApiToken.revoked_at.is_(None), ApiToken.role == role)).first()
        if row is None:
            return None
        now = self.now()
        if now - row.last_seen_at > idle or now - row.created_at > lifetime:
            self._end(StaffSession.id == row.id, now)
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            self._touch(row.id, now)
        return Principal(row.token_id, row.name, row.role)

    def end(self, session_id: str) -> None:
        """Sign out: the session is refused from now on, wherever its cookie comes from."""
        self._end(StaffSession.session_hash == token_hash(session_id), self.now())

    def _end(self, which: ColumnElement[bool], now: datetime) -> None:
        with self._db.write.begin() as session:
            session.execute(update(StaffSession).where(which, StaffSession.ended_at.is_(None))
                            .values(ended_at=now))

    def _touch(self, row_id: int, now: datetime) -> None:
        # Never after the session ended, never backwards (another request wrote later).
        with self._db.write.begin() as session:
            session.execute(update(StaffSession).where(
                StaffSession.id == row_id, StaffSession.last_seen_at < now,
                StaffSession.ended_at.is_(None)).values(last_seen_at=now))
