"""``GET /api/v1/stats/transactions``: the transactions' figures as JSON, by token:
leadership every department, a department's staff their own, anyone else 403; bad
parameters 422 with the field named."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import update

from core.access.models import StaffUser
from tests.core.dashboards.test_transactions import NOW
from tests.core.dashboards.test_transactions import dataset as dataset  # noqa: F401
from tests.core.voice.conftest import add_user

NOVEMBER = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def tokens(core, dataset):  # noqa: F811
    _core, ids = dataset
    for login, role in (("boss", "leadership"), ("lands", "coordinator"),
                        ("leader", "agency_leader")):
        add_user(core, login, role, None)
    with core.db.write.begin() as session:
        session.execute(update(StaffUser).where(StaffUser.login == "lands")
                        .values(department_id=ids["LANDS"]))
    return {login: {"Authorization": f"Bearer {core.users.create_token(login)}"}
            for login in ("boss", "lands", "leader")}


@pytest.fixture(autouse=True)
def _at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_leadership_gets_every_department(client, tokens):
    response = client.get(f"/api/v1/stats/transactions?{NOVEMBER}", headers=tokens["boss"])
    assert response.status_code == 200
    body = response.get_json()
    rights = {row["code"]: row for row in body["departments"]}["RIGHTS"]
    assert (rights["received"], rights["issued"], rights["awaiting_reply"],
            rights["overdue"], rights["average_days"], rights["p90_days"]) == (
        4, 4, 2, 1, 6.0, 11.0)
    assert rights["name"]["en"] == "Rights Department"
    assert [(row["agency"], row["overdue"]) for row in body["overdue_by_agency"]] == [
        ("-", 1), ("MOH", 1), ("MOI", 1)]
    assert body["inquiries_by_channel"] == {"ivr": 1, "portal": 1, "sms": 2}
    assert len(body["inquiries_by_hour"]) == 24 and body["from"] == "2026-11-01"


def test_a_department_s_staff_get_their_own(client, tokens):
    body = client.get(f"/api/v1/stats/transactions?{NOVEMBER}",
                      headers=tokens["lands"]).get_json()
    assert [row["code"] for row in body["departments"]] == ["LANDS"]
    other = client.get(f"/api/v1/stats/transactions?{NOVEMBER}&department=RIGHTS",
                       headers=tokens["lands"])
    assert other.status_code == 422 and other.get_json()["error"]["field"] == "department"


def test_anyone_else_is_refused(client, tokens):
    assert client.get("/api/v1/stats/transactions", headers=tokens["leader"]).status_code == 403
    assert client.get("/api/v1/stats/transactions").status_code == 401


@pytest.mark.parametrize(("query", "field"), [("since=2026-11-01", "since"),
                                              ("from=2026-11-31", "from"),
                                              ("from=2026-11-30&to=2026-11-01", "to"),
                                              ("department=", "department")])
def test_bad_parameters_are_422_naming_the_field(client, tokens, query, field):
    response = client.get(f"/api/v1/stats/transactions?{query}", headers=tokens["boss"])
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field
