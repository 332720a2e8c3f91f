"""The staff web app of Citizen's Voice in real headless Chromium, served by waitress as
in production, role by role and in Arabic: a complaint filed without an agency is routed
by the emirate's coordinator, assigned by the agency's coordinator, worked by its
specialist (information requested: the clock pauses; the citizen's reply resumes it),
drafted, sent back once and approved; each role sees only what it may; the admin adds a
category and a holiday."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from core.voice.actions import CitizenProof
from tests import factories as f
from tests.gateway.live import add_staff, serving, signed_in_pages

pytestmark = pytest.mark.browser

MOBILE = "0551234567"
# login -> (role, agency)
STAFF = {
    "emirate.coord": ("coordinator", "EMIRATE"),
    "mun.coord": ("coordinator", "MUN"),
    "mun.spec": ("specialist", "MUN"),
    "mun.leader": ("agency_leader", "MUN"),
    "health.spec": ("specialist", "HEALTH"),
    "leader.ship": ("leadership", None),
    "the.admin": ("admin", None),
}


@pytest.fixture
def site(app, core) -> Iterator[str]:
    for code, name_ar in (("EMIRATE", "الإمارة"), ("MUN", "الأمانة"),
                          ("HEALTH", "الصحة")):
        core.upsert_agency(code, f.agency(name_ar=name_ar, name_en=code))
    add_staff(core, STAFF)
    with serving(app) as url:
        yield url


@pytest.fixture
def as_user(chromium, site) -> Iterator[Callable]:
    """``as_user(login)``: a page of a fresh browser signed in as ``login`` at /voice/."""
    with signed_in_pages(chromium, site, "/voice/") as open_as:
        yield open_as


def state_of(page) -> str:
    return page.locator(".case-state strong").inner_text()


def open_case(page, tracking: str) -> None:
    """By the search box, with the number typed in Arabic-Indic digits."""
    page.get_by_label("انتقل إلى حالة برقم المتابعة").fill(
        tracking.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")))
    page.get_by_label("انتقل إلى حالة برقم المتابعة").press("Enter")
    page.wait_for_url(f"**/voice/cases/{tracking}**")


def test_a_complaint_from_received_to_answered_role_by_role(as_user, site, core):
    tracking = core.voice.file_case({
        "type": "complaint", "channel": "portal", "lang": "ar",
        "text": "إنارة الشارع معطلة منذ أسبوع", "citizen": {"mobile": MOBILE,
                                                          "name": "سارة"}}).tracking
    elsewhere = core.voice.file_case({
        "type": "complaint", "channel": "sms", "lang": "ar", "agency": "HEALTH",
        "text": "تأخر موعد العيادة", "citizen": {"mobile": MOBILE}}).tracking

    # The emirate's coordinator: every open case, this one routed to the municipality.
    emirate = as_user("emirate.coord")
    assert (emirate.get_attribute("html", "lang"), emirate.get_attribute("html", "dir")) \
        == ("ar", "rtl")
    emirate.get_by_role("link", name="كل المفتوحة").click()
    emirate.get_by_role("link", name=tracking).click()
    assert state_of(emirate) == "مستلمة"
    emirate.get_by_label("الجهة", exact=True).select_option("MUN")
    emirate.get_by_role("button", name="أحِل").click()
    assert "تم: أُحيلت" in emirate.get_by_role("status").inner_text()

    # The municipality's coordinator: the new tab, assigned to the specialist.
    coordinator = as_user("mun.coord")
    assert coordinator.locator("#cases").get_by_role("link", name=tracking).is_visible()
    assert elsewhere not in coordinator.content()
    open_case(coordinator, tracking)
    coordinator.get_by_label("المختص").select_option("mun.spec")
    coordinator.get_by_role("button", name="أسنِد").click()
    assert state_of(coordinator) == "مسندة"

    # The specialist asks the citizen: the clock pauses.
    specialist = as_user("mun.spec")
    specialist.locator("#cases").get_by_role("link", name=tracking).click()
    specialist.get_by_label("سؤالك").fill("ما رقم العمود أو أقرب معلم؟")
    specialist.get_by_role("button", name="أرسل السؤال").click()
    assert state_of(specialist) == "بانتظار المواطن"
    assert "متوقف: بانتظار المواطن" in specialist.locator("#clock-title + dl").inner_text()

    core.voice.citizen_act(tracking, "citizen_reply", CitizenProof(mobile=MOBILE),
                           text="العمود رقم ١٢ أمام المسجد")
    specialist.reload()
    assert state_of(specialist) == "قيد المعالجة"
    assert "ردّ المواطن" in specialist.locator("#history").inner_text()
    specialist.get_by_label("الرد", exact=True).fill("سيُصلح العمود خلال يومين.")
    specialist.get_by_role("button", name="احفظ المسودة").click()
    assert state_of(specialist) == "مسودة رد"

    # The coordinator sends it back (a reason is required), then approves the second.
    coordinator.reload()
    coordinator.get_by_role("button", name="أعِد").click()
    summary = coordinator.locator("#error-summary")
    assert "اذكر السبب" in summary.inner_text()
    assert coordinator.evaluate("document.activeElement.id") == "error-summary"
    assert coordinator.locator("#send_back-reason").get_attribute("aria-invalid") == "true"
    assert state_of(coordinator) == "مسودة رد"
    coordinator.locator("#send_back-reason").fill("اذكر موعد الإصلاح بالتاريخ.")
    coordinator.get_by_role("button", name="أعِد").click()
    assert state_of(coordinator) == "قيد المعالجة"

    specialist.reload()
    specialist.get_by_label("الرد", exact=True).fill("سيُصلح العمود يوم الأحد القادم.")
    specialist.get_by_role("button", name="احفظ المسودة").click()
    coordinator.reload()
    coordinator.get_by_role("button", name="اعتمد وأرسل").click()
    assert state_of(coordinator) == "تم الرد"
    assert "يوم الأحد القادم" in coordinator.locator(".case-text").nth(1).inner_text()
    history = coordinator.locator("#history").inner_text()
    for step in ("أُحيلت", "مسندة", "طُلبت معلومات", "ردّ المواطن", "أُعيدت",
                 "اعتُمد الرد وأُرسل"):
        assert step in history, step

    # Another agency's specialist: the same page as a case that does not exist.
    stranger = as_user("health.spec")
    response = stranger.goto(f"{site}/voice/cases/{tracking}")
    assert response.status == 404 and "لا توجد هذه الحالة" in stranger.content()
    assert "إنارة" not in stranger.content()

    # The agency leader: the agency's list, the citizen masked.
    leader = as_user("mun.leader")
    assert leader.locator("#cases").get_by_role("link", name=tracking).is_visible()
    assert elsewhere not in leader.locator("main").inner_text()
    open_case(leader, tracking)
    citizen = leader.locator("main").inner_text()
    assert "سارة" not in citizen and MOBILE[1:] not in citizen and "مقنّعة" in citizen

    # Leadership: every agency, one agency by the filter.
    leadership = as_user("leader.ship")
    listed = leadership.locator("#cases").inner_text()
    assert tracking in listed and elsewhere in listed
    leadership.get_by_label("الجهة", exact=True).select_option("HEALTH")
    leadership.get_by_role("button", name="عرض").click()
    listed = leadership.locator("#cases").inner_text()
    assert elsewhere in listed and tracking not in listed


def test_the_admin_adds_a_category_and_a_holiday(as_user, site, core):
    admin = as_user("the.admin")
    admin.wait_for_url("**/admin/users**")  # the admin's home
    admin.goto(f"{site}/admin/categories")
    form = admin.get_by_role("region", name="إضافة تصنيف أو تعديله")
    form.get_by_label("الرمز", exact=True).fill("lighting")
    form.get_by_label("الجهة", exact=True).select_option("MUN")
    form.get_by_label("الاسم بالعربية").fill("الإنارة")
    form.get_by_label("الاسم بالإنجليزية").fill("Street lighting")
    form.get_by_label("الإقرار خلال").fill("١d")
    form.get_by_label("الرد خلال").fill("5d")
    form.get_by_role("button", name="احفظ التصنيف").click()
    assert "أُنشئ التصنيف lighting" in admin.get_by_role("status").inner_text()
    row = admin.locator("#categories tr", has_text="lighting")
    assert "الإنارة" in row.inner_text() and "5 أيام عمل" in row.inner_text()

    admin.get_by_role("link", name="تقويم العمل").click()
    admin.get_by_label("اليوم الأول").first.fill("2027-03-20")
    admin.get_by_label("اليوم الأخير (اختياري)").fill("2027-03-22")
    admin.locator("#holiday-name").fill("عيد الفطر")
    admin.get_by_role("button", name="أضف الإجازة").click()
    assert "أُضيف 3 يوم" in admin.get_by_role("status").inner_text()
    assert admin.locator("#holiday-list tbody tr").count() == 3
    assert "أُضيفت إجازة 2027-03-20" in admin.locator("#versions").inner_text()
    assert [h.name for h in core.voice.calendar_state().holidays] == ["عيد الفطر"] * 3


def test_the_case_page_is_usable_by_keyboard(as_user, core):
    tracking = core.voice.file_case({
        "type": "complaint", "channel": "portal", "lang": "ar", "agency": "MUN",
        "text": "حفرة في الطريق", "citizen": {"mobile": MOBILE}}).tracking
    page = as_user("mun.coord")
    open_case(page, tracking)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Every field of every form has its label; every table header its scope.
    unlabelled = page.evaluate("""[...document.querySelectorAll(
        'main input:not([type=hidden]), main select, main textarea')]
        .filter(el => !el.labels || el.labels.length === 0).map(el => el.name)""")
    assert unlabelled == []
    assert page.evaluate("[...document.querySelectorAll('th')]"
                         ".every(th => th.getAttribute('scope'))")
    ids = page.evaluate("[...document.querySelectorAll('[id]')].map(el => el.id)")
    assert len(ids) == len(set(ids))
    # Assign by keyboard alone: focus the select, choose, submit with Enter on the button.
    page.get_by_label("المختص").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "أسنِد"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert state_of(page) == "مسندة"
