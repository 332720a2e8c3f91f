"""Department staff in the staff web app: their inbox (enquiries with the transaction
they ask about), the case page's department, transaction link and "refer" form, and a
transaction's page (its stage, dates, timeline and the cases about it) for its
department's staff, the emirate's coordinators and leadership only: for anyone else the
same 404 as a number that is no transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.access.models import StaffUser
from core.voice.models import VoiceCase
from tests import factories as f
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)
from tests.core.voice.test_departments import depts as depts  # noqa: F401
from tests.gateway.test_voice_pages import as_user, post_action, text

NUMBER = "4471234"


@pytest.fixture
def staff(depts, core):  # noqa: F811
    with core.db.write.begin() as session:
        for user in session.query(StaffUser):
            user.must_change_password = False
    return depts


def ask(world) -> str:
    return world.voice.file_case({"transaction": NUMBER, "text": "متى تصدر الإفادة؟",
                                  "channel": "email",
                                  "citizen": {"email": f.EMAIL}}, now=world.tick()).tracking


def test_the_department_s_inbox_shows_its_enquiry_with_its_transaction(app, core, staff):
    tracking, general = ask(staff), staff.file("enquiry", None)
    page = text(as_user(app, core, staff, "dept_coordinator").get("/voice/inbox?tab=open"))
    assert tracking in page and general not in page
    assert f'href="/voice/transactions/{NUMBER}?lang=ar"' in page
    assert 'dir="rtl"' in page
    other = text(as_user(app, core, staff, "other_dept_coordinator")
                 .get("/voice/inbox?tab=open"))
    assert tracking not in other and general not in other
    emirate = text(as_user(app, core, staff, "emirate_coordinator")
                   .get("/voice/inbox?tab=open"))
    assert tracking in emirate and general in emirate


def test_the_case_page_links_its_transaction_and_offers_refer(app, core, staff):
    tracking = ask(staff)
    page = text(as_user(app, core, staff, "dept_coordinator")
                .get(f"/voice/cases/{tracking}?lang=en"))
    assert f'href="/voice/transactions/{NUMBER}?lang=en"' in page
    assert "Rights Department" in page
    assert 'name="department"' in page and 'value="DEEDS"' in page
    assert 'value="-"' in page  # back to the emirate's general inbox


def test_refer_from_the_page_moves_the_case_and_leaves_the_department(app, core, staff):
    tracking = ask(staff)
    client = as_user(app, core, staff, "dept_coordinator")
    refused = post_action(client, tracking, "refer", department="")
    assert refused.status_code == 422 and "Choose a department." in text(refused)
    done = post_action(client, tracking, "refer", department="-")
    assert done.status_code == 303
    left = client.get(done.headers["Location"])
    assert left.status_code == 200 and "The case has left your lists." in text(left)
    with core.db.read() as session:
        assert session.scalar(select(VoiceCase.department_id)
                              .where(VoiceCase.tracking == tracking)) is None


@pytest.mark.parametrize(("user", "shown"), [
    ("dept_coordinator", True), ("dept_specialist", True), ("emirate_coordinator", True),
    ("leadership", True), ("other_dept_coordinator", False), ("mun_coordinator", False),
    ("emirate_leader", True), (f"spec_{'EMIRATE'}", False)])
def test_the_transaction_page_is_for_its_department_the_emirate_and_leadership(
        app, core, staff, user, shown):
    tracking = ask(staff)
    client = as_user(app, core, staff, user)
    response = client.get(f"/voice/transactions/{NUMBER}?lang=en")
    unknown = client.get("/voice/transactions/9999999?lang=en")
    assert unknown.status_code == 404
    if not shown:
        assert response.status_code == 404
        assert text(response) == text(unknown)  # not theirs: as no such transaction
        return
    page = text(response)
    assert response.status_code == 200
    assert "طلب إفادة" in page and "Rights Department" in page
    assert 'id="timeline"' in page and "Referred to Rights Department" in page
    assert "Registered" in page
    # The department's specialist sees only the cases assigned to them.
    assert (tracking in page) == (user != "dept_specialist")


def test_the_transaction_page_is_arabic_first_with_hijri_dates(app, core, staff):
    ask(staff)
    page = text(as_user(app, core, staff, "dept_coordinator")
                .get(f"/voice/transactions/{NUMBER}"))
    assert 'dir="rtl"' in page and "هـ" in page and "إدارة الحقوق" in page
    # Arabic-Indic digits typed in the address find it too.
    typed = NUMBER.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert as_user(app, core, staff, "dept_coordinator") \
        .get(f"/voice/transactions/{typed}").status_code == 200
