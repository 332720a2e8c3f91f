"""Staff sessions on the server: signing out, idling and age end them on every machine.

The staff pages' cookie carries only a random session id; the database keeps its hash,
who opened it (a ``staff`` token, or a staff user by password), when it began and when
it was last used. Each request checks that row (one query), so a session ends for good
when its holder signs out (a copied cookie is refused from then on), after ``idle``
without a request, after ``lifetime`` whatever happens, when its token is revoked or
loses the role, and when its user is disabled, reset or changes their password
elsewhere.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from core.access.actors import Actor
from core.access.models import ApiToken, StaffSession, StaffUser
from core.access.tokens import Principal, token_hash
from core.platform.clock import utcnow
from core.platform.db import Database

# How stale ``last_seen_at`` may be before a request writes it again: the idle timeout is
# that much less exact, and a busy staff page costs a write a minute, not one a request.
TOUCH_EVERY = timedelta(seconds=60)
# Ended and long-idle rows are deleted when a session opens (idle is at most a day).
KEEP_DEAD = timedelta(days=2)


@dataclass(frozen=True)
class UserSession:
    """A staff user's open session: who they are, and whether they must first choose a
    new password (after an account's creation or an admin's reset)."""

    actor: Actor
    must_change_password: bool


def end_user_sessions(session: Session, user_id: int, now: datetime, *,
                      keep: str | None = None) -> None:
    """End every open session of the user (but ``keep``, a clear session id), in
    ``session``'s transaction: with the change that calls for it (disabling, a reset, a
    new password)."""
    which = [StaffSession.user_id == user_id, StaffSession.ended_at.is_(None)]
    if keep is not None:
        which.append(StaffSession.session_hash != token_hash(keep))
    session.execute(update(StaffSession).where(*which).values(ended_at=now))


class StaffSessions:
    """Open, check and end the staff sessions kept in ``staff_sessions``."""

    def __init__(self, db: Database, *, now: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self.now = now  # the clock sessions age by (a test moves it)

    def open(self, token_id: int) -> str:
        """A new session for this token: the clear id, for the cookie only."""
        return self._open(token_id=token_id)

    def open_for_user(self, user_id: int) -> str:
        """A new session for this staff user (signed in by password): the clear id."""
        return self._open(user_id=user_id)

    def _open(self, *, token_id: int | None = None, user_id: int | None = None) -> str:
        session_id = secrets.token_urlsafe(32)
        now = self.now()
        with self._db.write.begin() as session:
            session.execute(delete(StaffSession).where(or_(
                StaffSession.ended_at.is_not(None),
                StaffSession.last_seen_at < now - KEEP_DEAD)))
            session.add(StaffSession(session_hash=token_hash(session_id), token_id=token_id,
                                     user_id=user_id, created_at=now, last_seen_at=now))
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
        if row is None or not self._alive(row.id, row.created_at, row.last_seen_at, idle,
                                          lifetime):
            return None
        return Principal(row.token_id, row.name, row.role)

    def check_user(self, session_id: str, *, idle: timedelta,
                   lifetime: timedelta) -> UserSession | None:
        """Who holds this session, while it is open, recent, young enough and its user
        not disabled (checked on every request: disabling ends it at once)."""
        digest = token_hash(session_id)
        with self._db.read() as session:
            row = session.execute(
                select(StaffSession.id, StaffSession.created_at, StaffSession.last_seen_at,
                       StaffUser.id.label("user_id"), StaffUser.login, StaffUser.name,
                       StaffUser.role, StaffUser.agency_id, StaffUser.department_id,
                       StaffUser.must_change_password)
                .join(StaffUser, StaffUser.id == StaffSession.user_id)
                .where(StaffSession.session_hash == digest, StaffSession.ended_at.is_(None),
                       StaffUser.disabled_at.is_(None))).first()
        if row is None or not self._alive(row.id, row.created_at, row.last_seen_at, idle,
                                          lifetime):
            return None
        return UserSession(Actor(row.user_id, row.login, row.name, row.role, row.agency_id,
                                  row.department_id),
                           row.must_change_password)

    def _alive(self, row_id: int, created_at: datetime, last_seen_at: datetime,
               idle: timedelta, lifetime: timedelta) -> bool:
        """Whether the session is recent and young enough; one found too idle or too old
        is ended here, one in use has its last use written (at most once a minute)."""
        now = self.now()
        if now - last_seen_at > idle or now - created_at > lifetime:
            self._end(StaffSession.id == row_id, now)
            return False
        if now - last_seen_at > TOUCH_EVERY:
            self._touch(row_id, now)
        return True

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
