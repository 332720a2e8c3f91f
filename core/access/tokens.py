"""API tokens: random, shown once, stored as a SHA-256 hash, each with one role."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.access.models import ApiToken
from core.platform.db import utcnow
from core.platform.errors import InvalidRequest

ROLES = ("records", "kiosk", "staff")
# A staff user's personal token (``core.access.users``): it acts as that user, and is
# accepted only where a user is (never where a service role is asked for).
USER_ROLE = "user"
PREFIX = "gw_"
# A token's last use is written at most this often per token and process: an audit needs
# the day, not every request (each would be a write on the request's path).
USE_RECORDED_EVERY_SECONDS = 60.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who a valid token belongs to."""

    token_id: int
    name: str
    role: str
    user_id: int | None = None  # a personal token's user (role ``user``)


def token_hash(token: str) -> str:
    # Tokens are 256 random bits: a plain hash is enough, no salt or stretching needed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(sessions: sessionmaker[Session], role: str, name: str) -> str:
    """Make a token; the clear value is returned here and nowhere else."""
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}", code="invalid_role")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidRequest("name: 1 to 100 characters", code="invalid_name")
    token = new_token()
    with sessions.begin() as session:
        session.add(ApiToken(name=name, role=role, token_hash=token_hash(token)))
    return token


def new_token() -> str:
    """A fresh token's clear value (store only its ``token_hash``)."""
    return PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenRecord:
    """What ``gateway token list`` shows of a token: never its value nor its hash."""

    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def list_tokens(sessions: sessionmaker[Session]) -> list[TokenRecord]:
    """Every token ever made, revoked ones too (an audit of who held access), oldest first."""
    with sessions() as session:
        rows = session.execute(
            select(ApiToken.name, ApiToken.role, ApiToken.created_at, ApiToken.last_used_at,
                   ApiToken.revoked_at).order_by(ApiToken.created_at, ApiToken.id)).all()
    return [TokenRecord(row.name, row.role, row.created_at, row.last_used_at, row.revoked_at)
            for row in rows]


def revoke_token(sessions: sessionmaker[Session], name: str) -> int:
    with sessions.begin() as session:
        result = cast(CursorResult[Any], session.execute(
            update(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())))
        return result.rowcount


# What create_token makes: the prefix and 32 random bytes in URL-safe base64 (43 chars).
TOKEN_SHAPE = re.compile(r"gw_[A-Za-z0-9_-]{43}")


class TokenVerifier:
    """Checks bearer tokens against this process's copy of the active ones.

    The copy (every active token's hash and role: as many as the operator made) is read
    in one query and believed for ``ttl`` seconds, so a revoked token stops working
    within ``ttl`` on every machine. A token not of our shape is refused before anything
    else. A token of our shape missing from a fresh copy may be one made since: the copy
    is read again, but only while a small budget allows (``reloads_burst``, refilled at
    ``reloads_per_second``), so a flood of made-up tokens costs a query a second, not one
    each. A token refused against the current copy is remembered (a bounded list that
    forgets its oldest) and does not spend the budget again; a new token waits at most a
    second after a flood for the budget.
    """

    def __init__(self, sessions: sessionmaker[Session], *, ttl: float = 30.0,
                 reloads_burst: int = 5, reloads_per_second: float = 1.0,
                 refused_kept: int = 1024,
                 clock: Callable[[], float] = time.monotonic,
                 writes: sessionmaker[Session] | None = None,
                 use_recorded_every: float = USE_RECORDED_EVERY_SECONDS) -> None:
        self._sessions = sessions
        # Where a token's last use is recorded (None: not recorded), and when this process
        # last recorded each token's (by id).
        self._writes = writes
        self._use_every = use_recorded_every
        self._recorded: dict[int, float] = {}
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, Principal] = {}
        self._loaded_at = float("-inf")
        self._refused: OrderedDict[str, float] = OrderedDict()  # digest -> copy refused in
        self._refused_kept = refused_kept
        self._burst = float(reloads_burst)
        self._rate = reloads_per_second
        self._budget = float(reloads_burst)
        self._budget_at = clock()
        self._lock = threading.Lock()
        self._reloading = threading.Lock()

    def verify(self, token: str | None) -> Principal | None:
        if not token or not TOKEN_SHAPE.fullmatch(token):
            return None
        digest = token_hash(token)
        now = self._clock()
        with self._lock:
            fresh = now - self._loaded_at < self._ttl
            principal = self._known.get(digest)
            believed = fresh and (principal is not None or not self._may_reload(digest, now))
        if believed:
            return self._used(principal, now)
        loaded_at = self._reload(now)
        with self._lock:
            principal = self._known.get(digest)
            if principal is None:
                self._refused[digest] = loaded_at
                self._refused.move_to_end(digest)
                while len(self._refused) > self._refused_kept:
                    self._refused.popitem(last=False)
        return self._used(principal, now)

    def _used(self, principal: Principal | None, now: float) -> Principal | None:
        """Record a valid token's use, at most once per ``use_recorded_every`` seconds per
        token in this process; a failed write is logged and never refuses the token."""
        if principal is None or self._writes is None:
            return principal
        with self._lock:
            last = self._recorded.get(principal.token_id)
            if last is not None and now - last < self._use_every:
                return principal
            self._recorded[principal.token_id] = now
        try:
            with self._writes.begin() as session:
                session.execute(update(ApiToken).where(ApiToken.id == principal.token_id)
                                .values(last_used_at=utcnow()))
        except SQLAlchemyError:
            log.warning("could not record the use of token %r (it is accepted all the same)",
                        principal.name, exc_info=True)
        return principal

    def _may_reload(self, digest: str, now: float) -> bool:
        """Whether a token missing from a fresh copy may have it read again (lock held)."""
        if self._refused.get(digest) == self._loaded_at:
            return False  # refused against this very copy already
        self._budget = min(self._burst, self._budget + (now - self._budget_at) * self._rate)
        self._budget_at = now
        if self._budget < 1.0:
            return False
        self._budget -= 1.0
        return True

    def _reload(self, asked_at: float) -> float:
        """Read the active tokens, unless another thread did since ``asked_at``; the time
        of the copy now in use."""
        with self._reloading:
            if self._loaded_at >= asked_at:
                return self._loaded_at
            started = self._clock()
            with self._sessions() as session:
                rows = session.execute(
                    select(ApiToken.token_hash, ApiToken.id, ApiToken.name, ApiToken.role,
                           ApiToken.user_id)
                    .where(ApiToken.revoked_at.is_(None))).all()
            known = {row.token_hash: Principal(row.id, row.name, row.role, row.user_id)
                     for row in rows}
            with self._lock:
                self._known, self._loaded_at = known, started
            return started
