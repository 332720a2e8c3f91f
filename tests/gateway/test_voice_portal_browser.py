"""Citizen's Voice on the portal end to end, in real headless Chromium against the gateway
under waitress, in Arabic: a citizen files a complaint with a photo (the SMS code read
from the outbox row the SMS carries), staff ask for information on their pages, the
citizen answers on the tracking page after a code, staff answer, the citizen rates and
reopens. A stranger's tracking number with a wrong mobile shows the page of no such
case; a complaint carrying markup shows as text to staff and to the citizen."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.messaging.models import Notification
from tests.gateway.test_photos import jpeg_with_gps
from tests.gateway.test_voice_browser import as_user as as_user  # noqa: F401  (fixture)
from tests.gateway.test_voice_browser import open_case, state_of
from tests.gateway.test_voice_browser import site as site  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

MOBILE = "0551234567"
MOBILE_E164 = "+966551234567"
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PAYLOAD = ('الإنارة معطلة <script>window.hacked = 1</script>'
           '<img src=x onerror="window.hacked = 2"> "><b onmouseover=alert(3)>x</b>')


def sms_code(core) -> str:
    """The code as the SMS to the citizen carries it (the newest code row queued)."""
    with core.db.read() as session:
        body = session.scalar(select(Notification.body).where(
            Notification.kind == "code", Notification.recipient == MOBILE_E164)
            .order_by(Notification.id.desc()).limit(1))
    return re.search(r"\d{6}", body).group(0)


@pytest.fixture
def citizen(chromium, site):  # noqa: F811
    context = chromium.new_context(viewport={"width": 420, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert dialogs == [] and errors == []


def code_step(page, core) -> None:
    assert "أدخل الرمز" in page.locator("h1").inner_text()
    page.get_by_label("الرمز", exact=True).fill(sms_code(core).translate(ARABIC))
    page.get_by_role("button", name="تأكيد").click()


def test_a_complaint_from_the_portal_to_the_answer_its_rating_and_reopening(
        citizen, as_user, site, core):  # noqa: F811
    # The citizen files a complaint with a photo, in Arabic, without a line of script.
    citizen.goto(f"{site}/citizen-voice/")
    assert (citizen.get_attribute("html", "lang"), citizen.get_attribute("html", "dir")) \
        == ("ar", "rtl")
    assert citizen.locator("script").count() == 0
    citizen.get_by_label("شكوى أو بلاغ").check()
    citizen.get_by_label("الجهة المعنية").select_option("MUN")
    citizen.get_by_role("button", name="التالي").click()
    citizen.get_by_label("صِف الأمر").fill(PAYLOAD)
    citizen.get_by_label("صور (اختياري)").set_input_files(
        files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps()}])
    citizen.get_by_label("رقم جوالك").fill(MOBILE.translate(ARABIC))
    citizen.get_by_role("button", name="أرسل إليّ الرمز").click()
    assert "+966*******67" in citizen.locator("main").inner_text()
    code_step(citizen, core)
    tracking = citizen.locator("#tracking").inner_text().strip()
    assert re.fullmatch(r"\d{10}", tracking)

    # Staff: the coordinator sees the text as text and the photo; the specialist asks.
    coordinator = as_user("mun.coord")
    open_case(coordinator, tracking)
    shown = coordinator.locator("blockquote.case-text").first.inner_text()
    assert "<script>" in shown and 'onerror="window.hacked = 2"' in shown
    assert coordinator.evaluate("window.hacked === undefined")
    photo = coordinator.locator(".attachments img")
    photo.wait_for()
    assert coordinator.evaluate(
        "img => img.complete && img.naturalWidth === 64", photo.element_handle())
    coordinator.get_by_label("المختص").select_option("mun.spec")
    coordinator.get_by_role("button", name="أسنِد").click()
    specialist = as_user("mun.spec")
    open_case(specialist, tracking)
    specialist.get_by_label("سؤالك").fill("ما اسم الشارع؟")
    specialist.get_by_role("button", name="أرسل السؤال").click()
    assert state_of(specialist) == "بانتظار المواطن"

    # The citizen reads the question with the tracking number and mobile...
    citizen.goto(f"{site}/citizen-voice/track")
    citizen.get_by_label("رقم المتابعة").fill(tracking.translate(ARABIC))
    citizen.get_by_label("رقم الجوال").fill(MOBILE)
    citizen.get_by_role("button", name="اعرض بلاغي").click()
    assert citizen.locator("#case-state").inner_text() == "بانتظار ردك"
    assert "ما اسم الشارع؟" in citizen.locator("#case-question").inner_text()
    assert "<script>" in citizen.locator("#case-text").inner_text()
    assert citizen.evaluate("window.hacked === undefined")
    assert citizen.locator("textarea, input[name=action]").count() == 0  # not without a code
    # ...and answers after a code sent to the case's mobile.
    citizen.get_by_role("button", name="أرسل إليّ رمزًا لأتصرف في بلاغي").click()
    code_step(citizen, core)
    citizen.get_by_label("ردك", exact=True).fill("شارع الملك فهد")
    citizen.get_by_role("button", name="أرسل ردي").click()
    assert "أُرسل ردك إلى الجهة" in citizen.get_by_role("status").inner_text()
    assert citizen.locator("#case-state").inner_text() == "قيد الدراسة"

    # The coordinator answers (sent at once).
    coordinator.reload()
    assert "شارع الملك فهد" in coordinator.locator("#history").inner_text()
    coordinator.get_by_label("الرد", exact=True).fill("أُصلحت الإنارة في شارع الملك فهد.")
    coordinator.locator("form", has=coordinator.locator("input[value=answer]")) \
        .get_by_role("button").click()
    assert state_of(coordinator) == "تم الرد"

    # The citizen rates the answer, then reopens the case.
    citizen.reload()
    assert "أُصلحت الإنارة" in citizen.locator("#case-answer").inner_text()
    citizen.get_by_role("button", name="التقييم 2 من 5").click()
    assert "سُجّل تقييمك" in citizen.get_by_role("status").inner_text()
    citizen.get_by_role("button", name="أعد فتح بلاغي").click()
    assert "أُعيد فتح بلاغك" in citizen.get_by_role("status").inner_text()
    history = citizen.locator("#history").inner_text()
    for step in ("استلمنا شكواك.", "طُلبت منك معلومات إضافية.", "رددت.", "أُجيب عنه.",
                 "قيّمت الرد.", "أعدت فتحه."):
        assert step in history, step
    coordinator.reload()
    assert state_of(coordinator) != "تم الرد"


def test_a_strangers_tracking_number_reveals_nothing(citizen, site, core):  # noqa: F811
    tracking = core.voice.file_case({
        "type": "complaint", "channel": "sms", "lang": "ar", "agency": "MUN",
        "text": "حفرة كبيرة أمام منزلي", "citizen": {"mobile": "0569876543"}}).tracking

    def look(number: str) -> str:
        citizen.goto(f"{site}/citizen-voice/track")
        citizen.get_by_label("رقم المتابعة").fill(number)
        citizen.get_by_label("رقم الجوال").fill(MOBILE)
        citizen.get_by_role("button", name="اعرض بلاغي").click()
        return citizen.locator("main").inner_html()

    not_theirs = look(tracking)
    assert "حفرة" not in not_theirs and tracking not in not_theirs
    assert not_theirs == look("7000000004")
    assert "تعذّر عرض هذا البلاغ" in not_theirs
