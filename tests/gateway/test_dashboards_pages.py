"""The transactions' dashboard through the Flask app: who sees what (leadership every
department, a department's staff theirs, anyone else 403), the figures linked to their
lists, the period by Hijri month or Gregorian dates, the downloads, no inline style."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
import time_machine

from core.access.actors import AGENCY_LEADER, COORDINATOR, LEADERSHIP, SPECIALIST
from core.access.models import StaffUser
from tests.core.dashboards.test_transactions import NOW
from tests.core.dashboards.test_transactions import dataset as dataset  # noqa: F401
from tests.core.voice.conftest import add_user


@pytest.fixture
def users(core, dataset):  # noqa: F811
    _core, ids = dataset
    made = {"leadership": add_user(core, "boss", LEADERSHIP, None),
            "leader": add_user(core, "leader", AGENCY_LEADER, None),
            "specialist": add_user(core, "spec", SPECIALIST, None),
            "lands": add_user(core, "lands", COORDINATOR, None)}
    with core.db.write.begin() as session:
        for user in session.query(StaffUser):
            user.must_change_password = False
            if user.login == "lands":
                user.department_id = ids["LANDS"]
    return made


@pytest.fixture(autouse=True)
def _at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def client_of(app, core, actor):
    client = app.test_client()
    sid = core.staff_sessions.open_for_user(actor.user_id)
    with client.session_transaction() as held:
        held["staff_user"] = {"sid": sid}
    return client


NOVEMBER = "from=2026-11-01&to=2026-11-30"


def test_leadership_sees_every_department_with_links_to_the_lists(app, core, users):
    response = client_of(app, core, users["leadership"]).get(
        f"/dashboards/transactions?lang=en&{NOVEMBER}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Rights Department" in page and "Lands" in page
    assert 'role="img"' in page and "<desc" in page and "<details" in page
    assert "As of" in page
    assert "/dashboards/transactions/list?" in page and "which=overdue" in page
    assert ' style="' not in page  # the Content-Security-Policy forbids inline style


def test_the_arabic_page_is_right_to_left_with_arabic_indic_digits(app, core, users):
    page = client_of(app, core, users["leadership"]).get(
        f"/dashboards/transactions?{NOVEMBER}").get_data(as_text=True)
    assert 'dir="rtl"' in page
    # RIGHTS: average 6 days, 90th percentile 11, as Arabic-Indic digits in the table.
    assert ">٦<" in page and ">١١<" in page


def test_a_department_s_staff_see_their_department_only(app, core, users):
    page = client_of(app, core, users["lands"]).get(
        f"/dashboards/transactions?lang=en&{NOVEMBER}").get_data(as_text=True)
    assert "Lands" in page and "Rights Department" not in page
    listed = client_of(app, core, users["lands"]).get(
        f"/dashboards/transactions/list?lang=en&which=overdue&{NOVEMBER}")
    numbers = re.findall(r'<td dir="ltr">([A-Z]\d)</td>', listed.get_data(as_text=True))
    assert sorted(numbers) == ["L1", "L2"]


@pytest.mark.parametrize("who", ["leader", "specialist"])
def test_no_dashboard_for_staff_of_no_department(app, core, users, who):
    client = client_of(app, core, users[who])
    assert client.get("/dashboards/transactions").status_code == 403
    assert client.get("/dashboards/transactions/list?which=overdue").status_code == 403


def test_a_visitor_not_signed_in_goes_to_sign_in(client):
    response = client.get("/dashboards/transactions")
    assert response.status_code == 303 and "/login" in response.headers["Location"]


def test_a_hijri_month_is_a_period(app, core, users):
    # Jumada al-Akhirah 1448 runs 2026-11-11 to 2026-12-09: of the transactions only
    # T5 (11-30) and T6 (12-01) were registered in it.
    listed = client_of(app, core, users["leadership"]).get(
        "/dashboards/transactions/list?lang=en&which=received&month=1448-06")
    numbers = re.findall(r'<td dir="ltr">([A-Z]\d)</td>', listed.get_data(as_text=True))
    assert sorted(numbers) == ["T5", "T6"]


@pytest.mark.parametrize("query", ["month=1448-13", "month=abc", "from=2026-13-01",
                                   "from=2026-11-30&to=2026-11-01"])
def test_a_bad_period_is_a_422_in_the_page_s_language(app, core, users, query):
    response = client_of(app, core, users["leadership"]).get(
        f"/dashboards/transactions?lang=en&{query}")
    assert response.status_code == 422
    assert "Please correct the following" in response.get_data(as_text=True)


def test_an_unknown_list_is_a_404(app, core, users):
    client = client_of(app, core, users["leadership"])
    assert client.get("/dashboards/transactions/list?which=all").status_code == 404
    assert client.get(
        "/dashboards/transactions/list?which=overdue&department=NOPE").status_code == 404


def test_the_csv_download_has_a_bom_and_the_page_s_numbers(app, core, users):
    response = client_of(app, core, users["leadership"]).get(
        f"/dashboards/transactions?lang=en&{NOVEMBER}&format=csv&table=departments")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="departments.csv"' in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Department", "Received in the period", "Issued in the period"]
    assert ["Lands", "1", "1", "2", "2", "0.5", "0.5"] in rows


def test_the_xlsx_download_has_every_table_right_to_left_in_arabic(app, core, users):
    response = client_of(app, core, users["leadership"]).get(
        f"/dashboards/transactions?{NOVEMBER}&format=xlsx")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as book:
        names = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(names) == 4
        assert 'rightToLeft="1"' in book.read("xl/worksheets/sheet1.xml").decode()


def test_a_list_downloads_too(app, core, users):
    response = client_of(app, core, users["leadership"]).get(
        f"/dashboards/transactions/list?lang=en&which=overdue&{NOVEMBER}&format=csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert sorted(row[0] for row in rows[1:]) == ["L1", "L2", "T1"]
