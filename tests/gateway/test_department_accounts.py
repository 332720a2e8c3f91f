"""Staff of one of the emirate's departments: made by ``gateway users create --department``
and on /admin/users, listed with it, shown by ``GET /api/v1/me``; a department only with
the emirate's agency roles."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.gateway.test_users_cli import gateway as gateway  # noqa: F401  (the fixture)
from tests.gateway.test_users_cli import last_line
from tests.gateway.test_voice_pages import csrf, sign_in, text


@pytest.fixture
def places(core):
    core.upsert_agency("EMIRATE", f.agency(name_en="The Emirate"))
    core.upsert_agency("AMANA", f.agency())
    core.upsert_department("RIGHTS", f.department())
    return core


def test_the_cli_makes_a_department_s_coordinator(gateway, places):  # noqa: F811
    password = last_line(gateway("users", "create", "--role", "coordinator",
                                 "--name", "rights.coord", "--agency", "emirate",
                                 "--department", "RIGHTS"))
    signed = places.users.sign_in("rights.coord", password, origin=None)
    assert places.users.department_code(signed.actor.department_id) == "RIGHTS"
    assert places.users.agency_code(signed.actor.agency_id) == "EMIRATE"
    listed = gateway("users", "list")
    assert listed.exit_code == 0
    [row] = [line for line in listed.stdout.splitlines() if line.startswith("rights.coord")]
    assert "EMIRATE/RIGHTS" in row


@pytest.mark.parametrize(("args", "said"), [
    (("--role", "coordinator", "--agency", "AMANA", "--department", "RIGHTS"),
     "a department is the emirate's"),
    (("--role", "leadership", "--department", "RIGHTS"), "a department is the emirate's"),
    (("--role", "specialist", "--agency", "EMIRATE", "--department", "NOPE"),
     "no department has"),
])
def test_a_department_elsewhere_is_refused_and_makes_nothing(gateway, places,  # noqa: F811
                                                             args, said):
    result = gateway("users", "create", "--name", "someone", *args)
    assert result.exit_code == 1 and said in result.output
    assert places.users.list_users() == []


def test_me_shows_the_department(app, places):
    places.users.create("coordinator", "rights.coord", agency="EMIRATE", department="RIGHTS")
    places.users.create("coordinator", "amana.coord", agency="AMANA")
    client = app.test_client()
    for login, department in (("rights.coord", "RIGHTS"), ("amana.coord", None)):
        token = places.users.create_token(login)
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.get_json()["department"] == department


def test_the_admin_page_makes_a_department_s_specialist(app, places):
    created = places.users.create("admin", "root1", password="a long admin password 1")
    from core.access.models import StaffUser
    with places.db.write.begin() as session:
        session.query(StaffUser).update({"must_change_password": False})
    client = app.test_client()
    sign_in(client, places, places.users.sign_in("root1", "a long admin password 1",
                                                 origin=None).actor)
    assert created.user.login == "root1"
    page = text(client.get("/admin/users?lang=en"))
    assert 'name="department"' in page
    wrong = client.post("/admin/users", data={
        "csrf_token": csrf(page), "lang": "en", "login": "x.spec", "role": "specialist",
        "agency": "AMANA", "department": "RIGHTS"})
    assert wrong.status_code == 422 and "belong to one of its departments" in text(wrong)
    done = client.post("/admin/users", data={
        "csrf_token": csrf(page), "lang": "en", "login": "rights.spec",
        "role": "specialist", "agency": "EMIRATE", "department": "RIGHTS"})
    assert done.status_code == 200 and "Account created" in text(done)
    assert "EMIRATE / RIGHTS" in text(client.get("/admin/users?lang=en"))
    assert places.users.get("rights.spec").department == "RIGHTS"


def test_the_demo_has_a_department_coordinator_with_enquiries_to_answer(gateway,  # noqa: F811
                                                                         core):
    from core.access.demo import DEMO_DEPARTMENT, DEMO_PASSWORD

    loaded = gateway("demo-data", "--transactions", "60", "--cases", "20")
    assert loaded.exit_code == 0, loaded.output
    assert f"EMIRATE/{DEMO_DEPARTMENT}" in loaded.stdout
    assert "enquiries about transactions" in loaded.stdout
    actor = core.users.sign_in("rights.coordinator", DEMO_PASSWORD, origin=None).actor
    assert core.users.department_code(actor.department_id) == DEMO_DEPARTMENT
    inbox = core.voice.inbox(actor, "new")
    rows = inbox.page.rows
    assert rows and all(row.case_type == "enquiry" and row.transaction for row in rows)
    # Their transaction's page shows the enquiry beside its timeline.
    desk = core.voice.transaction_desk(actor, rows[0].transaction)
    assert rows[0].tracking in {case.tracking for case in desk.cases}
    assert desk.transaction.timeline
