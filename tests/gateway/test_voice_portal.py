"""Citizen's Voice on the citizen portal through the Flask app: filing with photos and an
SMS code, the refusals in the citizen's language with nothing filed, the draft kept in the
database across processes, the tracking page ("not found" and "not yours" one page,
failed lookups limited per origin) and acting only after a code to the case's mobile."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import select

from core.messaging.models import Notification
from core.voice.models import CaseAttachment, CaseDraft, VoiceCase
from gateway.app import create_app
from tests.conftest import last_code
from tests.core.voice.conftest import MUN, World, count
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)
from tests.gateway.test_photos import GPS_IFD, jpeg_with_gps, png

MOBILE_E164 = "+966551234567"
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def text(response) -> str:
    return response.get_data(as_text=True)


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def post_filing(client, *, lang: str = "ar", photos=(), **fields):
    page = text(client.get(f"/citizen-voice/new?type=complaint&agency={MUN}&lang={lang}"))
    data = {"csrf_token": csrf(page), "lang": lang, "type": "complaint", "agency": MUN,
            "text": "الرصيف مكسور أمام المدرسة", "mobile": "0551234567", **fields}
    data["photos"] = [(BytesIO(content), name) for name, content in photos]
    return client.post("/citizen-voice/new", data=data, content_type="multipart/form-data")


def confirm(client, code: str, lang: str = "ar"):
    page = text(client.get(f"/citizen-voice/confirm?lang={lang}"))
    return client.post("/citizen-voice/confirm", data={
        "csrf_token": csrf(page), "lang": lang, "code": code})


def file_case(client, core, **fields) -> str:
    assert post_filing(client, **fields).status_code == 303
    response = confirm(client, last_code(core))
    assert response.status_code == 303
    page = text(client.get("/citizen-voice/filed"))
    return re.search(r'id="tracking"><bdi>(\d+)</bdi>', page).group(1)


# --- filing -----------------------------------------------------------------------------


def test_a_complaint_is_filed_only_after_the_code_with_its_photo_stripped(client, core,
                                                                         world: World):
    response = post_filing(client, photos=[("IMG_0001.jpg", jpeg_with_gps())])
    assert response.status_code == 303
    assert count(core, VoiceCase) == 0 and count(core, CaseDraft) == 1
    page = text(client.get("/citizen-voice/confirm"))
    assert "+966*******67" in page and 'lang="ar" dir="rtl"' in page
    wrong = confirm(client, "000000" if last_code(core) != "000000" else "111111")
    assert wrong.status_code == 422 and "الرمز غير صحيح" in text(wrong)
    assert count(core, VoiceCase) == 0
    code = last_code(core).translate(ARABIC)  # typed in Arabic-Indic digits
    assert confirm(client, code).status_code == 303
    page = text(client.get("/citizen-voice/filed"))
    tracking = re.search(r'id="tracking"><bdi>(\d+)</bdi>', page).group(1)
    with core.db.read() as session:
        case = session.scalar(select(VoiceCase).where(VoiceCase.tracking == tracking))
        assert (case.channel, case.citizen_mobile, case.agency_id) == (
            "portal", MOBILE_E164, world.agencies[MUN])
        assert case.source_key.startswith("portal:")
        photo = session.scalar(select(CaseAttachment).where(CaseAttachment.case_id == case.id))
    assert photo.content_type == "image/jpeg"
    with Image.open(BytesIO(photo.data)) as stored:
        assert not stored.getexif().get_ifd(GPS_IFD) and not stored.getexif()
    assert count(core, CaseDraft) == 0
    # The code is spent: posted again (a double click), it files nothing more.
    form = text(client.get("/citizen-voice/track"))
    again = client.post("/citizen-voice/confirm", data={
        "csrf_token": csrf(form), "lang": "ar", "code": code})
    assert again.status_code == 410 and count(core, VoiceCase) == 1


def test_the_draft_waits_in_the_database_for_another_process(settings, core, world):
    first, second = create_app(settings, core), create_app(settings, core)
    client = first.test_client()
    assert post_filing(client, photos=[("a.png", png())]).status_code == 303
    cookie = client.get_cookie("session")
    other = second.test_client()
    other.set_cookie("session", cookie.value)
    assert confirm(other, last_code(core)).status_code == 303
    assert count(core, VoiceCase) == 1 and count(core, CaseAttachment) == 1


@pytest.mark.parametrize(("fields", "photos", "field", "arabic"), [
    ({"text": "   "}, [], "text", "اكتب شكواك أو مقترحك"),
    ({"text": "ا" * 4001}, [], "text", "النص طويل"),
    ({"mobile": ""}, [], "mobile", "أدخل رقم جوالك"),
    ({"mobile": "12345"}, [], "mobile", "أدخل رقم جوال مثل"),
    ({}, [("note.jpg", b"just some text, called .jpg")], "photos", "أرفق صورًا فقط"),
    ({}, [(f"{n}.png", png()) for n in range(4)], "photos", "3"),
    ({"category": "NOPE"}, [], "category", "اختر تصنيفًا من القائمة"),
])
def test_a_bad_form_is_refused_politely_in_arabic_and_nothing_is_sent(
        client, core, world, fields, photos, field, arabic):
    response = post_filing(client, photos=photos, **fields)
    assert response.status_code == 422
    page = text(response)
    assert f'href="#{field}"' in page and arabic in page
    assert count(core, Notification) == 0 and count(core, CaseDraft) == 0


def test_errors_are_in_english_with_lang_en(client, core, world):
    response = post_filing(client, lang="en", text="")
    assert response.status_code == 422
    assert "Write your complaint or suggestion." in text(response)


def test_a_six_megabyte_photo_is_refused_in_words_not_a_413(client, core, world):
    big = b"\xff\xd8\xff" + b"\x00" * (6 * 1024 * 1024)
    response = post_filing(client, photos=[("big.jpg", big)])
    assert response.status_code == 422 and "5 ميغابايت" in text(response)


def test_the_form_needs_its_csrf_token(client, core, world):
    response = client.post("/citizen-voice/new", data={
        "type": "complaint", "text": "x", "mobile": "0551234567"})
    assert response.status_code == 400 and count(core, Notification) == 0


def test_the_agencys_categories_are_offered_without_script(client, core, world):
    core.voice.upsert_category("MUN_ROADS", {
        "agency": MUN, "name_ar": "الطرق", "name_en": "Roads", "types": ["complaint"],
        "acknowledge": "1d", "answer": "10d"})
    core.voice.upsert_category("HEALTH_CLINICS", {
        "agency": "HEALTH", "name_ar": "العيادات", "name_en": "Clinics",
        "types": ["complaint"], "acknowledge": "1d", "answer": "10d"})
    page = text(client.get(f"/citizen-voice/new?type=complaint&agency={MUN}"))
    assert "MUN_ROADS" in page and "HEALTH_CLINICS" not in page and "<script" not in page
    tracking = file_case(client, core, category="MUN_ROADS")
    assert core.voice.case(world.users["leadership"], tracking).category == "MUN_ROADS"


# --- tracking ---------------------------------------------------------------------------


def track(client, tracking: str, mobile: str, lang: str = "ar"):
    page = text(client.get(f"/citizen-voice/track?lang={lang}"))
    return client.post("/citizen-voice/track", data={
        "csrf_token": csrf(page), "lang": lang, "tracking": tracking, "mobile": mobile})


def test_the_case_is_shown_with_tracking_and_mobile_in_any_digits(client, core, world):
    tracking = world.file()
    response = track(client, tracking.translate(ARABIC), "٠٥٥١٢٣٤٥٦٧")
    page = text(response)
    assert response.status_code == 200 and tracking in page
    assert "استلمنا شكواك." in page  # the history in plain words
    received = re.search(r'<time datetime="[\d-]+">([^<]+)</time>', page).group(1)
    assert re.search(r"\d{4}هـ الموافق \d+ \S+ \d{4}م", received)  # Hijri, Gregorian
    assert 'name="action"' not in page  # reading only: acting needs a code


def test_a_strangers_number_and_no_such_case_are_one_page(client, core, world):
    tracking = world.file()
    not_theirs = track(client, tracking, "0569876543")
    missing = track(client, "7000000004", "0569876543")
    assert not_theirs.status_code == missing.status_code == 404
    assert text(not_theirs) == text(missing)
    assert tracking not in text(not_theirs) and "الرصيف" not in text(not_theirs)


def test_failed_lookups_are_limited_per_origin(client, core, world):
    tracking = world.file()
    for n in range(core.voice.lookups.per_place):
        assert track(client, f"70000000{n:02d}", "0569876543").status_code == 404
    refused = track(client, tracking, "0551234567")  # even the right pair, for now
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_acting_needs_a_code_sent_to_the_cases_mobile(client, core, world):
    tracking = world.walk("complaint", "awaiting_citizen")
    page = text(client.get("/citizen-voice/track"))
    blind = client.post(f"/citizen-voice/cases/{tracking}", data={
        "csrf_token": csrf(page), "action": "citizen_reply", "text": "hi", "key": "k1"})
    assert blind.status_code == 303 and "/citizen-voice/track" in blind.headers["Location"]
    shown = text(track(client, tracking, "0551234567"))
    response = client.post("/citizen-voice/track/code", data={
        "csrf_token": csrf(shown), "tracking": tracking, "mobile": "0551234567"})
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    client.post(f"/citizen-voice/cases/{tracking}/code", data={
        "csrf_token": csrf(page), "code": last_code(core)})
    page = text(client.get(f"/citizen-voice/cases/{tracking}"))
    assert 'value="citizen_reply"' in page
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf(page), "action": "citizen_reply", "text": "الموقع: شارع الملك",
            "key": key}
    assert client.post(f"/citizen-voice/cases/{tracking}", data=form).status_code == 303
    assert client.post(f"/citizen-voice/cases/{tracking}", data=form).status_code in (303,
                                                                                        422)
    view = core.voice.case(world.users["leadership"], tracking)
    assert view.state == "in_progress"
    assert [entry.action for entry in view.history].count("citizen_reply") == 1


def test_a_code_for_one_case_does_not_act_on_another(client, core, world):
    mine = world.walk("complaint", "awaiting_citizen")
    other = world.walk("complaint", "awaiting_citizen")
    shown = text(track(client, mine, "0551234567"))
    client.post("/citizen-voice/track/code", data={
        "csrf_token": csrf(shown), "tracking": mine, "mobile": "0551234567"})
    page = text(client.get(f"/citizen-voice/cases/{mine}/code"))
    client.post(f"/citizen-voice/cases/{mine}/code", data={
        "csrf_token": csrf(page), "code": last_code(core)})
    response = client.post(f"/citizen-voice/cases/{other}", data={
        "csrf_token": csrf(page), "action": "withdraw", "key": "k"})
    assert response.status_code == 303 and "/track" in response.headers["Location"]
    assert core.voice.case(world.users["leadership"], other).state == "awaiting_citizen"


def test_english_with_lang_en_and_the_language_link_keeps_the_place(client, core, world):
    page = text(client.get(f"/citizen-voice/new?type=complaint&agency={MUN}&lang=en"))
    assert '<html lang="en" dir="ltr">' in page and "Describe it" in page
    switch = re.search(r'class="lang-switch" href="([^"]+)"', page).group(1)
    assert "/citizen-voice/new?" in switch and "agency=MUN" in switch and "lang=ar" in switch
    home = text(client.get("/"))
    assert 'href="/citizen-voice/?lang=ar"' in home


def test_the_pages_say_the_type_and_good_arabic(client, core, world):
    """A suggestion is not a complaint: its form's hint and the filed page say which it
    is; a length reads "4000 حرف" (a thousand's count takes the singular genitive)."""
    suggestion = text(client.get(f"/citizen-voice/new?type=suggestion&agency={MUN}"))
    complaint = text(client.get(f"/citizen-voice/new?type=complaint&agency={MUN}"))
    assert "ما تقترحه" in suggestion and "أين ومتى وماذا حدث" not in suggestion
    assert "أين ومتى وماذا حدث" in complaint
    for page in (suggestion, complaint):
        assert "حرف على الأكثر" in page and "حرفًا" not in page
    file_case(client, core)
    filed = text(client.get("/citizen-voice/filed"))
    assert "سُجّلت شكواك" in filed and "بلاغك" not in filed
    english = text(client.get(f"/citizen-voice/new?type=suggestion&agency={MUN}&lang=en"))
    assert "What you suggest and what it would improve" in english


def test_the_form_says_a_masked_summary_is_published(client, core, world):
    """Before a citizen writes, the form tells them that Open311 publishes a summary."""
    for kind in ("complaint", "suggestion"):
        arabic = text(client.get(f"/citizen-voice/new?type={kind}&agency={MUN}"))
        english = text(client.get(f"/citizen-voice/new?type={kind}&agency={MUN}&lang=en"))
        assert "قد يُنشر ملخص قصير للشكاوى والمقترحات" in arabic
        assert "Open311" in arabic and "تُخفى فيه أرقام الهواتف" in arabic
        assert "a short summary of complaints and suggestions may be published" in english


def test_a_new_code_only_after_a_minute_and_then_the_old_one_stops(client, core, world,
                                                                    later):
    assert post_filing(client).status_code == 303
    old = last_code(core)
    page = text(client.get("/citizen-voice/confirm"))
    too_soon = client.post("/citizen-voice/confirm/resend", data={"csrf_token": csrf(page)})
    assert too_soon.status_code == 429 and "انتظر دقيقة" in text(too_soon)
    later(seconds=61)
    resent = client.post("/citizen-voice/confirm/resend", data={"csrf_token": csrf(page)})
    assert resent.status_code == 200 and "أُرسل رمز جديد" in text(resent)
    new = last_code(core)
    if new != old:  # one chance in a million that the new code is the old one
        assert confirm(client, old).status_code == 422
    assert confirm(client, new).status_code == 303
    assert count(core, VoiceCase) == 1
