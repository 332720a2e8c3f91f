"""Department staff in real headless Chromium, in Arabic, role by role: an e-mailed
enquiry about a transaction reaches the department holding it, is worked there (assigned,
drafted, approved) beside the transaction's page (its timeline and enquiries); another
department, an agency and the emirate's leader find neither the case nor the
transaction; the emirate's coordinator refers a general enquiry to the department."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from core.access.users import StaffUsers
from tests import factories as f
from tests.gateway.live import PASSWORD, serving
from tests.gateway.test_voice_browser import as_user as as_user  # noqa: F401  (fixture)
from tests.gateway.test_voice_browser import state_of

pytestmark = pytest.mark.browser

NUMBER = "4471234"
# login -> (role, agency, department)
STAFF = {
    "emirate.coord": ("coordinator", "EMIRATE", None),
    "rights.coord": ("coordinator", "EMIRATE", "RIGHTS"),
    "rights.spec": ("specialist", "EMIRATE", "RIGHTS"),
    "deeds.coord": ("coordinator", "EMIRATE", "DEEDS"),
    "emirate.leader": ("agency_leader", "EMIRATE", None),
    "mun.coord": ("coordinator", "MUN", None),
    "leader.ship": ("leadership", None, None),
}


@pytest.fixture
def site(app, core) -> Iterator[str]:
    core.__dict__["users"] = StaffUsers(
        core.db, core.config, hasher=PasswordHasher(time_cost=1, memory_cost=1024,
                                                    parallelism=1))
    for code, name_ar in (("EMIRATE", "الإمارة"), ("MUN", "الأمانة")):
        core.upsert_agency(code, f.agency(name_ar=name_ar, name_en=code))
    core.upsert_department("RIGHTS", f.department())
    core.upsert_department("DEEDS", f.department(name_ar="إدارة الصكوك",
                                                 name_en="Deeds Department"))
    core.record_event(f.registered(NUMBER, "2026-11-20T09:15:00+03:00"))
    core.record_event(f.event("referred", NUMBER, "2026-11-20T10:00:00+03:00",
                              department="RIGHTS"))
    for login, (role, agency, department) in STAFF.items():
        created = core.users.create(role, login, name=login, agency=agency,
                                    department=department)
        core.users.change_password(created.user.id, created.password, PASSWORD)
    with serving(app) as url:
        yield url


def test_an_enquiry_worked_by_the_department_beside_its_transaction(  # noqa: F811
        as_user, site, core):
    tracking = core.voice.file_case({
        "transaction": "٤٤٧١٢٣٤", "channel": "email", "lang": "ar",
        "text": "متى تصدر الإفادة الخاصة بمعاملتي؟",
        "citizen": {"email": f.EMAIL}}, email_thread="<q1@citizen.example>").tracking
    general = core.voice.file_case({
        "type": "enquiry", "channel": "sms", "lang": "ar", "text": "كيف أجدد التصريح؟",
        "citizen": {"mobile": "0551234567"}}).tracking

    # The department's coordinator: the enquiry, with its transaction, in their inbox.
    rights = as_user("rights.coord")
    assert rights.get_attribute("html", "dir") == "rtl"
    rights.get_by_role("link", name="كل المفتوحة").click()
    # The click navigates: the inbox's first tab is still on screen until the new one loads.
    rights.wait_for_url("**tab=open**")
    cases = rights.locator("#cases")
    assert cases.get_by_role("link", name=tracking).is_visible()
    assert cases.get_by_role("link", name=NUMBER).is_visible()
    assert general not in rights.content()
    cases.get_by_role("link", name=tracking).click()
    facts = rights.locator(".facts").first.inner_text()
    assert "إدارة الحقوق" in facts and "بشأن المعاملة" in facts

    # The transaction's page: its stage, timeline and this enquiry.
    rights.locator("#case-transaction").click()
    rights.wait_for_url(f"**/voice/transactions/{NUMBER}**")
    assert "طلب إفادة" in rights.locator("main").inner_text()
    assert "هـ" in rights.locator("#timeline").inner_text()
    rights.locator("#enquiries").get_by_role("link", name=tracking).click()
    rights.wait_for_url(f"**/voice/cases/{tracking}**")

    # Assigned to the department's specialist, drafted, approved.
    rights.get_by_label("المختص").select_option("rights.spec")
    rights.get_by_role("button", name="أسنِد").click()
    assert state_of(rights) == "مسندة"
    specialist = as_user("rights.spec")
    specialist.locator("#cases").get_by_role("link", name=tracking).click()
    specialist.get_by_role("button", name="ابدأ").click()
    specialist.get_by_label("الرد", exact=True).fill("تصدر الإفادة يوم الأحد القادم.")
    specialist.get_by_role("button", name="احفظ المسودة").click()
    assert state_of(specialist) == "مسودة رد"
    rights.reload()
    rights.get_by_role("button", name="اعتمد وأرسل").click()
    assert state_of(rights) == "تم الرد"

    # Those the department's cases are not for: as no such case, no such transaction.
    for login in ("deeds.coord", "mun.coord"):
        stranger = as_user(login)
        page = stranger.goto(f"{site}/voice/transactions/{NUMBER}")
        assert page.status == 404 and "لا توجد معاملة بهذا الرقم" in stranger.content()
        assert stranger.goto(f"{site}/voice/cases/{tracking}").status == 404
    # Leadership, the emirate's leader (who reads every emirate case) and its coordinator
    # open the transaction.
    for login in ("leader.ship", "emirate.leader"):
        senior = as_user(login)
        assert senior.goto(f"{site}/voice/transactions/{NUMBER}").status == 200
        assert tracking in senior.locator("#enquiries").inner_text()

    # The emirate's coordinator refers the general enquiry to the department.
    emirate = as_user("emirate.coord")
    assert emirate.goto(f"{site}/voice/transactions/{NUMBER}").status == 200
    emirate.goto(f"{site}/voice/cases/{general}")
    emirate.get_by_label("الإدارة", exact=True).select_option("RIGHTS")
    emirate.get_by_role("button", name="وجّه إلى الإدارة").click()
    assert "تم: وُجّهت إلى إدارة" in emirate.get_by_role("status").inner_text()
    rights.goto(f"{site}/voice/cases/{general}")
    assert state_of(rights) == "مستلمة"
