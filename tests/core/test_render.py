"""Rendering is a pure function of the answer and the language: tables, Arabic first."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.transactions import render
from core.transactions.answer import Answer, Name, Outcome, Stage, TransactionView

TZ = ZoneInfo("Asia/Riyadh")
NUMBER = "4471234"
# 09:15 in Riyadh on 23 Nov 2025, that is 2 Jumada al-Akhirah 1447.
REGISTERED_AT = datetime(2025, 11, 23, 6, 15, tzinfo=UTC)
# 21:30 UTC on the 24th is already 00:30 on the 25th in Riyadh (4 Jumada al-Akhirah).
ISSUED_AT = datetime(2025, 11, 24, 21, 30, tzinfo=UTC)
# A department name of 20 characters in each language.
DEPARTMENT = Name("إدارة الحقوق المدنية", "Civil Rights Affairs")
AGENCY = Name("وزارة الداخلية", "Ministry of Interior")

DATE = {"ar": "1447/06/02هـ (2025/11/23م)", "en": "2 Jumada al-Akhirah 1447 AH (23 Nov 2025)"}
ISSUED_DATE = {"ar": "1447/06/04هـ (2025/11/25م)",
               "en": "4 Jumada al-Akhirah 1447 AH (25 Nov 2025)"}
LANGS = ["ar", "en"]

LATIN = re.compile(r"[A-Za-z]")
ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")


def view(status: str, **extra) -> TransactionView:
    values = {"number": NUMBER, "status": status, "subject": "طلب إفادة",
              "registered_at": REGISTERED_AT, "department": DEPARTMENT}
    if status in ("issued", "reply_received", "closed"):
        values.update(outgoing_number="98765", destination_agency=AGENCY, issued_at=ISSUED_AT)
    values.update(extra)
    return TransactionView(**values)


def found(status: str, **extra) -> Answer:
    return Answer(Outcome.FOUND, view(status, **extra))


def assert_arabic(text: str) -> None:
    """Written in Arabic: Arabic letters, and no English word left untranslated."""
    assert ARABIC_LETTER.search(text), text
    assert not LATIN.search(text), text


# --- the SMS answer ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("status", ["registered", "referred", "assigned", "closed"])
def test_sms_answer_fits_one_ucs2_segment(status, lang):
    text = render.sms_text(found(status), lang, TZ)

    assert len(text) <= 70, (len(text), text)
    assert NUMBER in text
    if status in ("referred", "assigned"):
        assert DEPARTMENT.in_(lang) in text


@pytest.mark.parametrize(("lang", "date"), [("ar", "1447/06/04هـ"), ("en", "1447/06/04 AH")])
def test_sms_answer_for_an_issued_transaction_gives_outgoing_number_date_and_agency(lang, date):
    text = render.sms_text(found("issued"), lang, TZ)

    for part in (NUMBER, "98765", date, AGENCY.in_(lang)):
        assert part in text


@pytest.mark.parametrize("lang", LANGS)
def test_sms_answers_without_a_transaction_are_distinct_and_short(lang):
    texts = {outcome: render.sms_text(Answer(outcome), lang, TZ, short_code="74747")
             for outcome in (Outcome.NOT_FOUND, Outcome.INVALID, Outcome.RATE_LIMITED)}

    assert len(set(texts.values())) == 3
    assert "74747" in texts[Outcome.INVALID]  # the help tells where to send the number
    assert all(len(text) <= (70 if lang == "ar" else 160) for text in texts.values())


# --- status labels -----------------------------------------------------------------------


STATUSES = [("registered", {}), ("referred", {}), ("assigned", {}),
            ("issued", {"reply_expected": True}), ("issued", {"reply_expected": False}),
            ("reply_received", {}), ("closed", {})]


@pytest.mark.parametrize("lang", LANGS)
def test_each_status_reads_differently(lang):
    labels = [render.status_label(view(status, **extra), lang) for status, extra in STATUSES]

    assert len(set(labels)) == len(labels)


@pytest.mark.parametrize(("status", "extra", "en"), [
    ("registered", {}, "Registered and in progress"),
    ("referred", {}, "Referred to Civil Rights Affairs"),
    ("assigned", {}, "Under study in Civil Rights Affairs"),
    ("issued", {"reply_expected": True}, "Issued to Ministry of Interior, awaiting its reply"),
    ("issued", {"reply_expected": False}, "Issued to Ministry of Interior"),
    ("reply_received", {}, "Reply received from Ministry of Interior"),
    ("closed", {}, "Completed"),
])
def test_status_label_names_the_department_or_agency(status, extra, en):
    arabic = render.status_label(view(status, **extra), "ar")

    assert render.status_label(view(status, **extra), "en") == en
    assert_arabic(arabic)
    if "Civil Rights" in en:
        assert DEPARTMENT.ar in arabic
    if "Ministry" in en:
        assert AGENCY.ar in arabic


@pytest.mark.parametrize("lang", LANGS)
def test_stage_labels_name_their_department_and_agency(lang):
    referred = Stage("referred", REGISTERED_AT, department=DEPARTMENT)
    issued = Stage("issued", ISSUED_AT, agency=AGENCY)

    assert DEPARTMENT.in_(lang) in render.stage_label(referred, lang)
    assert AGENCY.in_(lang) in render.stage_label(issued, lang)


# --- screen and speech -------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_screen_text_gives_number_status_and_registration_date(lang):
    answer = found("assigned")

    lines = render.screen_text(answer, lang, TZ).split("\n")

    assert len(lines) == 3
    assert NUMBER in lines[0]
    assert lines[1] == render.status_label(answer.transaction, lang)
    assert DATE[lang] in lines[2]


@pytest.mark.parametrize("lang", LANGS)
def test_screen_text_of_an_issued_transaction_adds_the_outgoing_number_and_its_date(lang):
    lines = render.screen_text(found("issued"), lang, TZ).split("\n")

    assert len(lines) == 4
    assert "98765" in lines[3] and ISSUED_DATE[lang] in lines[3]


@pytest.mark.parametrize("lang", LANGS)
def test_screen_texts_without_a_transaction(lang):
    not_found = render.screen_text(Answer(Outcome.NOT_FOUND), lang, TZ)
    invalid = render.screen_text(Answer(Outcome.INVALID), lang, TZ)
    limited = render.screen_text(Answer(Outcome.RATE_LIMITED), lang, TZ)

    assert not_found == render.not_found_text(lang)
    assert limited == render.rate_limited_text(lang)
    assert len({not_found, invalid, limited}) == 3
    assert NUMBER not in not_found


@pytest.mark.parametrize(("lang", "long_date"), [
    ("ar", "2 جمادى الآخرة 1447هـ الموافق 23 نوفمبر 2025م"),
    ("en", "2 Jumada al-Akhirah 1447 AH (23 November 2025)"),
])
def test_speech_says_the_number_digit_by_digit_and_the_long_date(lang, long_date):
    answer = found("referred")

    speech = render.speech_text(answer, lang, TZ)

    assert "4 4 7 1 2 3 4" in speech
    assert NUMBER not in speech
    assert render.status_label(answer.transaction, lang) in speech
    assert long_date in speech


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("outcome", [Outcome.NOT_FOUND, Outcome.INVALID, Outcome.RATE_LIMITED])
def test_speech_without_a_transaction_says_what_the_screen_shows(lang, outcome):
    assert render.speech_text(Answer(outcome), lang, TZ) == render.screen_text(
        Answer(outcome), lang, TZ)


# --- notifications (the seeds' four messages, three of them sent on events) ---------------


def test_registration_sms_in_english_is_the_seeds_message():
    assert render.registration_sms(NUMBER, REGISTERED_AT, "en", TZ, "74747") == (
        "Your transaction was registered under number 4471234, dated "
        "2 Jumada al-Akhirah 1447 AH (23 Nov 2025). To follow it, text the number to 74747.")


def test_issuance_sms_in_english_is_the_seeds_message():
    assert render.issuance_sms(NUMBER, "98765", ISSUED_AT, AGENCY, "en", TZ) == (
        "Your transaction 4471234 was issued under outgoing number 98765, dated "
        "4 Jumada al-Akhirah 1447 AH (25 Nov 2025), to Ministry of Interior. "
        "No need to visit the emirate.")


def test_assignment_sms_in_english_is_the_seeds_message():
    assert render.assignment_sms(NUMBER, REGISTERED_AT, "en", TZ) == (
        "A transaction is recorded under your name: number 4471234, "
        "dated 2 Jumada al-Akhirah 1447 AH (23 Nov 2025).")


def test_registration_sms_in_arabic_gives_number_and_date_as_the_seed_does():
    text = render.registration_sms(NUMBER, REGISTERED_AT, "ar", TZ, "74747")

    assert_arabic(text)
    assert "تسجيل" in text
    assert f"برقم {NUMBER} وتاريخ {DATE['ar']}" in text
    assert "74747" in text


def test_issuance_sms_in_arabic_gives_outgoing_number_date_and_agency():
    text = render.issuance_sms(NUMBER, "98765", ISSUED_AT, AGENCY, "ar", TZ)

    assert_arabic(text)
    assert "صدرت" in text
    for part in (NUMBER, "98765", ISSUED_DATE["ar"], AGENCY.ar):
        assert part in text


def test_assignment_sms_in_arabic_gives_number_and_date():
    text = render.assignment_sms(NUMBER, REGISTERED_AT, "ar", TZ)

    assert_arabic(text)
    assert f"برقم {NUMBER} وتاريخ {DATE['ar']}" in text


def test_dates_are_the_local_day_in_riyadh_not_utc():
    # Issued at 21:30 UTC on the 24th: already the 25th in Riyadh.
    text = render.issuance_sms(NUMBER, "98765", ISSUED_AT, AGENCY, "en", TZ)

    assert "25 Nov 2025" in text and "24 Nov" not in text


# --- every Arabic text is Arabic -------------------------------------------------------------


ARABIC_TEXTS = {
    "sms-registered": lambda: render.sms_text(found("registered"), "ar", TZ),
    "sms-assigned": lambda: render.sms_text(found("assigned"), "ar", TZ),
    "sms-issued": lambda: render.sms_text(found("issued"), "ar", TZ),
    "sms-not-found": lambda: render.sms_text(Answer(Outcome.NOT_FOUND), "ar", TZ),
    "sms-invalid": lambda: render.sms_text(Answer(Outcome.INVALID), "ar", TZ),
    "sms-rate-limited": lambda: render.sms_text(Answer(Outcome.RATE_LIMITED), "ar", TZ),
    "screen-issued": lambda: render.screen_text(found("issued"), "ar", TZ),
    "screen-invalid": lambda: render.screen_text(Answer(Outcome.INVALID), "ar", TZ),
    "speech-closed": lambda: render.speech_text(found("closed"), "ar", TZ),
    "stage-assigned": lambda: render.stage_label(
        Stage("assigned", REGISTERED_AT, department=DEPARTMENT), "ar"),
    "stage-registered": lambda: render.stage_label(Stage("registered", REGISTERED_AT), "ar"),
    "days-waiting": lambda: render.days_waiting_text(5, "ar"),
}


@pytest.mark.parametrize("make", ARABIC_TEXTS.values(), ids=ARABIC_TEXTS.keys())
def test_arabic_texts_are_written_in_arabic(make):
    assert_arabic(make())


@pytest.mark.parametrize(("days", "en"), [(1, "Awaiting the reply for 1 day"),
                                          (2, "Awaiting the reply for 2 days"),
                                          (11, "Awaiting the reply for 11 days")])
def test_days_waiting_uses_plural_forms(days, en):
    assert render.days_waiting_text(days, "en") == en


@pytest.mark.parametrize(("days", "word"), [(1, "يوم واحد"), (2, "يومين"), (5, "5 أيام"),
                                            (11, "11 يومًا"), (100, "100 يوم")])
def test_days_waiting_in_arabic_uses_arabics_plural_forms(days, word):
    assert render.days_waiting_text(days, "ar").endswith(word)
