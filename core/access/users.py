"""Staff users: accounts with a role (and, for the agency roles, an agency), signed in by
password, or acting through a personal API token.

Passwords are kept only as argon2id hashes (argon2-cffi's RFC 9106 parameters) and are
rehashed at the next sign-in when the parameters change. A sign-in costs one hash and
gets one answer whatever is wrong (no such login, a wrong password, a disabled or a
locked account), so nobody can learn which logins exist. Failures are counted twice:

- on the account's row, so every machine agrees: ``max_failures`` in a row lock it for
  ``LOCK_FIRST``, doubling with each failure after that (up to ``LOCK_LONGEST``); a
  success or an admin's reset starts again from nothing. Attempts while locked are
  refused without counting (they could only lengthen a stranger's lockout);
- per address, in the shared failure counters (``core.platform.ratelimit``): one place
  trying many logins (password spraying) is refused after ``address_max_failures``
  within the window, whatever the logins, before any hash is computed.

Every sign-in, failure, lockout, creation, reset, disabling and token is a row of the
audit log, in the transaction of the change it records.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import column, select, table, update
from sqlalchemy.orm import Session

from core.access import audit
from core.access.actors import ADMIN, AGENCY_ROLES, USER_ROLES, Actor
from core.access.models import ApiToken, StaffUser
from core.access.sessions import end_user_sessions
from core.access.tokens import USER_ROLE, Principal, new_token, token_hash
from core.identity.phones import InvalidMobile, normalize_mobile
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.errors import Conflict, Forbidden, InvalidRequest, NotFound
from core.platform.i18n import LANGUAGES
from core.platform.ratelimit import DatabaseFailureCounts, FailureCounts, origin_group
from core.platform.settings import CoreSettings

MAX_FAILURES = 5  # wrong passwords in a row before the account locks
LOCK_FIRST = timedelta(minutes=5)
LOCK_LONGEST = timedelta(hours=24)
# Failed sign-ins from one address (an IPv6 /64) within the failure window before it is
# refused: a few people's typos behind one office's NAT, not a spray over many logins.
ADDRESS_MAX_FAILURES = 20

MIN_PASSWORD = 12
MAX_PASSWORD = 256  # argon2 takes any length; a megabyte "password" is not one
# login: a letter, then letters, digits, '.', '_' or '-'; 3 to 64 characters, lower case.
LOGIN_SHAPE = re.compile(r"[a-z][a-z0-9._-]{2,63}")
MAX_NAME = 200
EMAIL_SHAPE = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
# Initial and reset passwords: 4 groups of 5 from an alphabet without look-alikes (about
# 98 bits), read out or typed from a note once, then changed.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

# The agencies table, by name only: core.directory sits beside core.access (neither
# imports the other); a user's agency is a code an operator types.
_agencies = table("agencies", column("id"), column("code"))
# The same for the emirate's departments (a member of staff may belong to one).
_departments = table("departments", column("id"), column("code"))


@dataclass(frozen=True)
class UserRecord:
    """What the admin page and ``gateway users list`` show of an account (no hash)."""

    id: int
    login: str
    name: str
    role: str
    agency: str | None  # the agency's code
    mobile: str | None
    email: str | None
    must_change_password: bool
    locked_until: datetime | None
    disabled_at: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    # The emirate's department they work for (its code), if any.
    department: str | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class Created:
    """A new account and its initial password (shown once, then only its hash exists)."""

    user: UserRecord
    password: str


@dataclass(frozen=True)
class SignIn:
    """A sign-in's answer: the actor, or refused (``actor`` None) without saying why,
    except ``throttled``: the address's failures, the same for every login."""

    actor: Actor | None
    must_change_password: bool = False
    throttled: bool = False


def generate_password() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))


def normalize_login(text: str) -> str:
    """A login as stored: trimmed, lower case; InvalidRequest when not of the shape."""
    login = text.strip().lower()
    if not LOGIN_SHAPE.fullmatch(login):
        raise InvalidRequest("login: 3 to 64 characters, a letter first, then letters, "
                             "digits, '.', '_' or '-'", code="invalid_login", field="login")
    return login


def lock_period(failures: int, max_failures: int = MAX_FAILURES) -> timedelta:
    """How long an account with ``failures`` wrong passwords in a row stays locked."""
    if failures < max_failures:
        return timedelta(0)
    doublings: int = min(failures - max_failures, 20)
    return min(LOCK_FIRST * (1 << doublings), LOCK_LONGEST)


class StaffUsers:
    """The staff accounts: create, sign in, change and reset passwords, disable, tokens.

    ``by`` is who asks for an administrative change: an ``admin`` actor (the admin
    pages), or None for the operator at the machine (``gateway users``); anyone else is
    refused (``Forbidden``).
    """

    def __init__(self, db: Database, config: CoreSettings, *,
                 hasher: PasswordHasher | None = None, counts: FailureCounts | None = None,
                 now: Callable[[], datetime] = utcnow, max_failures: int = MAX_FAILURES,
                 address_max_failures: int = ADDRESS_MAX_FAILURES) -> None:
        self._db = db
        self._config = config
        self._hasher = hasher or PasswordHasher()
        # The inquiry counters' store and window (the upkeep forgets expired rows by it).
        self._counts = counts or DatabaseFailureCounts(
            db, config.inquiry.failure_window_seconds)
        self._secret = hashlib.sha256(b"staff-sign-in:" + config.national_id_key()).digest()
        self.now = now
        self.max_failures = max_failures
        self.address_max_failures = address_max_failures
        self._decoy: str | None = None

    # --- accounts -------------------------------------------------------------------

    def create(self, role: str, login: str, *, name: str | None = None,
               agency: str | None = None, mobile: str | None = None,
               email: str | None = None, by: Actor | None = None,
               password: str | None = None, department: str | None = None,
               language: str | None = None) -> Created:
        """A new account with a generated initial password, to be changed at the first
        sign-in. ``password`` is for the demo's documented accounts only.
        ``department``: the code of one of the emirate's departments, for a coordinator,
        specialist or agency leader of the emirate who works that department's cases
        only (``core.voice.permissions``). ``language``: "ar" or "en", of the messages
        written to the user alone (the weekly digest); None: the deployment's."""
        _require_admin(by)
        if language is not None and language not in LANGUAGES:
            raise InvalidRequest(f"language: one of {', '.join(LANGUAGES)}",
                                 code="invalid_field", field="language")
        if role not in USER_ROLES:
            raise InvalidRequest(f"role must be one of {', '.join(USER_ROLES)}",
                                 code="invalid_role", field="role")
        login = normalize_login(login)
        name = (name or "").strip() or login
        if len(name) > MAX_NAME:
            raise InvalidRequest(f"name: at most {MAX_NAME} characters", code="invalid_name",
                                 field="name")
        mobile = self._mobile(mobile)
        email = _email(email)
        if password is not None:
            check_new_password(password, login=login)
        initial = password or generate_password()
        with self._db.write.begin() as session:
            agency_id = self._agency_for(session, role, agency)
            department_id, department_code = self._department_for(session, agency,
                                                                  department)
            if session.scalar(select(StaffUser.id).where(StaffUser.login == login)):
                raise Conflict(f"a user with the login {login!r} exists already",
                               code="login_taken", field="login")
            user = StaffUser(login=login, name=name, role=role, agency_id=agency_id,
                             department_id=department_id, mobile=mobile, email=email,
                             language=language,
                             password_hash=self._hasher.hash(initial),
                             must_change_password=password is None, failed_logins=0,
                             created_at=self.now())
            session.add(user)
            session.flush()
            audit.record(session, by, "create", "staff_user", str(user.id),
                         f"login={login} role={role} agency={agency or '-'}"
                         f" department={department_code or '-'}",
                         role=_operator(by))
            record = _record(user, agency.strip().upper() if agency else None,
                             department_code)
        return Created(record, initial)

    def list_users(self, *, by: Actor | None = None) -> list[UserRecord]:
        """Every account, disabled ones too, by login."""
        _require_admin(by)
        with self._db.read() as session:
            rows = session.execute(
                select(StaffUser, _agencies.c.code, _departments.c.code)
                .outerjoin(_agencies, _agencies.c.id == StaffUser.agency_id)
                .outerjoin(_departments, _departments.c.id == StaffUser.department_id)
                .order_by(StaffUser.login)).all()
            return [_record(user, code, department) for user, code, department in rows]

    def get(self, login: str, *, by: Actor | None = None) -> UserRecord:
        _require_admin(by)
        with self._db.read() as session:
            user = self._find(session, login)
            return _record(user, self._agency_code(session, user.agency_id),
                           self._department_code(session, user.department_id))

    def department_code(self, department_id: int | None) -> str | None:
        """The code of the department an actor belongs to (None: none)."""
        with self._db.read() as session:
            return self._department_code(session, department_id)

    def agency_code(self, agency_id: int | None) -> str | None:
        """The code of the agency an actor belongs to (None: none)."""
        with self._db.read() as session:
            return self._agency_code(session, agency_id)

    def agency_exists(self, code: str) -> bool:
        with self._db.read() as session:
            return session.scalar(select(_agencies.c.id).where(
                _agencies.c.code == code.strip().upper())) is not None

    def disable(self, login: str, *, by: Actor | None = None) -> None:
        """The account, its sessions and its tokens stop working at once (the row and
        its audit trail stay)."""
        _require_admin(by)
        now = self.now()
        with self._db.write.begin() as session:
            user = self._find(session, login)
            if by is not None and by.user_id == user.id:
                raise InvalidRequest("you cannot disable your own account",
                                     code="own_account", field="login")
            if user.disabled_at is None:
                user.disabled_at = now
            end_user_sessions(session, user.id, now)
            session.execute(update(ApiToken).where(
                ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=now))
            audit.record(session, by, "disable", "staff_user", str(user.id),
                         f"login={user.login}", role=_operator(by))

    def reset_password(self, login: str, *, by: Actor | None = None) -> str:
        """A new generated password, to be changed at the next sign-in; the lock is
        lifted and every session of the account ended."""
        _require_admin(by)
        password = generate_password()
        digest = self._hasher.hash(password)
        now = self.now()
        with self._db.write.begin() as session:
            user = self._find(session, login)
            user.password_hash = digest
            user.must_change_password = True
            user.failed_logins = 0
            user.locked_until = None
            end_user_sessions(session, user.id, now)
            audit.record(session, by, "password_reset", "staff_user", str(user.id),
                         f"login={user.login}", role=_operator(by))
        return password

    def create_token(self, login: str, *, by: Actor | None = None) -> str:
        """A personal API token acting as this user; its clear value is returned here
        and nowhere else. It stops when the user is disabled."""
        _require_admin(by)
        token = new_token()
        with self._db.write.begin() as session:
            user = self._find(session, login)
            if user.disabled_at is not None:
                raise Conflict(f"the account {user.login!r} is disabled",
                               code="user_disabled", field="login")
            session.add(ApiToken(name=user.login, role=USER_ROLE,
                                 token_hash=token_hash(token), user_id=user.id,
                                 created_at=self.now()))
            session.flush()
            audit.record(session, by, "token_create", "staff_user", str(user.id),
                         f"login={user.login}", role=_operator(by))
        return token

    # --- who is acting -------------------------------------------------------------

    def actor(self, user_id: int) -> Actor | None:
        """The user as an actor, while the account is enabled."""
        with self._db.read() as session:
            row = session.execute(_actor_columns().where(
                StaffUser.id == user_id, StaffUser.disabled_at.is_(None))).first()
        return _actor(row)

    def actor_for_token(self, principal: Principal) -> Actor | None:
        """The user a personal token acts as, checked on each request (one query on two
        primary keys): a disabled account or a revoked token stops at once, whatever the
        token cache still believes."""
        if principal.role != USER_ROLE or principal.user_id is None:
            return None
        with self._db.read() as session:
            row = session.execute(_actor_columns().join(
                ApiToken, ApiToken.user_id == StaffUser.id).where(
                ApiToken.id == principal.token_id, ApiToken.revoked_at.is_(None),
                StaffUser.disabled_at.is_(None))).first()
        return _actor(row)

    # --- signing in ---------------------------------------------------------------

    def sign_in(self, login: str, password: str, *, origin: str | None) -> SignIn:
        """Check a login and password typed from ``origin`` (an address)."""
        address_key = self._address_key(origin)
        if address_key and self._counts.counts([address_key]).get(
                address_key, 0) >= self.address_max_failures:
            return SignIn(None, throttled=True)
        try:
            login = normalize_login(login)
        except InvalidRequest:
            login = ""
        user = None
        if login and len(password) <= MAX_PASSWORD:
            with self._db.read() as session:
                user = session.scalar(select(StaffUser).where(StaffUser.login == login))
        now = self.now()
        # The same hash computed whatever follows: an unknown login costs a decoy's.
        matches = self._verify(user.password_hash if user else self._decoy_hash(),
                               password[:MAX_PASSWORD])
        if user is None:
            self._failed(None, address_key, origin, "unknown login")
            return SignIn(None)
        if user.disabled_at is not None:
            self._failed(user, address_key, origin, "disabled", count=False)
            return SignIn(None)
        if user.locked_until is not None and user.locked_until > now:
            self._failed(user, address_key, origin, "locked", count=False)
            return SignIn(None)
        if not matches:
            self._failed(user, address_key, origin, "wrong password")
            return SignIn(None)
        actor = Actor(user.id, user.login, user.name, user.role, user.agency_id,
                      user.department_id)
        rehash = self._needs_rehash(user.password_hash)
        with self._db.write.begin() as session:
            values: dict[str, Any] = {"failed_logins": 0, "locked_until": None,
                                      "last_login_at": now}
            if rehash:
                values["password_hash"] = self._hasher.hash(password)
            session.execute(update(StaffUser).where(StaffUser.id == user.id).values(**values))
            audit.record(session, actor, "sign_in", "staff_user", str(user.id),
                         _from(origin))
        return SignIn(actor, must_change_password=user.must_change_password)

    def change_password(self, user_id: int, current: str, new: str, *,
                        keep_session: str | None = None, origin: str | None = None) -> None:
        """The user's own change: the current password is checked (a wrong one counts
        towards the lockout like a failed sign-in), the new one must be at least
        ``MIN_PASSWORD`` characters, not the login and not the current one. The user's
        other sessions end (``keep_session``, the one asking, stays)."""
        with self._db.read() as session:
            user = session.scalar(select(StaffUser).where(
                StaffUser.id == user_id, StaffUser.disabled_at.is_(None)))
        if user is None:
            raise NotFound("no such user", code="not_found")
        now = self.now()
        if user.locked_until is not None and user.locked_until > now:
            raise Forbidden("the account is locked for a while after too many wrong "
                            "passwords", code="locked")
        if not self._verify(user.password_hash, current[:MAX_PASSWORD]):
            self._failed(user, self._address_key(origin), origin, "wrong current password")
            raise InvalidRequest("the current password is not right",
                                 code="password_wrong", field="current_password")
        check_new_password(new, login=user.login, current=current)
        digest = self._hasher.hash(new)
        actor = Actor(user.id, user.login, user.name, user.role, user.agency_id,
                      user.department_id)
        with self._db.write.begin() as session:
            session.execute(update(StaffUser).where(StaffUser.id == user.id).values(
                password_hash=digest, must_change_password=False, failed_logins=0,
                locked_until=None))
            end_user_sessions(session, user.id, now, keep=keep_session)
            audit.record(session, actor, "password_change", "staff_user", str(user.id),
                         _from(origin))

    # --- inside ---------------------------------------------------------------------

    def _failed(self, user: StaffUser | None, address_key: str | None, origin: str | None,
                why: str, *, count: bool = True) -> None:
        """Record a failed sign-in: the account's count (and its lock), the address's
        counter and the audit row, in one transaction."""
        now = self.now()
        with self._db.write.begin() as session:
            if user is not None and count:
                failures = session.execute(
                    update(StaffUser).where(StaffUser.id == user.id)
                    .values(failed_logins=StaffUser.failed_logins + 1)
                    .returning(StaffUser.failed_logins)).scalar_one()
                if failures >= self.max_failures:
                    until = now + lock_period(failures, self.max_failures)
                    session.execute(update(StaffUser).where(StaffUser.id == user.id)
                                    .values(locked_until=until))
                    audit.record(session, None, "lockout", "staff_user", str(user.id),
                                 f"{failures} wrong passwords; locked until "
                                 f"{until.isoformat(timespec='seconds')}", role="system")
            audit.record(session, None, "sign_in_failed", "staff_user",
                         str(user.id) if user else "", f"{why}; {_from(origin)}",
                         role="anonymous")
            if address_key:
                self._counts.add_in(session.connection(), {address_key: 1})

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self._hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False

    def _needs_rehash(self, digest: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(digest)
        except InvalidHashError:
            return True

    def _decoy_hash(self) -> str:
        """A hash of a random password, made once with the current parameters."""
        if self._decoy is None:
            self._decoy = self._hasher.hash(secrets.token_urlsafe(16))
        return self._decoy

    def _address_key(self, origin: str | None) -> str | None:
        if not origin:
            return None
        # Keyed: the shared table holds no address anyone without the key could test.
        return hashlib.blake2b(f"sign-in:{origin_group(origin)}".encode(),
                               key=self._secret, digest_size=32).hexdigest()

    def _mobile(self, mobile: str | None) -> str | None:
        if not mobile or not mobile.strip():
            return None
        try:
            return normalize_mobile(mobile, self._config.locale.phone_region)
        except InvalidMobile as exc:
            raise InvalidRequest(f"mobile: {exc.message}", code=exc.code,
                                 field="mobile") from exc

    def _agency_for(self, session: Session, role: str, agency: str | None) -> int | None:
        code = (agency or "").strip().upper()
        if role not in AGENCY_ROLES:
            if code:
                raise InvalidRequest(
                    f"the role {role} belongs to no agency: leave the agency out",
                    code="agency_not_allowed", field="agency")
            return None
        if not code:
            raise InvalidRequest(f"the role {role} belongs to one agency: give its code",
                                 code="agency_required", field="agency")
        agency_id = session.scalar(select(_agencies.c.id).where(_agencies.c.code == code))
        if agency_id is None:
            raise NotFound(f"no agency has the code {code!r}", code="unknown_agency",
                           field="agency")
        return int(agency_id)

    def _department_for(self, session: Session, agency: str | None,
                        department: str | None) -> tuple[int | None, str | None]:
        """The department's id and code: only for the emirate's agency roles (the agency
        already checked for the role)."""
        code = (department or "").strip()
        if not code:
            return None, None
        if (agency or "").strip().upper() != self._config.voice.emirate_agency.upper():
            raise InvalidRequest(
                f"a department is the emirate's ({self._config.voice.emirate_agency}): "
                "give that agency, or leave the department out",
                code="department_not_allowed", field="department")
        row = session.execute(select(_departments.c.id, _departments.c.code).where(
            _departments.c.code.in_({code, code.upper()}))).first()
        if row is None:
            raise NotFound(f"no department has the code {code!r}",
                           code="unknown_department", field="department")
        return int(row.id), str(row.code)

    def _department_code(self, session: Session, department_id: int | None) -> str | None:
        if department_id is None:
            return None
        return session.scalar(select(_departments.c.code)
                              .where(_departments.c.id == department_id))

    def _agency_code(self, session: Session, agency_id: int | None) -> str | None:
        if agency_id is None:
            return None
        return session.scalar(select(_agencies.c.code).where(_agencies.c.id == agency_id))

    def _find(self, session: Session, login: str) -> StaffUser:
        user = session.scalar(select(StaffUser).where(
            StaffUser.login == login.strip().lower()))
        if user is None:
            raise NotFound(f"no user has the login {login.strip()!r}", code="unknown_user",
                           field="login")
        return user


def check_new_password(new: str, *, login: str, current: str | None = None) -> None:
    """The rules a chosen password follows; InvalidRequest (field ``new_password``)."""
    if len(new) < MIN_PASSWORD:
        raise InvalidRequest(f"the new password needs at least {MIN_PASSWORD} characters",
                             code="password_short", field="new_password")
    if len(new) > MAX_PASSWORD:
        raise InvalidRequest(f"the new password may have at most {MAX_PASSWORD} characters",
                             code="password_long", field="new_password")
    if new.strip().lower() == login.lower():
        raise InvalidRequest("the new password must not be the login",
                             code="password_is_login", field="new_password")
    if current is not None and new == current:
        raise InvalidRequest("the new password must differ from the current one",
                             code="password_unchanged", field="new_password")


def _require_admin(by: Actor | None) -> None:
    if by is not None and by.role != ADMIN:
        raise Forbidden("only an admin manages staff accounts")


def _operator(by: Actor | None) -> str:
    """The audit role of an administrative change: the admin's, or the machine's
    operator (``gateway users``)."""
    return by.role if by else "operator"


def _from(origin: str | None) -> str:
    return f"from {origin_group(origin)}" if origin else "from the command line"


def _email(email: str | None) -> str | None:
    if not email or not email.strip():
        return None
    email = email.strip()
    if len(email) > 254 or not EMAIL_SHAPE.fullmatch(email):
        raise InvalidRequest("email: not an e-mail address", code="invalid_email",
                             field="email")
    return email


def _actor_columns() -> Any:
    return select(StaffUser.id, StaffUser.login, StaffUser.name, StaffUser.role,
                  StaffUser.agency_id, StaffUser.department_id)


def _actor(row: Any) -> Actor | None:
    if row is None:
        return None
    return Actor(row.id, row.login, row.name, row.role, row.agency_id, row.department_id)


def _record(user: StaffUser, agency: str | None,
            department: str | None = None) -> UserRecord:
    return UserRecord(user.id, user.login, user.name, user.role, agency, user.mobile,
                      user.email, user.must_change_password, user.locked_until,
                      user.disabled_at, user.created_at, user.last_login_at, department)
