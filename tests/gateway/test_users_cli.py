"""``gateway users``: accounts made, listed, reset and disabled from the command line, and
a personal token that acts as its user on the API until the account is disabled."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.access.models import StaffUser
from core.access.users import generate_password
from gateway.cli import main
from tests import factories as f
from tests.gateway.test_cli import environment


@pytest.fixture
def gateway(database_url, tmp_path, core):
    def run(*args: str):
        return CliRunner().invoke(main, list(args), env=environment(database_url, tmp_path))

    return run


def last_line(result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_create_prints_the_initial_password_alone_on_the_last_line(gateway, core):
    core.upsert_agency("AMANA", f.agency())
    password = last_line(gateway("users", "create", "--role", "coordinator",
                                 "--name", "Noura", "--agency", "amana",
                                 "--mobile", "0551234567", "--email", "n@example.com"))
    assert len(password) == len(generate_password())
    signed = core.users.sign_in("noura", password, origin=None)
    assert signed.actor.role == "coordinator" and signed.must_change_password
    assert core.users.agency_code(signed.actor.agency_id) == "AMANA"


@pytest.mark.parametrize(("args", "said"), [
    (("--role", "coordinator", "--name", "nouf"), "the role coordinator belongs to one agency"),
    (("--role", "admin", "--name", "root1", "--agency", "AMANA"),
     "the role admin belongs to no agency"),
    (("--role", "specialist", "--name", "sami", "--agency", "NOPE"), "no agency has"),
    (("--role", "leadership", "--name", "x"), "login: 3 to 64"),
    (("--role", "leadership", "--name", "lead1", "--mobile", "12"), "mobile"),
])
def test_a_wrong_create_says_one_line_and_makes_nothing(gateway, core, args, said):
    core.upsert_agency("AMANA", f.agency())
    result = gateway("users", "create", *args)
    assert result.exit_code == 1
    assert said in result.output and result.output.count("\n") == 1
    assert core.users.list_users() == []


def test_a_login_taken_is_refused(gateway):
    assert gateway("users", "create", "--role", "admin", "--name", "root1").exit_code == 0
    again = gateway("users", "create", "--role", "admin", "--name", "ROOT1")
    assert again.exit_code == 1 and "exists already" in again.output


def test_a_personal_token_acts_as_the_user_until_disabled(gateway, client, core):
    gateway("users", "create", "--role", "leadership", "--name", "amal")
    token = last_line(gateway("users", "token", "--name", "amal"))
    auth = {"Authorization": f"Bearer {token}"}

    me = client.get("/api/v1/me", headers=auth)
    assert me.status_code == 200 and me.json["login"] == "amal"
    assert me.json["role"] == "leadership" and me.json["agency"] is None

    assert gateway("users", "disable", "--name", "amal").exit_code == 0
    refused = client.get("/api/v1/me", headers=auth)  # the token is still in the cache
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "unauthorized"
    again = gateway("users", "token", "--name", "amal")
    assert again.exit_code == 1 and "disabled" in again.output


def test_reset_and_list(gateway, core):
    gateway("users", "create", "--role", "admin", "--name", "root1")
    password = last_line(gateway("users", "reset-password", "--name", "root1"))
    assert core.users.sign_in("root1", password, origin=None).actor is not None
    gateway("users", "create", "--role", "leadership", "--name", "gone1")
    gateway("users", "disable", "--name", "gone1")

    listed = gateway("users", "list").stdout.splitlines()
    assert listed[0].split() == ["LOGIN", "ROLE", "AGENCY", "STATE", "LAST", "SIGN-IN"]
    assert listed[1].split()[:4] == ["gone1", "leadership", "-", "disabled"]
    assert listed[2].split()[:3] == ["root1", "admin", "-"]
    assert "must change password" in listed[2]


def test_unknown_users_say_so(gateway):
    for command in ("token", "disable", "reset-password"):
        result = gateway("users", command, "--name", "ghost")
        assert result.exit_code == 1 and "no user has the login 'ghost'" in result.output


def test_demo_data_makes_one_user_of_each_role_once(gateway, core, settings):
    from core.access.demo import DEMO_PASSWORD, DEMO_USERS

    first = gateway("demo-data", "--transactions", "3")
    assert first.exit_code == 0, first.output
    assert first.stdout.count(DEMO_PASSWORD) == len(DEMO_USERS)
    users = {user.login: user for user in core.users.list_users()}
    assert {user.role for user in users.values()} == {
        "coordinator", "specialist", "agency_leader", "leadership", "admin"}
    assert users["emirate.coordinator"].agency == settings.voice.emirate_agency
    assert users["demo.coordinator"].agency == users["demo.leader"].agency == "AMANA"
    signed = core.users.sign_in("demo.admin", DEMO_PASSWORD, origin=None)
    assert signed.actor.role == "admin" and not signed.must_change_password

    core.users.change_password(signed.actor.user_id, DEMO_PASSWORD, "changed by the demo")
    accounts = len(users)  # the voice demo's other agencies have staff of their own
    again = gateway("demo-data", "--if-empty")
    assert again.exit_code == 0, again.output
    assert again.stdout.count(DEMO_PASSWORD) == 0 and "not loaded" in again.stdout
    again = gateway("demo-data", "--transactions", "3")  # without it: the accounts again
    assert again.exit_code == 0, again.output
    assert again.stdout.count(DEMO_PASSWORD) == 0 and "already there" in again.stdout
    assert len(core.users.list_users()) == accounts
    assert core.users.sign_in("demo.admin", "changed by the demo", origin=None).actor


def test_the_demo_staff_have_made_up_mobiles_so_alarms_reach_the_outbox(gateway, core):
    from datetime import timedelta

    from sqlalchemy import select

    from core.access.demo import DEMO_STAFF_MOBILES, DEMO_USERS
    from core.messaging.models import Notification
    from core.platform.clock import utcnow

    loaded = gateway("demo-data", "--transactions", "3", "--cases", "0")
    assert loaded.exit_code == 0, loaded.output
    assert DEMO_STAFF_MOBILES[0] in loaded.stdout
    mobiles = {user.login: user.mobile for user in core.users.list_users()}
    assert all(mobiles[demo.login] for demo in DEMO_USERS)
    assert len({mobiles[demo.login] for demo in DEMO_USERS}) == len(DEMO_USERS)

    filed_at = utcnow()
    filed = core.voice.file_case({
        "type": "complaint", "agency": "AMANA", "channel": "api", "lang": "ar",
        "text": "الرصيف مكسور أمام المدرسة", "citizen": {"mobile": "0500000001"}},
        now=filed_at)
    # Past the answer target, at 09:00 in Riyadh on a working day: no alarm is held.
    scan_at = (filed.answer_due + timedelta(days=1)).replace(hour=6, minute=0)
    while scan_at.weekday() in (4, 5):  # Friday, Saturday
        scan_at += timedelta(days=1)
    core.upkeep.scan_alarms(now=scan_at)
    leader = mobiles["demo.leader"]
    with core.db.read() as session:
        told = session.scalars(select(Notification).where(
            Notification.recipient == leader, Notification.kind == "voice_breach")).all()
    assert len(told) == 1 and filed.tracking in told[0].body
    assert "متأخر" in told[0].body or "تجاوز" in told[0].body, told[0].body


def test_an_account_may_have_its_own_language(gateway, core):
    assert gateway("users", "create", "--role", "leadership", "--name", "amal",
                   "--language", "en").exit_code == 0
    assert gateway("users", "create", "--role", "leadership", "--name", "amal2",
                   "--language", "fr").exit_code != 0
    with core.db.read() as session:
        assert session.scalars(select(StaffUser.language).order_by(StaffUser.id)).all() \
            == ["en"]
