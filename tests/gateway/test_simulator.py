"""The staff phone simulator through Flask's test client: the short code's reply, not sent."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.access.tokens import create_token, revoke_token
from core.messaging.models import InboundMessage, Notification
from core.transactions.models import InquiryLog
from tests import factories as f
from tests.conftest import csrf_token, sign_in

NUMBER = "4471234"
ARABIC_NUMBER = "٤٤٧١٢٣٤"
ARABIC_MOBILE = "٠٥٥١٢٣٤٥٦٧"
STATUS_AR = "المعاملة رقم 4471234: أحيلت إلى إدارة الحقوق"



def text(response) -> str:
    return response.get_data(as_text=True)


def send(client, mobile: str, message: str, lang: str = "ar"):
    return client.post("/simulator", data={
        "csrf_token": csrf_token(client, "/simulator"), "lang": lang, "mobile": mobile,
        "message": message})


def reply(response) -> str:
    match = re.search(r'id="reply">.*?<bdi class="bubble-text"[^>]*>(.*?)</bdi>',
                      text(response), re.S)
    assert match, "the page shows a reply"
    return match.group(1)


def count(core, model) -> int:
    with core.db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


# --- signing in --------------------------------------------------------------------------


def test_the_simulator_redirects_to_sign_in_when_not_signed_in(client):
    for r in (client.get("/simulator"), client.get("/simulator?lang=en")):
        assert r.status_code == 303
        assert r.headers["Location"].startswith("/simulator/login")
    assert client.get("/simulator?lang=en").headers["Location"].endswith("lang=en")


def test_posting_a_message_without_signing_in_answers_nothing(client, core, transaction):
    token = csrf_token(client)
    r = client.post("/simulator", data={"csrf_token": token, "mobile": f.MOBILE,
                                        "message": NUMBER})
    assert r.status_code == 303 and r.headers["Location"].startswith("/simulator/login")
    assert count(core, InquiryLog) == 0


def test_sign_in_page_is_arabic_right_to_left_by_default(client):
    html = text(client.get("/simulator/login"))
    assert '<html lang="ar" dir="rtl">' in html
    assert "رمز الموظف" in html
    assert '<script' not in html
    assert '<html lang="en" dir="ltr">' in text(client.get("/simulator/login?lang=en"))


def test_a_staff_token_signs_in_and_the_session_keeps_no_token(app, client, staff_token):
    r = sign_in(client, staff_token)
    assert r.status_code == 303 and r.headers["Location"].startswith("/simulator")
    with client.session_transaction() as session:
        assert session["simulator_staff"]["name"] == "trainer"
        assert staff_token not in repr(dict(session))
    assert staff_token not in r.headers.get("Set-Cookie", "")
    page = client.get("/simulator")
    assert page.status_code == 200 and "trainer" in text(page)


@pytest.mark.parametrize("role", ["kiosk", "records"])
def test_a_kiosk_or_records_token_is_refused(client, core, role):
    r = sign_in(client, create_token(core.db.write, role, f"not-staff-{role}"))
    assert r.status_code == 403
    assert "لا يمكن فتح المحاكي بهذا الرمز" in text(r)
    assert client.get("/simulator").status_code == 303


def test_an_unknown_token_is_refused_in_english(client):
    r = sign_in(client, "gw_not-a-real-token", lang="en")
    assert r.status_code == 403
    assert "This token cannot open the simulator" in text(r)


def test_a_revoked_token_ends_the_session(core, staff_client):
    revoke_token(core.db.write, "trainer")
    assert staff_client.get("/simulator").status_code == 303


def test_sign_out_ends_the_session(staff_client):
    r = staff_client.post("/simulator/logout", data={
        "csrf_token": csrf_token(staff_client, "/simulator"), "lang": "en"})
    assert r.status_code == 303 and r.headers["Location"] == "/simulator/login?lang=en"
    assert staff_client.get("/simulator").status_code == 303


# --- CSRF ----------------------------------------------------------------------------------


def test_sign_in_without_csrf_token_is_refused(client, staff_token):
    r = client.post("/simulator/login", data={"token": staff_token})
    assert r.status_code == 400
    assert "انتهت صلاحية النموذج" in text(r)
    assert client.get("/simulator").status_code == 303


def test_a_message_without_csrf_token_is_refused(core, staff_client, transaction):
    r = staff_client.post("/simulator", data={"mobile": f.MOBILE, "message": NUMBER})
    assert r.status_code == 400
    assert 'id="reply"' not in text(r)
    assert count(core, InquiryLog) == 0


def test_sign_out_without_csrf_token_keeps_the_session(staff_client):
    assert staff_client.post("/simulator/logout").status_code == 400
    assert staff_client.get("/simulator").status_code == 200


# --- the reply -----------------------------------------------------------------------------


def test_the_applicants_mobile_gets_the_status_text(core, staff_client, transaction):
    r = send(staff_client, f.MOBILE, f"استعلام {NUMBER}")
    assert r.status_code == 200
    assert reply(r) == STATUS_AR
    assert "+966551234567" in text(r)


def test_arabic_indic_digits_in_the_mobile_and_the_message(staff_client, transaction):
    r = send(staff_client, ARABIC_MOBILE, ARABIC_NUMBER)
    assert r.status_code == 200
    assert reply(r) == STATUS_AR


def test_another_mobile_gets_the_not_found_text(staff_client, transaction):
    r = send(staff_client, f.OTHER_MOBILE, NUMBER)
    assert reply(r) == "لا توجد معاملة بهذه البيانات، يرجى التحقق من الرقم والمحاولة مرة أخرى."
    assert "أحيلت" not in text(r) and "4471234:" not in text(r)


def test_an_arabic_message_gets_an_arabic_reply_and_latin_gets_english(staff_client,
                                                                          transaction):
    arabic = send(staff_client, f.MOBILE, "مرحبا")
    assert reply(arabic) == "أرسل رقم المعاملة إلى 74747 لمعرفة حالتها."
    english = send(staff_client, f.MOBILE, "hello", lang="ar")
    assert reply(english) == "Send your transaction number to 74747 to know its status."
    found = send(staff_client, f.MOBILE, f"status {NUMBER}")
    assert reply(found) == "Transaction 4471234: Referred to Rights Department"


def test_encoding_and_segments_are_shown(staff_client, transaction):
    arabic = text(send(staff_client, f.MOBILE, NUMBER))
    assert '<dd dir="ltr" id="encoding">UCS-2</dd>' in arabic
    assert '<dd id="segments">1</dd>' in arabic
    english = text(send(staff_client, f.MOBILE, "hello"))
    assert '<dd dir="ltr" id="encoding">GSM-7</dd>' in english
    assert '<dd id="segments">1</dd>' in english


def test_nothing_is_sent_or_stored_as_a_message(core, staff_client, transaction):
    notifications = count(core, Notification)  # the registration SMS is queued
    send(staff_client, f.MOBILE, NUMBER)
    send(staff_client, f.OTHER_MOBILE, "hello")
    assert count(core, Notification) == notifications
    assert count(core, InboundMessage) == 0
    with core.db.read() as session:
        channels = session.scalars(select(InquiryLog.channel)).all()
    assert channels == ["simulator", "simulator"]


# --- field errors --------------------------------------------------------------------------


@pytest.mark.parametrize("mobile, message", [
    ("", "يُرجى إدخال رقم الجوال المرسَل منه الرسالة."),
    ("12ab", "يُرجى إدخال رقم جوال صحيح، مثل 0551234567."),
    ("0112345678", "هذا الرقم ليس رقم جوال."),
])
def test_a_bad_mobile_is_a_field_error_in_arabic(core, staff_client, mobile, message):
    r = send(staff_client, mobile, "4471234")
    html = text(r)
    assert r.status_code == 422
    assert message in html
    assert 'id="mobile-error"' in html and 'id="reply"' not in html
    assert count(core, InquiryLog) == 0


def test_a_bad_mobile_is_a_field_error_in_english(staff_client):
    r = send(staff_client, "not a number", "4471234", lang="en")
    assert r.status_code == 422
    assert "Enter a valid mobile number, for example 0551234567." in text(r)
    assert 'value="not a number"' in text(r)


def test_an_empty_message_is_a_field_error(staff_client):
    r = send(staff_client, f.MOBILE, "   ")
    assert r.status_code == 422
    assert 'id="message-error"' in text(r)


def test_the_stylesheet_is_css_from_this_origin(client):
    r = client.get("/assets/simulator.css")
    assert r.status_code == 200 and r.mimetype == "text/css"
    assert ".phone" in text(r)


def test_failures_in_the_simulator_never_lock_the_real_mobile_out_of_the_short_code(
        core, staff_client, transaction):
    from channels.sms.inquiry import sms_reply

    # A trainee types the applicant's mobile with wrong numbers until refused.
    for k in range(core.config.inquiry.max_failures + 1):
        send(staff_client, f.MOBILE, f"استعلام 99999{k:02d}")
    assert reply(send(staff_client, f.MOBILE, f"استعلام {NUMBER}")) != STATUS_AR

    # The citizen's own SMS, through the short code's reply function, still finds it.
    real = sms_reply(core, f.MOBILE_E164, f"استعلام {NUMBER}")
    assert real.body == STATUS_AR and real.language == "ar"
