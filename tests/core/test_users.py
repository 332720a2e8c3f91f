"""Staff accounts as an attacker tries them: guessing passwords, telling which logins
exist, spraying one password over many logins, keeping a session or a token after the
account is disabled or its password changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from core.access.actors import ADMIN, AGENCY_LEADER, COORDINATOR, LEADERSHIP, SPECIALIST, Actor
from core.access.models import AuditEntry, StaffUser
from core.access.tokens import USER_ROLE, Principal
from core.access.users import (
    LOCK_FIRST,
    MIN_PASSWORD,
    StaffUsers,
    lock_period,
)
from core.platform.clock import utcnow
from core.platform.errors import Conflict, Forbidden, InvalidRequest, NotFound
from core.platform.ratelimit import MemoryFailureCounts
from tests import factories as f

# The tests' own cost: the rules are the same, the hashing a thousand times cheaper.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NEW_PASSWORD = "a long new passphrase"


class Now:
    """The wall clock the accounts age by, moved by hand."""

    def __init__(self) -> None:
        self.at = utcnow()

    def __call__(self):
        return self.at


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
def users(core, now) -> StaffUsers:
    core.upsert_agency("AMANA", f.agency())
    return StaffUsers(core.db, core.config, hasher=FAST, now=now,
                      counts=MemoryFailureCounts(900))


def audit(core, action: str) -> list[AuditEntry]:
    with core.db.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                    .order_by(AuditEntry.id)))


def row(core, login: str) -> StaffUser:
    with core.db.read() as session:
        return session.scalars(select(StaffUser).where(StaffUser.login == login)).one()


# --- creating accounts -------------------------------------------------------------------


def test_an_agency_role_needs_an_agency_and_the_others_refuse_one(users):
    for role in (COORDINATOR, SPECIALIST, AGENCY_LEADER):
        with pytest.raises(InvalidRequest) as missing:
            users.create(role, f"{role}-x")
        assert missing.value.code == "agency_required"
        assert users.create(role, f"{role}-y", agency="amana").user.agency == "AMANA"
    for role in (LEADERSHIP, ADMIN):
        with pytest.raises(InvalidRequest) as given:
            users.create(role, f"{role}-x", agency="AMANA")
        assert given.value.code == "agency_not_allowed"
    with pytest.raises(NotFound):
        users.create(COORDINATOR, "nobody-agency", agency="NOPE")
    with pytest.raises(InvalidRequest):
        users.create("root", "root-user")


def test_logins_are_one_shape_in_lower_case_and_unique(users):
    created = users.create(LEADERSHIP, "  Sara.Q ")
    assert created.user.login == "sara.q"
    with pytest.raises(Conflict):
        users.create(ADMIN, "SARA.Q")
    for bad in ("ab", "1abc", "a b c", "ali@x", "a" * 65, "سارة", "x' OR 1=1 --"):
        with pytest.raises(InvalidRequest):
            users.create(LEADERSHIP, bad)


def test_the_mobile_is_normalised_and_a_bad_one_refused(users):
    created = users.create(COORDINATOR, "noura", agency="AMANA", mobile="٠٥٥١٢٣٤٥٦٧")
    assert created.user.mobile == "+966551234567"
    with pytest.raises(InvalidRequest) as bad:
        users.create(COORDINATOR, "fahad", agency="AMANA", mobile="0112345678")
    assert bad.value.field == "mobile"


def test_a_new_account_has_a_generated_password_it_must_change(core, users):
    first = users.create(ADMIN, "admin1")
    second = users.create(ADMIN, "admin2")
    assert first.password != second.password and len(first.password) >= MIN_PASSWORD
    assert first.user.must_change_password
    stored = row(core, "admin1")
    assert stored.password_hash.startswith("$argon2id$")
    assert first.password not in stored.password_hash
    signed = users.sign_in("admin1", first.password, origin="10.0.0.1")
    assert signed.actor is not None and signed.must_change_password
    assert audit(core, "create")[0].object_id == str(first.user.id)


def test_only_an_admin_or_the_operator_manages_accounts(users):
    leader = Actor(1, "boss", "Boss", LEADERSHIP, None)
    for attempt in (lambda: users.create(ADMIN, "sneaky", by=leader),
                    lambda: users.list_users(by=leader),
                    lambda: users.reset_password("boss", by=leader),
                    lambda: users.disable("boss", by=leader),
                    lambda: users.create_token("boss", by=leader)):
        with pytest.raises(Forbidden):
            attempt()


# --- signing in ------------------------------------------------------------------------


def test_every_refusal_is_the_same_answer_after_the_same_hash(users, monkeypatch, now):
    known = users.create(LEADERSHIP, "huda").password
    users.create(LEADERSHIP, "gone")
    users.disable("gone")
    users.create(LEADERSHIP, "locked")
    for _ in range(users.max_failures):
        users.sign_in("locked", "wrong password!", origin=None)
    verified: list[str] = []
    real = users._verify
    monkeypatch.setattr(users, "_verify", lambda digest, pw: verified.append(digest)
                        or real(digest, pw))

    answers = [users.sign_in(login, password, origin=None) for login, password in (
        ("nobody", known), ("huda", "not her password"), ("gone", known),
        ("locked", known), ("", known), ("x" * 300, known))]

    assert len(set(answers)) == 1 and answers[0].actor is None
    assert not answers[0].throttled
    assert len(verified) == len(answers)  # one hash each, the unknown ones too
    assert users.sign_in("huda", known, origin=None).actor is not None


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(core, users, now):
    password = users.create(SPECIALIST, "omar", agency="AMANA").password
    for _ in range(4):
        assert users.sign_in("omar", "guess-guess-guess", origin="10.0.0.9").actor is None
    assert row(core, "omar").locked_until is None
    assert users.sign_in("omar", "guess-guess-guess", origin="10.0.0.9").actor is None

    assert row(core, "omar").locked_until is not None
    assert users.sign_in("omar", password, origin="10.0.0.9").actor is None
    now.at += LOCK_FIRST + timedelta(seconds=1)
    assert users.sign_in("omar", password, origin="10.0.0.9").actor is not None
    assert len(audit(core, "lockout")) == 1
    assert row(core, "omar").failed_logins == 0


def test_the_lock_grows_with_each_failure_after_it(core, users, now):
    users.create(LEADERSHIP, "salem")
    for _ in range(5):
        users.sign_in("salem", "wrong wrong wrong", origin=None)
    first = row(core, "salem").locked_until - now.at
    for _ in range(10):  # refused while locked, and not counted
        users.sign_in("salem", "wrong wrong wrong", origin=None)
    assert row(core, "salem").failed_logins == 5
    now.at += first + timedelta(seconds=1)
    users.sign_in("salem", "wrong wrong wrong", origin=None)
    second = row(core, "salem").locked_until - now.at
    assert second == 2 * first
    assert lock_period(40) == timedelta(hours=24)


def test_the_lock_is_in_the_row_so_another_machine_refuses_too(core, users, now):
    password = users.create(LEADERSHIP, "reem").password
    for _ in range(5):
        users.sign_in("reem", "nope nope nope", origin=None)
    elsewhere = StaffUsers(core.db, core.config, hasher=FAST, now=now,
                           counts=MemoryFailureCounts(900))
    assert elsewhere.sign_in("reem", password, origin=None).actor is None


def test_one_address_spraying_many_logins_is_refused_before_any_hash(core, users,
                                                                    monkeypatch):
    password = users.create(LEADERSHIP, "victim").password
    for n in range(users.address_max_failures):
        users.sign_in(f"user{n:03d}", "Summer2026!!", origin="203.0.113.7")
    monkeypatch.setattr(users, "_verify", lambda *_: pytest.fail("hashed while throttled"))

    refused = users.sign_in("victim", password, origin="203.0.113.7")
    assert refused.throttled and refused.actor is None
    # Another address of the same IPv6 /64 is the same place; another network is not.
    monkeypatch.undo()
    assert users.sign_in("victim", password, origin="198.51.100.1").actor is not None


def test_the_spray_counters_are_shared_by_every_process(core, now):
    core.upsert_agency("AMANA", f.agency())
    one = StaffUsers(core.db, core.config, hasher=FAST, now=now)  # the database's counters
    other = StaffUsers(core.db, core.config, hasher=FAST, now=now)
    for n in range(one.address_max_failures):
        one.sign_in(f"guess{n}", "password123456", origin="2001:db8::1")
    assert other.sign_in("anyone", "x" * 12, origin="2001:db8::ffff").throttled


def test_a_sign_in_rehashes_a_password_hashed_with_old_parameters(core, users):
    weaker = StaffUsers(core.db, core.config,
                        hasher=PasswordHasher(time_cost=1, memory_cost=512, parallelism=1))
    password = weaker.create(LEADERSHIP, "old.hash").password
    old = row(core, "old.hash").password_hash

    assert users.sign_in("old.hash", password, origin=None).actor is not None

    new = row(core, "old.hash").password_hash
    assert new != old and "m=1024" in new and not FAST.check_needs_rehash(new)
    assert users.sign_in("old.hash", password, origin=None).actor is not None


def test_sign_ins_and_failures_are_audited_without_the_typed_text(core, users):
    password = users.create(LEADERSHIP, "audited").password
    users.sign_in("audited", password, origin="10.1.2.3")
    users.sign_in("audited", "my-secret-guess", origin="10.1.2.3")
    users.sign_in("my-secret-login", "whatever-it-is", origin="10.1.2.3")

    signed = audit(core, "sign_in")
    assert len(signed) == 1 and signed[0].user_id is not None
    failed = audit(core, "sign_in_failed")
    assert [entry.detail.split(";")[0] for entry in failed] == ["wrong password",
                                                                "unknown login"]
    assert all("10.1.2.3" in entry.detail for entry in failed)
    everything = " ".join(entry.detail + entry.object_id for entry in failed)
    assert "my-secret" not in everything


# --- passwords -----------------------------------------------------------------------------


def test_the_new_password_follows_the_rules(users):
    created = users.create(LEADERSHIP, "rules.user")
    uid, current = created.user.id, created.password
    for new, code in (("short", "password_short"), ("Rules.User", "password_short"),
                      (current, "password_unchanged"), ("x" * 300, "password_long")):
        with pytest.raises(InvalidRequest) as refused:
            users.change_password(uid, current, new)
        assert refused.value.code == code
    users.create(LEADERSHIP, "longer.login.name")
    other = users.create(LEADERSHIP, "verylonglogin1")
    with pytest.raises(InvalidRequest) as same:
        users.change_password(other.user.id, other.password, "VeryLongLogin1")
    assert same.value.code == "password_is_login"


def test_a_wrong_current_password_counts_towards_the_lock(core, users):
    created = users.create(LEADERSHIP, "stolen.session")
    for _ in range(5):
        with pytest.raises(InvalidRequest):
            users.change_password(created.user.id, "a guess at it", NEW_PASSWORD)
    with pytest.raises(Forbidden):
        users.change_password(created.user.id, created.password, NEW_PASSWORD)


def test_a_password_change_ends_the_other_sessions_and_clears_the_flag(core, users):
    created = users.create(COORDINATOR, "laila", agency="AMANA")
    here = core.staff_sessions.open_for_user(created.user.id)
    there = core.staff_sessions.open_for_user(created.user.id)

    users.change_password(created.user.id, created.password, NEW_PASSWORD, keep_session=here)

    times = {"idle": timedelta(minutes=30), "lifetime": timedelta(hours=12)}
    kept = core.staff_sessions.check_user(here, **times)
    assert kept is not None and not kept.must_change_password
    assert core.staff_sessions.check_user(there, **times) is None
    assert users.sign_in("laila", created.password, origin=None).actor is None
    assert users.sign_in("laila", NEW_PASSWORD, origin=None).actor is not None
    assert len(audit(core, "password_change")) == 1


def test_an_admin_reset_ends_sessions_unlocks_and_forces_a_change(core, users):
    created = users.create(LEADERSHIP, "forgetful")
    session_id = core.staff_sessions.open_for_user(created.user.id)
    for _ in range(5):
        users.sign_in("forgetful", "what was it again", origin=None)

    password = users.reset_password("forgetful")

    times = {"idle": timedelta(minutes=30), "lifetime": timedelta(hours=12)}
    assert core.staff_sessions.check_user(session_id, **times) is None
    signed = users.sign_in("forgetful", password, origin=None)
    assert signed.actor is not None and signed.must_change_password
    assert len(audit(core, "password_reset")) == 1


# --- disabling, tokens ---------------------------------------------------------------------


def test_disabling_stops_sessions_and_tokens_at_once(core, users):
    created = users.create(SPECIALIST, "leaving", agency="AMANA")
    session_id = core.staff_sessions.open_for_user(created.user.id)
    token = users.create_token("leaving")
    principal = core.tokens.verify(token)  # now in this process's token cache
    assert principal is not None and principal.role == USER_ROLE
    assert users.actor_for_token(principal).login == "leaving"

    users.disable("leaving")

    times = {"idle": timedelta(minutes=30), "lifetime": timedelta(hours=12)}
    assert core.staff_sessions.check_user(session_id, **times) is None
    # The cache still believes the token for up to 30 s; the account check does not.
    assert core.tokens.verify(token) == principal
    assert users.actor_for_token(principal) is None
    assert users.actor(created.user.id) is None
    assert users.sign_in("leaving", created.password, origin=None).actor is None
    with pytest.raises(Conflict):
        users.create_token("leaving")
    assert len(audit(core, "disable")) == 1 and len(audit(core, "token_create")) == 1


def test_a_revoked_personal_token_stops_at_once(core, users):
    from core.access.tokens import revoke_token

    users.create(LEADERSHIP, "tok.user")
    principal = core.tokens.verify(users.create_token("tok.user"))
    revoke_token(core.db.write, "tok.user")
    assert users.actor_for_token(principal) is None


def test_a_service_token_or_a_forged_principal_is_no_user(core, users):
    created = users.create(LEADERSHIP, "real.user")
    users.create_token("real.user")
    assert users.actor_for_token(Principal(1, "kiosk-1", "kiosk", created.user.id)) is None
    # A principal naming the user but not one of the user's tokens.
    assert users.actor_for_token(Principal(99999, "x", USER_ROLE, created.user.id)) is None


def test_an_admin_cannot_disable_themselves(users):
    admin = users.create(ADMIN, "only.admin")
    me = Actor(admin.user.id, "only.admin", "only.admin", ADMIN, None)
    with pytest.raises(InvalidRequest):
        users.disable("only.admin", by=me)


def test_the_list_shows_state_and_agency(users, now):
    users.create(COORDINATOR, "coord1", agency="AMANA")
    users.create(LEADERSHIP, "lead1")
    users.disable("lead1")
    listed = {record.login: record for record in users.list_users()}
    assert listed["coord1"].agency == "AMANA" and listed["coord1"].disabled_at is None
    assert listed["lead1"].disabled_at is not None
