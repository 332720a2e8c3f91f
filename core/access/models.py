"""API tokens and the staff sessions opened with them (only hashes are stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.platform.db import utcnow
from core.platform.models import Base, BigId


class ApiToken(Base):
    """A bearer token with one role: a service's (``records``, ``kiosk``, ``staff``), or a
    staff user's personal token (role ``user``, ``user_id`` set) that acts as that user."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff_users.id"), index=True)


class StaffSession(Base):
    """A staff member's signed-in session: the cookie carries its random id, the database
    its hash, so signing out (``ended_at``) ends it on every machine. Opened either with a
    ``staff`` token (``token_id``: the phone simulator's sign-in) or by a staff user's
    password (``user_id``)."""

    __tablename__ = "staff_sessions"
    __table_args__ = (UniqueConstraint("session_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64))
    token_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class StaffUser(Base):
    """A member of staff who signs in with a login and password (Citizen's Voice roles).

    ``coordinator``, ``specialist`` and ``agency_leader`` belong to one agency;
    ``leadership`` and ``admin`` to none. Only the password's argon2 hash is kept.
    """

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    agency_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("agencies.id"), index=True)
    # Staff of one of the emirate's departments (``Actor.department_id``); their agency is
    # the emirate.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"),
                                                      index=True)
    mobile: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    # "ar" or "en": the language of the messages written to this user alone (the weekly
    # digest); None: the deployment's (``locale.default_language``).
    language: Mapped[str | None] = mapped_column(String(2))
    password_hash: Mapped[str] = mapped_column(String(200))
    # Set by an admin's reset or at creation: the first sign-in asks for a new password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # A disabled account and its tokens stop working at once; the row stays for the audit.
    disabled_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who read or changed what: one row per action of a signed-in user or a user's token
    (a case's own history lives in its events; reads and administration live here)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_kind", "object_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff_users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    # "read", "create", "update", "disable", "sign_in", "sign_in_failed", ...
    action: Mapped[str] = mapped_column(String(30))
    object_kind: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
