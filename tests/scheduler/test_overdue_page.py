"""The operator's view of overdue transactions: /staff/overdue and /metrics."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.access.tokens import create_token
from tests import factories as f
from tests.core.test_overdue import issue
from tests.gateway.test_messages_page import sign_in, text


@pytest.fixture
def overdue_now(reference):
    """Two transactions issued long ago, one in a department with no manager mobile."""
    reference.upsert_department("SECURITY", f.department(
        name_ar="إدارة الشؤون الأمنية", name_en="Security Affairs Department",
        manager={"name": "فيصل"}))
    issue(reference, "4500001", "2026-01-04")
    issue(reference, "4500002", "2026-01-06", department="SECURITY")
    yesterday = (datetime.now(ZoneInfo("Asia/Riyadh")) - timedelta(days=1)).date()
    issue(reference, "4500003", yesterday.isoformat())  # not yet due
    return reference


def test_staff_see_overdue_per_department_and_agency_with_days(client, core, overdue_now):
    assert sign_in(client, create_token(core.db.write, "staff", "operator")).status_code == 303

    page = text(client.get("/staff/overdue"))

    assert "المعاملات المتأخرة" in page
    assert 'id="overdue-4500001"' in page and 'id="overdue-4500002"' in page
    assert "4500003" not in page
    assert "إدارة الحقوق" in page and "وزارة الداخلية" in page
    assert "لا شيء: لا يوجد رقم جوال للمدير" in page
    assert 'id="unreachable"' in page and "إدارة الشؤون الأمنية" in page
    english = text(client.get("/staff/overdue?lang=en"))
    assert "Security Affairs Department" in english and "Days overdue" in english


def test_past_the_lists_end_the_total_and_the_departments_without_a_mobile_count_all(
        client, core, overdue_now, monkeypatch):
    monkeypatch.setattr("gateway.overdue.PAGE_ROWS", 1)  # as 500 rows of 501
    sign_in(client, create_token(core.db.write, "staff", "operator"))

    page = text(client.get("/staff/overdue"))

    assert 'id="overdue-4500001"' in page  # the most overdue
    assert "4500002" not in page  # past the list's end, in the department with no mobile
    assert "خلال المدة المحددة للإدارة: 2." in page
    assert "تُعرض أكثر 1 معاملة تأخرًا من 2." in page
    assert 'id="unreachable"' in page and "إدارة الشؤون الأمنية" in page


def test_the_whole_list_shown_says_no_more(client, core, overdue_now):
    sign_in(client, create_token(core.db.write, "staff", "operator"))
    page = text(client.get("/staff/overdue"))
    assert "خلال المدة المحددة للإدارة: 2." in page and 'id="shown"' not in page


def test_the_overdue_page_wants_a_signed_in_staff_member(client, overdue_now):
    response = client.get("/staff/overdue")
    assert response.status_code == 303
    assert "/simulator/login" in response.headers["Location"]


def test_metrics_count_overdue_per_department(client, overdue_now):
    page = text(client.get("/metrics"))

    assert 'gateway_overdue_transactions{department="RIGHTS",manager_reachable="yes"} 1.0' \
        in page
    assert 'gateway_overdue_transactions{department="SECURITY",manager_reachable="no"} 1.0' \
        in page
    # Per agency too, with the days overdue of the one waiting longest.
    assert 'gateway_overdue_transactions_by_agency{agency="MOI",department="RIGHTS"} 1.0' \
        in page
    assert re.search(r'gateway_overdue_oldest_days\{agency="MOI",department="SECURITY"\} '
                     r'[1-9]\d*\.0', page)


def test_a_staff_bearer_token_reads_the_overdue_page_without_signing_in(client, core,
                                                                       overdue_now):
    token = create_token(core.db.write, "staff", "monitoring")

    response = client.get("/staff/overdue", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert 'id="overdue-4500001"' in text(response)
    assert "monitoring" in text(response)
    # The token is not a sign-in: the next request without it is sent to the login page.
    assert client.get("/staff/overdue").status_code == 303


@pytest.mark.parametrize(("role", "status"), [("kiosk", 403), (None, 401)])
def test_a_bearer_token_that_is_not_staff_is_refused_with_a_json_error(client, core,
                                                                      overdue_now, role,
                                                                      status):
    token = create_token(core.db.write, role, "kiosk-1") if role else "not-a-token"

    response = client.get("/staff/overdue", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == status
    assert response.get_json()["error"]["code"] == (
        "forbidden" if role else "unauthorized")


STAFF_PAGES = {"/simulator", "/simulator/call", "/staff/kiosks", "/staff/messages",
               "/staff/overdue"}


def staff_pages(app, client) -> set[str]:
    """Every page (GET, no arguments) that sends a visitor without a token to sign in."""
    return {rule.rule for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and not rule.arguments
            and (client.get(rule.rule).headers.get("Location") or "").startswith(
                "/simulator/login")}


def test_the_other_staff_pages_take_a_staff_bearer_token_too(app, client, core):
    assert staff_pages(app, client) == STAFF_PAGES  # a new page joins this test
    tokens = {role: create_token(core.db.write, role, f"monitoring-{role}")
              for role in ("staff", "kiosk")}

    def get(page: str, token: str):
        return client.get(page, headers={"Authorization": f"Bearer {token}"})

    for page in sorted(STAFF_PAGES):
        shown = get(page, tokens["staff"])
        assert shown.status_code == 200, page
        assert 'name="token"' not in text(shown), page  # the page, not the sign-in form
        assert get(page, tokens["kiosk"]).get_json()["error"]["code"] == "forbidden", page
        refused = get(page, "not-a-token")
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (
            401, "unauthorized"), page
        assert client.get(page).status_code == 303, page  # the token was no sign-in
