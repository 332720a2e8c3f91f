"""API tokens: random, shown once, stored as a SHA-256 hash, each with one role."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.access.models import ApiToken
from core.platform.db import utcnow
from core.platform.errors import InvalidRequest

ROLES = ("records", "kiosk", "staff")
PREFIX = "gw_"


@dataclass(frozen=True)
class Principal:
    """Who a valid token belongs to."""

    token_id: int
    name: str
    role: str


def _hash(token: str) -> str:
    # Tokens are 256 random bits: a plain hash is enough, no salt or stretching needed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(sessions: sessionmaker[Session], role: str, name: str) -> str:
    """Make a token; the clear value is returned here and nowhere else."""
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidRequest("name: 1 to 100 characters", code="invalid_name")
    token = PREFIX + secrets.token_urlsafe(32)
    with sessions.begin() as session:
        session.add(ApiToken(name=name, role=role, token_hash=_hash(token)))
    return token


def revoke_token(sessions: sessionmaker[Session], name: str) -> int:
    with sessions.begin() as session:
        result = cast(CursorResult[Any], session.execute(
            update(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())))
        return result.rowcount


def is_active(sessions: sessionmaker[Session], token_id: int, role: str) -> bool:
    """Whether the token with this id still exists with this role and is not revoked."""
    with sessions() as session:
        return session.scalar(select(ApiToken.id).where(
            ApiToken.id == token_id, ApiToken.role == role,
            ApiToken.revoked_at.is_(None))) is not None


class TokenVerifier:
    """Checks bearer tokens, remembering good ones for ``ttl`` seconds.

    The cache keeps the database out of the hot path; a revoked token stops working
    within ``ttl`` seconds on every machine.
    """

    def __init__(self, sessions: sessionmaker[Session], *, ttl: float = 30.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str | None) -> Principal | None:
        if not token or len(token) > 200:
            return None
        digest = _hash(token)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached and cached[0] > now:
            return cached[1]
        with self._sessions() as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest,
                                                        ApiToken.revoked_at.is_(None)))
            principal = Principal(row.id, row.name, row.role) if row else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + self._ttl, principal)
        return principal

    def is_active(self, token_id: int, role: str) -> bool:
        """Whether a signed-in token is still active (uncached: a revocation ends the
        session at the next request)."""
        return is_active(self._sessions, token_id, role)
