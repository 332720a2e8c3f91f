"""Whole calls through the IVR webhooks, driven and signed the way Twilio does it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from core.calls.models import IvrCall
from core.transactions.models import InquiryLog
from core.voice.tracking import damm_digit
from gateway.settings import load_settings
from tests import factories as f
from tests.channels.ivr.phone import ATTESTED, AUTH_TOKEN, PUBLIC_URL, Phone
from tests.conftest import NATIONAL_ID_KEY

NUMBER = "4471234"
AGENTS = "+966112345678"
RIYADH = ZoneInfo("Asia/Riyadh")
SUNDAY_MORNING = datetime(2026, 11, 22, 10, 0, tzinfo=RIYADH)
FRIDAY_MORNING = datetime(2026, 11, 20, 10, 0, tzinfo=RIYADH)
SUNDAY_EVENING = datetime(2026, 11, 22, 19, 0, tzinfo=RIYADH)


def ivr_settings(database_url, var_dir, **ivr):
    return load_settings(
        None, database={"url": database_url}, var_dir=str(var_dir),
        security={"national_id_key": NATIONAL_ID_KEY},
        gateway={"secret_key": "test-secret", "public_url": PUBLIC_URL},
        ivr={"enabled": True, "twilio": {"auth_token": AUTH_TOKEN},
             "agent": {"number": AGENTS}, **ivr})


@pytest.fixture
def settings(database_url, tmp_path):
    return ivr_settings(database_url, tmp_path)



def call_row(core, phone: Phone) -> IvrCall:
    with core.db.read() as session:
        return session.scalars(select(IvrCall).where(IvrCall.call_sid == phone.sid)).one()


def says(element, voice: str, language: str) -> bool:
    return any(e.attrib.get("voice") == voice and e.attrib.get("language") == language
               for e in element.iter("Say"))


# --- happy paths -----------------------------------------------------------------------------


def test_arabic_call_verified_by_caller_id_hears_the_status_digit_by_digit(client, core,
                                                                           transaction):
    phone = Phone(client, caller=f.MOBILE_E164, verstat=ATTESTED)
    menu = phone.call()
    gather = phone.gather()
    assert gather.attrib["numDigits"] == "1"
    assert gather.attrib["action"] == f"{PUBLIC_URL}/ivr/input/language"
    assert says(menu, "Polly.Zeina", "arb") and "للعربية اضغط واحد" in phone.heard()
    assert "For English, press 2" in phone.heard()
    # Each language in itself, Arabic first: the English welcome in the English voice.
    english = [e for e in menu.iter("Say") if e.attrib["voice"] == "Polly.Joanna"]
    assert [e.text for e in english] == [
        "Welcome to the transaction inquiry line of the Regional Emirate.",
        "For English, press 2."]
    assert phone.heard().index("للعربية") < phone.heard().index("Welcome")

    phone.press("1")
    assert "للاستعلام عن معاملة اضغط واحد، ولتقديم شكوى برسالة صوتية اضغط اثنين" \
        in phone.heard()
    assert phone.gather().attrib["numDigits"] == "1"
    phone.press("1")  # the main menu: a transaction
    assert "أدخل رقم المعاملة" in phone.heard()
    assert phone.gather().attrib["finishOnKey"] == "#"

    phone.press("4471234#")
    heard = phone.heard()
    assert "الرقم الذي أدخلته 4 4 7 1 2 3 4" in heard
    assert "أحيلت إلى إدارة الحقوق" in heard
    assert "تم تسجيلها بتاريخ 11 جمادى الأولى 1447 هجري" in heard
    assert "الهوية" not in heard  # the caller ID was enough
    assert "لإعادة الاستماع اضغط واحد" in heard

    phone.press("9")
    assert "مع السلامة" in phone.heard() and phone.hung_up()
    row = call_row(core, phone)
    assert (row.language, row.outcome) == ("ar", "status")
    assert row.path.split() == ["attested", "language", "service", "number", "caller_id",
                                "status", "options"]
    assert row.caller_masked == "+966*******67"
    assert row.ended_at is not None and row.replay is None
    with core.db.read() as session:
        channels = session.scalars(select(InquiryLog.channel)).all()
    assert channels == ["ivr"]


def test_english_call_from_another_phone_is_verified_by_national_id(client, core,
                                                                    transaction):
    phone = Phone(client, caller="+966569876543")
    phone.call()
    phone.press("2")
    phone.press("1")  # the main menu: a transaction
    assert "Please enter your transaction number" in phone.heard()
    menu = phone.press("4471234#")
    assert "You entered 4 4 7 1 2 3 4." in phone.heard()
    assert "national ID" in phone.heard()
    assert phone.gather().attrib["action"].endswith("/ivr/input/national_id")
    assert says(menu, "Polly.Joanna", "en-US")

    phone.press(f.NATIONAL_ID + "#")
    heard = phone.heard()
    assert "Transaction number 4 4 7 1 2 3 4." in heard
    assert "Referred to Rights Department" in heard
    assert "It was registered on 11 Jumada al-Ula 1447 AH, corresponding to 2 November " \
           "2025." in heard

    phone.press("1")  # hear it again
    assert "Referred to Rights Department" in phone.heard()
    phone.press("2")  # another transaction
    assert "Please enter your transaction number" in phone.heard()
    assert call_row(core, phone).outcome == "status"


def test_a_withheld_caller_id_is_asked_for_the_national_id(client, transaction):
    phone = Phone(client, caller="anonymous")
    phone.call()
    phone.press("1")
    phone.press("1")  # the main menu: a transaction
    phone.press("4471234#")
    assert "الهوية" in phone.heard()
    phone.press(f.NATIONAL_ID + "#")
    assert "أحيلت إلى إدارة الحقوق" in phone.heard()


@pytest.mark.parametrize(("key", "asked_for_id", "not_found"), [
    ("1", "الهوية", "لا توجد معاملة بهذه البيانات"),
    ("2", "national ID", "No transaction was found"),
], ids=["arabic", "english"])
def test_a_wrong_number_and_someone_elses_transaction_get_the_same_answer(
        client, core, transaction, key, asked_for_id, not_found):
    heard = []
    for number in ("4479999", NUMBER):
        phone = Phone(client, caller="+966569876543")
        phone.call()
        phone.press(key)
        phone.press("1")  # the main menu: a transaction
        asked = phone.press(number + "#")
        assert asked_for_id in phone.heard()
        answer = phone.press(f.OTHER_NATIONAL_ID + "#")
        assert not_found in phone.heard()
        heard.append((phone.responses[-2].replace(" ".join(number), "N"), phone.responses[-1]))
        # Asked for the ID either way, then the same options after the same answer.
        assert asked.find("Gather").attrib["action"].endswith("/ivr/input/national_id")
        assert answer.find("Gather").attrib["action"].endswith("/ivr/input/options")
        assert call_row(core, phone).outcome == "not_found"
    assert heard[0] == heard[1]


def test_a_caller_id_that_does_not_match_and_then_the_national_id_are_one_inquiry(
        database_url, tmp_path, core, transaction):
    from gateway.app import create_app
    from gateway.bootstrap import build_core

    # Each call's caller-ID miss counts against that phone (attested, it is the caller's
    # own line), so four failures allowed let three calls through; each call is logged
    # once.
    settings = ivr_settings(database_url, tmp_path)
    settings = settings.model_copy(update={"inquiry": settings.inquiry.model_copy(
        update={"max_failures": 4})})
    strict = build_core(settings, background_log=False)
    try:
        client = create_app(settings, strict).test_client()
        for _ in range(3):
            phone = Phone(client, caller="+966569876543", verstat=ATTESTED)
            phone.call()
            phone.press("2")
            phone.press("1")  # the main menu: a transaction
            phone.press(NUMBER + "#")
            assert "national ID" in phone.heard()
            phone.press(f.NATIONAL_ID + "#")
            assert "Referred to Rights Department" in phone.heard()
        strict.inquiry_log.flush()
        with strict.db.read() as session:
            logged = session.execute(select(InquiryLog.outcome, InquiryLog.requester_kind)
                                     ).all()
    finally:
        strict.close()
    assert [tuple(row) for row in logged] == [("found", "national_id")] * 3


# --- no input, wrong input -------------------------------------------------------------------


def test_silence_picks_arabic_then_three_silences_end_with_a_polite_goodbye(client, core):
    phone = Phone(client)
    phone.call()
    phone.silence()
    assert "للاستعلام عن معاملة اضغط واحد" in phone.heard()  # the main menu, in Arabic
    phone.silence()
    assert "لم نتلقَّ إجابتك" in phone.heard()
    assert "اضغط واحد للمعاملة، أو اثنين لتقديم شكوى" in phone.heard()  # the short prompt
    assert "للاستعلام" not in phone.heard()
    phone.silence()
    assert not phone.hung_up()
    phone.silence()
    heard = phone.heard()
    assert phone.hung_up() and phone.twiml.find("Gather") is None
    assert "7 4 7 4 7" in heard and "بوابة الإمارة" in heard and "مع السلامة" in heard
    row = call_row(core, phone)
    assert (row.outcome, row.language) == ("gave_up", "ar")
    assert row.path.split()[-1] == "gave_up"


@pytest.mark.parametrize("keys", [
    "", "#", "*", "**#", "12*34#", "#4471234", "4471234*", "1" * 40 + "#", "123#",
    "٤٤٧١٢٣٤#x", "4471234#4471234#", "A", " ", "\u0000", "w" * 200,
])
def test_odd_digits_are_asked_again_never_an_error(client, transaction, keys):
    # Digits as no Twilio <Gather> would send them (it stops at the first #, which it
    # leaves out): whatever comes is an answer to handle.
    phone = Phone(client, caller="+966569876543")
    phone.call()
    phone.press("2")
    phone.press("1")  # the main menu: a transaction
    phone.send_digits(keys)
    assert phone.gather().attrib["action"].endswith("/ivr/input/number")
    # Nothing typed (only the hash key, or blanks) is "did not receive"; anything else
    # typed is "not valid": each case its own sentence, never both.
    said, other = ("did not receive", "not valid") if not keys.strip(" #") else (
        "not valid", "did not receive")
    assert said in phone.heard() and other not in phone.heard()
    assert "Enter the transaction number, then the hash key." in phone.heard()


@pytest.mark.parametrize("digits", [NUMBER, NUMBER + "#"])
def test_the_number_with_or_without_its_finishing_hash_is_understood(client, transaction,
                                                                      digits):
    # Twilio leaves the finishOnKey out of Digits; a trailing # that does arrive is the
    # same number all the same.
    phone = Phone(client, caller=f.MOBILE_E164, verstat=ATTESTED)
    phone.call()
    phone.press("2")
    phone.press("1")  # the main menu: a transaction
    phone.send_digits(digits)
    assert "You entered 4 4 7 1 2 3 4." in phone.heard()
    assert "Referred to Rights Department" in phone.heard()


def test_the_phone_sends_keys_as_twilio_does(client, transaction):
    phone = Phone(client, caller=f.MOBILE_E164, verstat=ATTESTED)
    phone.call()
    assert phone.gather().attrib["finishOnKey"] == "#"
    phone.press("2")
    assert phone.sent[-1]["Digits"] == "2"
    phone.press("1")  # the main menu: a transaction
    phone.press("4471234#99")  # the # ends the <Gather>: what follows is not sent
    assert phone.sent[-1]["Digits"] == NUMBER
    assert "You entered 4 4 7 1 2 3 4." in phone.heard()
    phone.press("12")  # a one-key menu: numDigits 1 ends it after the 1
    assert phone.sent[-1]["Digits"] == "1"
    assert "Referred to Rights Department" in phone.heard()


def test_wrong_keys_in_every_menu_are_retried_then_the_call_goes_on(client, transaction):
    phone = Phone(client, caller=f.MOBILE_E164, verstat=ATTESTED)
    phone.call()
    phone.press("7")
    assert "هذا الاختيار غير متاح" in phone.heard()
    phone.press("2")
    phone.press("8")
    assert "That is not one of the choices." in phone.heard()
    assert "Press 1 for a transaction, 2 to leave a complaint" in phone.heard()
    phone.press("1")
    phone.press("12#")
    assert "That transaction number is not valid." in phone.heard()
    phone.press("4471234#")
    assert "Referred to Rights Department" in phone.heard()
    phone.press("5")
    assert "That is not one of the choices." in phone.heard()
    assert "Press 1 to repeat" in phone.heard()
    phone.press("#")
    phone.press("*")
    assert phone.hung_up() and "74747" not in phone.heard() and "7 4 7 4 7" in phone.heard()


def test_a_wrong_key_in_the_language_menu_is_answered_in_both_languages(client):
    phone = Phone(client)
    phone.call()
    menu = phone.press("7")
    assert says(menu, "Polly.Zeina", "arb") and says(menu, "Polly.Joanna", "en-US")
    heard = phone.heard()
    assert heard.index("هذا الاختيار غير متاح") < heard.index("That is not one of the choices")
    assert "For English, press 2" in heard
    assert phone.gather().attrib["action"].endswith("/ivr/input/language")


def test_a_malformed_national_id_is_asked_again(client, transaction):
    phone = Phone(client, caller="+966569876543")
    phone.call()
    phone.press("2")
    phone.press("1")  # the main menu: a transaction
    phone.press("4471234#")
    phone.press("1234#")
    assert "That national ID number is not valid." in phone.heard()
    assert phone.gather().attrib["action"].endswith("/ivr/input/national_id")


def test_a_replayed_webhook_for_a_menu_already_left_repeats_the_current_menu(client,
                                                                              transaction):
    phone = Phone(client, caller=f.MOBILE_E164)
    phone.call()
    phone.press("2")
    phone.press("1")  # the main menu: a transaction
    phone.post(f"{PUBLIC_URL}/ivr/input/language", Digits="1")  # Twilio retried it
    assert phone.gather().attrib["action"].endswith("/ivr/input/number")
    assert "Please enter your transaction number" in phone.heard()
    phone.post(f"{PUBLIC_URL}/ivr/input/nowhere", Digits="1")
    assert phone.gather().attrib["action"].endswith("/ivr/input/number")


# --- the agent ---------------------------------------------------------------------------------


def _to_options(client, lang_key: str = "2") -> Phone:
    phone = Phone(client, caller=f.MOBILE_E164, verstat=ATTESTED)
    phone.call()
    phone.press(lang_key)
    phone.press("1")  # the main menu: a transaction
    phone.press("4471234#")
    return phone


def test_zero_within_working_hours_puts_the_caller_through(client, core, transaction):
    with time_machine.travel(SUNDAY_MORNING, tick=False):
        phone = _to_options(client)
        phone.press("0")
    dial = phone.twiml.find("Dial")
    assert dial.text == AGENTS and dial.attrib["action"] == f"{PUBLIC_URL}/ivr/dial"
    assert dial.attrib["timeout"] == "25"
    assert "put you through" in phone.heard()
    phone.agent_line("completed")
    assert phone.hung_up()
    row = call_row(core, phone)
    assert row.outcome == "transferred" and "agent" in row.path.split()


def test_a_late_or_replayed_dial_report_does_not_mark_the_call_transferred(client, core,
                                                                          transaction):
    phone = _to_options(client)
    dial = f"{PUBLIC_URL}/ivr/dial"
    phone.post(dial, DialCallStatus="completed")  # signed, but nobody was put through
    assert phone.gather().attrib["action"].endswith("/ivr/input/options")
    row = call_row(core, phone)
    assert (row.outcome, row.ended_at) == ("status", None)
    with time_machine.travel(SUNDAY_MORNING, tick=False):
        phone.press("0")
    phone.agent_line("busy")
    phone.post(dial, DialCallStatus="completed")  # the busy line's report, replayed late
    assert phone.gather().attrib["action"].endswith("/ivr/input/options")
    row = call_row(core, phone)
    assert (row.outcome, row.ended_at) == ("agent_busy", None)
    assert row.path.split().count("agent_busy") == 1


@pytest.mark.parametrize("moment", [FRIDAY_MORNING, SUNDAY_EVENING])
def test_zero_outside_working_hours_points_to_self_service(client, core, transaction,
                                                           moment):
    with time_machine.travel(moment, tick=False):
        phone = _to_options(client)
        phone.press("0")
    assert phone.twiml.find("Dial") is None
    heard = phone.heard()
    assert "Our employees are not available at this time." in heard
    assert "Our employees answer calls Sunday to Thursday, from 8:00 to 15:00." in heard
    assert "7 4 7 4 7" in heard and "portal" in heard
    assert phone.gather().attrib["action"].endswith("/ivr/input/options")


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_a_busy_or_unanswered_agent_line_points_to_self_service(client, core, transaction,
                                                                status):
    with time_machine.travel(SUNDAY_MORNING, tick=False):
        phone = _to_options(client, "1")
        phone.press("0")
    phone.agent_line(status)
    assert "لا يوجد موظف متاح" in phone.heard() and "7 4 7 4 7" in phone.heard()
    assert phone.gather().attrib["action"].endswith("/ivr/input/options")
    assert call_row(core, phone).outcome == "agent_busy"


def test_no_agent_number_configured_means_no_employee_is_offered(database_url, tmp_path,
                                                                 core, transaction):
    from gateway.app import create_app

    settings = ivr_settings(database_url, tmp_path, agent={"number": ""})
    client = create_app(settings, core).test_client()
    with time_machine.travel(SUNDAY_MORNING, tick=False):
        phone = _to_options(client)
        assert "To end the call, press 9." in phone.heard()
        assert "employee" not in phone.heard()
        phone.press("0")
    assert phone.twiml.find("Dial") is None
    assert "That is not one of the choices." in phone.heard()
    assert "Press 1 to repeat, 2 for another transaction, or 9 to end." in phone.heard()


def test_the_options_offer_an_employee_when_an_agents_line_is_configured(client,
                                                                        transaction):
    with time_machine.travel(FRIDAY_MORNING, tick=False):
        phone = _to_options(client)
    assert "To speak to an employee, press 0." in phone.heard()
    phone.press("7")
    assert "0 for an employee" in phone.heard()


def test_outside_working_hours_the_arabic_line_says_the_hours(client, transaction):
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        phone = _to_options(client, "1")
        phone.press("0")
    heard = phone.heard()
    assert "الموظفون غير متاحين في هذا الوقت" in heard
    assert "يستقبل الموظفون المكالمات من الأحد إلى الخميس، من الساعة 8:00 إلى الساعة 15:00" \
        in heard


# --- security -----------------------------------------------------------------------------


def test_unsigned_and_tampered_requests_are_refused(client, core):
    rejected = "gateway_ivr_rejected_webhooks_total"
    counted = metric(client, rejected)

    def refused(response) -> None:
        nonlocal counted
        assert response.status_code == 403
        assert metric(client, rejected) == counted + 1  # each one counted
        counted += 1

    phone = Phone(client)
    params = phone.params()
    refused(client.post("/ivr/voice", data=params))
    signature = phone.validator.compute_signature(f"{PUBLIC_URL}/ivr/voice", params)
    tampered = {**params, "From": "+966500000000"}
    refused(client.post("/ivr/voice", data=tampered,
                        headers={"X-Twilio-Signature": signature}))
    # Signed over the URL as seen behind the proxy, not the one Twilio used.
    internal = phone.validator.compute_signature("http://localhost/ivr/voice", params)
    refused(client.post("/ivr/voice", data=params, headers={"X-Twilio-Signature": internal}))
    wrong_token = Phone(client, token="not-the-token")
    refused(wrong_token.raw_post(f"{PUBLIC_URL}/ivr/voice"))
    for path in ("/ivr/input/number", "/ivr/dial", "/ivr/status"):
        refused(client.post(path, data=params))
    with core.db.read() as session:
        assert session.scalars(select(IvrCall)).all() == []
    assert client.post("/ivr/voice", data=params,
                       headers={"X-Twilio-Signature": signature}).status_code == 200
    assert metric(client, rejected) == counted  # a signed request is not counted


@pytest.mark.parametrize("trusted_proxies", [0, 1])
def test_a_request_through_a_proxy_is_checked_against_the_public_url(
        database_url, tmp_path, core, transaction, trusted_proxies):
    from gateway.app import create_app

    settings = ivr_settings(database_url, tmp_path)
    settings = settings.model_copy(update={"gateway": settings.gateway.model_copy(
        update={"trusted_proxies": trusted_proxies})})
    client = create_app(settings, core).test_client()
    phone = Phone(client, caller=f.MOBILE_E164)
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.gov.sa",
               "X-Forwarded-For": "54.172.60.1"}
    response = phone.raw_post(f"{PUBLIC_URL}/ivr/voice", headers=proxied)
    assert response.status_code == 200
    assert "/ivr/input/language" in response.get_data(as_text=True)
    # A proxy passing on another host or scheme changes nothing: the public URL is signed.
    other = {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "internal:8080"}
    assert phone.raw_post(f"{PUBLIC_URL}/ivr/voice", headers=other).status_code == 200
    assert Phone(client).raw_post("http://internal:8080/ivr/voice",
                                  headers=other).status_code == 403


def test_a_signature_over_the_public_url_with_its_port_is_accepted(client):
    # Twilio signs some requests over the URL with the default port spelled out; its
    # RequestValidator.validate accepts both forms, and so does the line.
    phone = Phone(client)
    with_port = PUBLIC_URL.replace(".gov.sa", ".gov.sa:443")
    assert phone.raw_post(f"{with_port}/ivr/voice").status_code == 200
    assert phone.raw_post(f"{with_port.replace(':443', ':8443')}/ivr/voice"
                          ).status_code == 403


def test_without_an_auth_token_every_webhook_is_refused(database_url, tmp_path, core):
    from gateway.app import create_app

    settings = ivr_settings(database_url, tmp_path, twilio={"auth_token": ""})
    client = create_app(settings, core).test_client()
    assert Phone(client).raw_post(f"{PUBLIC_URL}/ivr/voice").status_code == 403


def test_signature_checks_can_be_turned_off_for_a_local_trial(database_url, tmp_path, core):
    from gateway.app import create_app

    settings = ivr_settings(database_url, tmp_path,
                            twilio={"auth_token": "", "validate_signatures": False})
    local = settings.model_copy(update={"gateway": settings.gateway.model_copy(
        update={"public_url": "http://127.0.0.1:8080"})})
    client = create_app(local, core).test_client()
    response = client.post("/ivr/voice", data=Phone(client).params())
    assert response.status_code == 200
    # On a public URL the switch is ignored: the webhooks are still checked.
    client = create_app(settings, core).test_client()
    assert client.post("/ivr/voice", data=Phone(client).params()).status_code == 403


def test_the_webhooks_answer_only_when_the_ivr_is_enabled(database_url, tmp_path, core):
    from gateway.app import create_app

    settings = ivr_settings(database_url, tmp_path, enabled=False)
    client = create_app(settings, core).test_client()
    assert Phone(client).raw_post(f"{PUBLIC_URL}/ivr/voice").status_code == 404


def test_a_signed_request_without_a_call_sid_is_a_400(client):
    phone = Phone(client)
    url = f"{PUBLIC_URL}/ivr/voice"
    signature = phone.validator.compute_signature(url, {})
    response = client.post("/ivr/voice", data={}, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 400


# --- faults on our side -------------------------------------------------------------------


def _apology(phone: Phone, lang: str) -> int:
    """Where the apology and the self-service sentence start in what the caller heard."""
    heard = phone.heard()
    sorry, sms = {"ar": ("نعتذر، لم نتمكن من إكمال طلبك", "7 4 7 4 7"),
                  "en": ("Sorry, we could not complete your request.", "SMS to 7 4 7 4 7")
                  }[lang]
    assert sorry in heard and sms in heard, heard
    return heard.index(sorry)


def test_an_error_in_the_inquiry_service_is_an_apology_in_the_calls_language(
        client, core, transaction, monkeypatch, caplog):
    phone = Phone(client, caller="anonymous")  # no caller-ID inquiry: the ID is asked
    phone.call()
    phone.press("2")
    phone.press("1")  # the main menu: a transaction

    def broken(request):
        raise RuntimeError("the inquiry service fell over")

    monkeypatch.setattr(core.inquiries, "inquire", broken)
    phone.press(NUMBER)
    phone.press(f.NATIONAL_ID)  # 200 and valid TwiML (Phone.post checks both)
    _apology(phone, "en")
    assert "portal" in phone.heard() and "Goodbye" in phone.heard()
    assert phone.hung_up() and phone.twiml.find("Gather") is None
    assert not says(phone.twiml, "Polly.Zeina", "arb")  # the caller chose English
    assert any(r.levelname == "ERROR" and phone.sid in r.getMessage()
               and r.exc_info for r in caplog.records)
    assert f.NATIONAL_ID not in caplog.text


def test_the_database_down_mid_call_is_an_apology_not_twilios_error(client, core,
                                                                   transaction):
    from sqlalchemy import event

    phone = Phone(client, caller=f.MOBILE_E164, verstat=ATTESTED)
    phone.call()
    phone.press("1")
    phone.press("1")  # the main menu: a transaction
    before = metric(client, "gateway_ivr_webhook_faults_total")

    attempts = []

    def refuse(*_args):
        attempts.append(threading.get_ident())
        raise core.db.engine.dialect.loaded_dbapi.OperationalError("the database is down")

    core.db.engine.dispose()
    event.listen(core.db.engine, "do_connect", refuse)
    try:
        for url, keys in (("/ivr/input/number", {"Digits": NUMBER}),
                          ("/ivr/input/number", {}), ("/ivr/voice", {})):
            phone.post(PUBLIC_URL + url, **keys)  # 200 with valid TwiML, whatever webhook
            assert phone.hung_up() and phone.twiml.find("Gather") is None
            # The call's language cannot be read: both, Arabic first.
            assert _apology(phone, "ar") < _apology(phone, "en")
    finally:
        event.remove(core.db.engine, "do_connect", refuse)
    assert metric(client, "gateway_ivr_webhook_faults_total") == before + 3
    # One try at the database a webhook: the apology does not wait for it a second time.
    assert attempts.count(threading.get_ident()) == 3  # (not the WAL checkpointer's)
    # The database back: the call goes on where it was.
    phone.post(f"{PUBLIC_URL}/ivr/input/number", Digits=NUMBER)
    assert "أحيلت إلى إدارة الحقوق" in phone.heard()


def _refusing_to_end_calls(core):
    """The database refusing the UPDATE that ends a call, as PostgreSQL words a refusal:
    with the row's values (a caller's number) in its DETAIL line."""
    from sqlalchemy import event

    dbapi = core.db.engine.dialect.loaded_dbapi

    def refuse(_conn, _cursor, statement, _parameters, _context, _many):
        if statement.lstrip().upper().startswith("UPDATE IVR_CALLS"):
            raise dbapi.IntegrityError(
                'duplicate key value violates unique constraint "ivr_calls_caller"\n'
                f"DETAIL:  Key (caller)=({f.MOBILE_E164}) already exists.")

    event.listen(core.db.write_engine, "before_cursor_execute", refuse)
    return lambda: event.remove(core.db.write_engine, "before_cursor_execute", refuse)


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_database_error_quoting_a_callers_number_is_logged_without_it(
        client, app, core, caplog, monkeypatch, wrapped):
    from sqlalchemy.exc import IntegrityError

    phone = Phone(client, caller=f.MOBILE_E164)
    phone.call()
    if wrapped:  # an error of ours raised while the database's is handled
        line = app.extensions["ivr"].line
        real = line.hung_up

        def hung_up(*args):
            try:
                return real(*args)
            except IntegrityError as exc:
                raise RuntimeError("the call could not be ended") from exc

        monkeypatch.setattr(line, "hung_up", hung_up)
    stop_refusing = _refusing_to_end_calls(core)
    try:
        phone.post(f"{PUBLIC_URL}/ivr/status", CallStatus="completed", CallDuration="12")
    finally:
        stop_refusing()

    assert phone.hung_up()  # the apology, as valid TwiML
    for number in (f.MOBILE_E164, f.MOBILE, f.MOBILE[1:]):
        assert number not in caplog.text  # message, traceback and chained errors alike
    assert "DETAIL" not in caplog.text
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    logged = record.getMessage()
    assert phone.sid in logged and "/ivr/status" in logged
    assert "IntegrityError from sqlite3.IntegrityError" in logged \
        or "IntegrityError from psycopg" in logged
    assert "in: UPDATE ivr_calls SET" in logged  # which statement, without its values
    assert logged.startswith("ivr: /ivr/status failed") and \
        ("RuntimeError from IntegrityError" in logged) is wrapped
    assert record.exc_info is None
    assert "12" not in logged.split("in: ", 1)[1]  # nor the duration it would have written


def test_an_error_that_is_not_the_databases_is_logged_with_its_traceback(
        client, app, caplog, monkeypatch):
    phone = Phone(client)
    phone.call()

    def hung_up(*_args):
        raise ValueError("the call log fell over")

    monkeypatch.setattr(app.extensions["ivr"].line, "hung_up", hung_up)
    phone.post(f"{PUBLIC_URL}/ivr/status", CallStatus="completed", CallDuration="12")

    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "(ValueError)" in record.getMessage() and record.exc_info
    assert "the call log fell over" in caplog.text


def metric(client, name: str) -> float:
    for line in client.get("/metrics").get_data(as_text=True).splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


# --- the call log and metrics ---------------------------------------------------------------


def test_the_status_callback_records_duration_and_a_caller_who_hung_up(client, core):
    phone = Phone(client, caller=f.MOBILE_E164)
    phone.call()
    phone.press("1")
    phone.press("1")  # the main menu: a transaction
    assert phone.hang_up(42) == 204
    row = call_row(core, phone)
    assert (row.outcome, row.duration_seconds) == ("hung_up", 42)
    assert row.path.split() == ["language", "service", "number"]
    assert phone.hang_up(43) == 204  # again: nothing counted twice
    assert call_row(core, phone).outcome == "hung_up"


def test_metrics_count_calls_by_outcome(client, core, transaction):
    phone = _to_options(client)
    phone.press("9")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'gateway_ivr_calls_started_total{channel="ivr"}' in body
    assert 'gateway_ivr_calls_ended_total{channel="ivr",outcome="status"}' in body
    assert "gateway_ivr_rejected_webhooks_total" in body


# --- voices: say or play ---------------------------------------------------------------------


def test_play_mode_plays_rendered_phrases_and_says_the_rest(database_url, tmp_path, core,
                                                            transaction):
    from channels.ivr.audio import AudioLibrary, audio_dir
    from gateway.app import create_app

    settings = ivr_settings(database_url, tmp_path, voice={"mode": "play"})
    library = AudioLibrary(audio_dir(settings), settings.ivr.voice, PUBLIC_URL)
    library.directory.mkdir(parents=True)
    rendered = {("ar", "أحيلت إلى"), ("ar", "4"), ("ar", "للعربية اضغط واحد")}
    for lang, text in rendered:
        library.path(lang, text).write_bytes(b"RIFF-not-checked-here")
    client = create_app(settings, core).test_client()
    phone = Phone(client, caller=f.MOBILE_E164, verstat=ATTESTED)
    phone.call()
    plays = [e.text for e in phone.twiml.iter("Play")]
    assert plays == [library.url("ar", "للعربية اضغط واحد")]
    assert "مرحبًا بكم" in phone.heard()  # not rendered: said instead
    phone.press("1")
    phone.press("1")  # the main menu: a transaction
    phone.press("4471234#")
    plays = [e.text for e in phone.twiml.iter("Play")]
    assert plays.count(library.url("ar", "4")) == 6  # 4471234 read back, and in the status
    assert library.url("ar", "أحيلت إلى") in plays
    assert "إدارة الحقوق" in phone.heard()  # a name has no recording

    audio = client.get(urlsplit_path(plays[0]))
    assert audio.status_code == 200
    assert audio.mimetype == "audio/wav"
    assert "max-age=31536000" in audio.headers["Cache-Control"]
    assert "immutable" in audio.headers["Cache-Control"]
    assert client.get("/ivr/audio/ar-0000000000000000000000ff.wav").status_code == 404
    assert client.get("/ivr/audio/..%2Fsecret_key").status_code == 404


def urlsplit_path(url: str) -> str:
    return url.removeprefix(PUBLIC_URL)


def test_a_call_left_open_is_logged_as_hung_up_and_forgets_its_answer(app, client, core,
                                                                      transaction):
    phone = _to_options(client)
    assert call_row(core, phone).replay is not None
    with time_machine.travel(datetime.now(RIYADH) + timedelta(hours=3), tick=False):
        app.extensions["ivr"].line.close_abandoned(force=True)
    row = call_row(core, phone)
    assert row.ended_at is not None and row.replay is None and row.outcome == "status"
    phone.press("1")
    assert phone.hung_up()  # the line has nothing more to say on an ended call


ODD_KEYS = ["", "#", "*", "*#*", "0" * 64 + "#", "9" * 500, "1*2#3", "١", "\u0000#",
            "<Say>x</Say>", "%00", "12345678901234567890123#"]


# The keys that reach each menu from the language menu (a caller ID that is no mobile:
# the complaint asks for one).
MENU_KEYS = {"language": [], "service": ["2"], "number": ["2", "1"],
             "national_id": ["2", "1", "4471234#"],
             "options": ["2", "1", "4471234#", f.NATIONAL_ID + "#"],
             "mobile": ["2", "2"], "tracking": ["2", "3"],
             "case_mobile": ["2", "3", "{tracking}#"],
             "case_options": ["2", "3", "{tracking}#", "0551234567#"]}


@pytest.mark.parametrize("menu", list(MENU_KEYS))
def test_odd_keys_in_every_menu_get_twiml_never_an_error(client, transaction, menu):
    for i, keys in enumerate(ODD_KEYS):
        # A caller of their own each time: the rate limit is not what is tested here.
        phone = Phone(client, caller=f"+9661198765{i:02d}")
        phone.call()
        tracking = f"7{i:08d}"  # another case each time: nor is the lookup limit
        for pressed in MENU_KEYS[menu]:
            phone.press(pressed.format(tracking=tracking + str(damm_digit(tracking))))
        assert phone.gather().attrib["action"].endswith(f"/ivr/input/{menu}")
        phone.send_digits(keys)  # asserts a 200 with valid TwiML
        assert phone.gather() is not None or phone.hung_up()
        assert "<Say>x</Say>" not in phone.responses[-1]


def test_a_caller_probing_numbers_is_cut_off_by_the_rate_limit(client, core, transaction):
    phone = Phone(client, caller="+966569876543")
    phone.call()
    phone.press("2")
    phone.press("1")  # the main menu: a transaction
    for attempt in range(12):
        phone.press(f"{4470000 + attempt}#")
        phone.press(f.OTHER_NATIONAL_ID + "#")  # the inquiry, and its refusal
        if phone.hung_up():
            break
        phone.press("2")
    assert phone.hung_up() and "Too many attempts" in phone.heard()
    assert call_row(core, phone).outcome == "rate_limited"
