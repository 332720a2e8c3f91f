"""The citizen web portal through Flask's test client: Arabic first, CSRF on, no leaks."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from core.calendar.dates import RIYADH
from core.identity.national_id import national_id_with_check_digit
from core.platform.i18n import LOCALE_DIR
from core.transactions.answer import Answer, Name, Outcome, TransactionView
from core.transactions.render import sms_text
from tests import factories as f

REPO = Path(__file__).resolve().parents[2]
NUMBER = "4471234"
ARABIC_NUMBER = "٤٤٧١٢٣٤"
UNKNOWN_NUMBER = "9990001"


@pytest.fixture
def transaction(core):
    """4471234, the applicant's, issued to the Ministry of Interior and awaiting its reply."""
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    core.upsert_employee("E1", f.employee())
    for event in (
        f.registered(NUMBER, occurred_at="2025-11-02T09:15:00+03:00"),
        f.event("referred", NUMBER, "2025-11-03T10:00:00+03:00", department="RIGHTS"),
        f.event("assigned", NUMBER, "2025-11-04T11:00:00+03:00", employee="E1"),
        # 22:30 UTC on the 9th is already the 10th in Riyadh: the page uses local dates.
        f.event("issued", NUMBER, "2025-11-09T22:30:00+00:00", outgoing_number="98765",
                destination_agency="MOI", reply_expected=True),
    ):
        core.record_event(event)
    return NUMBER


def csrf_token(client, lang: str = "ar") -> str:
    html = client.get(f"/?lang={lang}").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def inquire(client, number: str, national_id: str = f.NATIONAL_ID, lang: str = "ar"):
    return client.post("/inquiry", data={
        "csrf_token": csrf_token(client, lang), "lang": lang, "number": number,
        "national_id": national_id})


def text(response) -> str:
    return response.get_data(as_text=True)


# --- the form -----------------------------------------------------------------------------


def test_form_is_arabic_and_right_to_left_by_default(client):
    r = client.get("/")
    html = text(r)
    assert r.status_code == 200
    assert '<html lang="ar" dir="rtl">' in html
    assert "الاستعلام عن المعاملات — إمارة المنطقة" in html
    assert 'href="/?lang=en"' in html and ">English<" in html
    assert '<input type="hidden" name="lang" value="ar">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_form_fields_are_labelled_numeric_and_not_autocompleted(client):
    html = text(client.get("/"))
    for field in ("number", "national_id"):
        assert f'<label class="label" for="{field}">' in html
        tag = re.search(rf'<input class="input" id="{field}"[^>]*>', html, re.S).group(0)
        assert 'inputmode="numeric"' in tag
        assert 'autocomplete="off"' in tag
        assert f'aria-describedby="{field}-hint"' in tag
    assert '<label class="label" for="number">رقم المعاملة</label>' in html


def test_form_in_english_with_the_lang_query(client):
    html = text(client.get("/?lang=en"))
    assert '<html lang="en" dir="ltr">' in html
    assert "Transaction Inquiry — Regional Emirate" in html
    assert 'href="/?lang=ar"' in html and ">العربية<" in html
    assert '<input type="hidden" name="lang" value="en">' in html
    assert "الاستعلام عن معاملة" not in html


def test_unknown_language_falls_back_to_arabic(client):
    assert '<html lang="ar" dir="rtl">' in text(client.get("/?lang=fr"))


def test_footer_points_to_the_other_channels(client):
    html = text(client.get("/"))
    assert 'href="sms:74747"' in html
    assert 'href="tel:8001287788"' in html
    assert "أجهزة الخدمة الذاتية" in html


def test_get_on_the_answer_url_goes_back_to_the_form(client):
    r = client.get("/inquiry?lang=en")
    assert r.status_code == 303
    assert r.headers["Location"] == "/?lang=en"


# --- CSRF --------------------------------------------------------------------------------------


def test_post_without_csrf_token_gets_a_friendly_arabic_page(client, transaction):
    client.get("/")  # a session exists, the token is simply missing
    r = client.post("/inquiry", data={"lang": "ar", "number": NUMBER,
                                      "national_id": f.NATIONAL_ID})
    assert r.status_code == 400
    assert r.mimetype == "text/html"
    assert "انتهت صلاحية الصفحة" in text(r)
    assert "98765" not in text(r)


def test_expired_token_page_follows_the_form_language(client):
    r = client.post("/inquiry", data={"csrf_token": "forged", "lang": "en", "number": NUMBER,
                                      "national_id": f.NATIONAL_ID})
    assert r.status_code == 400
    assert '<html lang="en" dir="ltr">' in text(r)
    assert "This page has expired" in text(r)
    assert 'href="/?lang=en"' in text(r)


def test_a_token_from_another_session_is_refused(app, client, transaction):
    token = csrf_token(app.test_client())
    r = client.post("/inquiry", data={"csrf_token": token, "lang": "ar", "number": NUMBER,
                                      "national_id": f.NATIONAL_ID})
    assert r.status_code == 400


def test_the_json_api_is_exempt_from_csrf(client, kiosk_auth, transaction):
    r = client.post("/api/v1/inquiries", json={"number": NUMBER,
                                                "national_id": f.NATIONAL_ID},
                    headers=kiosk_auth)
    assert r.status_code == 200
    assert r.json["found"] is True


# --- answers -----------------------------------------------------------------------------------


def test_found_answer_shows_status_details_and_timeline_in_arabic(client, transaction):
    r = inquire(client, NUMBER)
    html = text(r)
    assert r.status_code == 200
    assert 'aria-live="polite"' in html
    assert "صدرت إلى وزارة الداخلية بانتظار الرد" in html
    assert "<bdi>4471234</bdi>" in html
    assert "إدارة الحقوق" in html
    assert "<bdi>98765</bdi>" in html
    assert "جهة الصادر" in html
    timeline = html[html.index('<ol class="timeline">'):html.index("</ol>")]
    labels = re.findall(r'<span class="timeline-label">([^<]+)</span>', timeline)
    assert labels == ["تم تسجيل المعاملة", "أحيلت إلى إدارة الحقوق",
                      "أحيلت إلى الباحث المختص في إدارة الحقوق", "صدرت إلى وزارة الداخلية"]
    # Hijri with the Gregorian date beside it, in Riyadh's calendar day.
    assert "11 جمادى الأولى 1447هـ الموافق 2 نوفمبر 2025م" in timeline
    assert ('<time class="timeline-date" datetime="2025-11-10">'
            "19 جمادى الأولى 1447هـ الموافق 10 نوفمبر 2025م</time>") in timeline


def test_found_answer_in_english(client, transaction):
    html = text(inquire(client, NUMBER, lang="en"))
    assert '<html lang="en" dir="ltr">' in html
    assert "Issued to Ministry of Interior, awaiting its reply" in html
    assert "Assigned to a researcher in Rights Department" in html
    assert "11 Jumada al-Ula 1447\u00a0AH (2 November 2025)" in html


def test_days_awaiting_the_reply_use_arabic_plural_forms(client, transaction):
    with time_machine.travel(datetime(2025, 11, 23, 9, 0, tzinfo=UTC), tick=False):
        r = inquire(client, NUMBER)
    assert "بانتظار الرد منذ 13 يومًا" in text(r)


def test_arabic_indic_digits_are_accepted(client, transaction):
    arabic_id = f.NATIONAL_ID.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    r = inquire(client, ARABIC_NUMBER, national_id=arabic_id)
    assert r.status_code == 200
    assert "<bdi>4471234</bdi>" in text(r)


def test_not_found_and_not_yours_are_byte_identical(client, transaction):
    not_yours = inquire(client, NUMBER, national_id=f.OTHER_NATIONAL_ID)
    not_found = inquire(client, UNKNOWN_NUMBER, national_id=f.OTHER_NATIONAL_ID)
    assert not_yours.status_code == not_found.status_code == 200
    assert not_yours.data == not_found.data
    assert "لا توجد معاملة بهذه البيانات" in text(not_found)
    assert NUMBER not in text(not_yours) and "98765" not in text(not_yours)
    assert not_yours.headers.get("Set-Cookie") == not_found.headers.get("Set-Cookie")


# --- invalid input: a field error, never "not found" ------------------------------------------


def test_missing_number_is_a_field_error(client):
    r = inquire(client, "")
    html = text(r)
    assert r.status_code == 422
    assert "يُرجى إدخال رقم المعاملة." in html
    assert 'id="number-error"' in html and 'aria-invalid="true"' in html
    assert "لا توجد معاملة" not in html
    assert f'value="{f.NATIONAL_ID}"' in html  # what was typed is kept


def test_number_without_digits_is_a_field_error_in_english(client):
    r = inquire(client, "my transaction", lang="en")
    html = text(r)
    assert r.status_code == 422
    assert "Enter the transaction number in digits only" in html
    assert "Error: Inquire about a transaction" in html
    assert "No transaction was found" not in html


def test_both_fields_wrong_are_reported_together(client):
    html = text(inquire(client, "abc", national_id="123", lang="en"))
    summary = html[html.index('class="error-summary"'):html.index("</ul>")]
    assert summary.index("digits only, as written") < summary.index("must be 10 digits")


@pytest.mark.parametrize(("national_id", "message"), [
    ("", "يُرجى إدخال رقم الهوية الوطنية أو الإقامة."),
    ("10123abc78", "يجب أن يتكون رقم الهوية الوطنية أو الإقامة من أرقام فقط."),
    ("10123", "يجب أن يتكون رقم الهوية الوطنية أو الإقامة من 10 أرقام."),
    (national_id_with_check_digit("301234567"), "يبدأ رقم الهوية الوطنية بالرقم 1"),
    (f.NATIONAL_ID[:9] + str((int(f.NATIONAL_ID[9]) + 1) % 10),
     "رقم الهوية الوطنية أو الإقامة غير صحيح"),
])
def test_bad_national_id_is_a_field_error(client, transaction, national_id, message):
    r = inquire(client, NUMBER, national_id=national_id)
    html = text(r)
    assert r.status_code == 422
    assert message in html
    assert 'id="national_id-error"' in html
    assert "لا توجد معاملة" not in html and "98765" not in html


@pytest.mark.parametrize("form", [
    {},
    {"number": "\x00" * 50, "national_id": "\x00"},
    {"number": "٤" * 5000, "national_id": "1" * 5000},
    {"number": NUMBER, "national_id": f.NATIONAL_ID, "lang": "<script>"},
    {"number": ["1", "2"], "national_id": [f.NATIONAL_ID, "x"]},
    {"number": "4471234 5551234", "national_id": f"{f.NATIONAL_ID} "},
])
def test_bad_input_never_gives_a_server_error(client, transaction, form):
    r = client.post("/inquiry", data={"csrf_token": csrf_token(client), **form})
    assert r.status_code < 500
    assert "<script>" not in text(r)


def test_an_internal_failure_is_a_calm_page_in_the_citizens_language(
        app, client, transaction, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setattr(app.extensions["core"], "inquire",
                        lambda request: (_ for _ in ()).throw(RuntimeError("db gone")))

    response = inquire(client, NUMBER)

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "الخدمة غير متاحة مؤقتًا" in text(response)
    assert "Traceback" not in text(response) and "db gone" not in text(response)


def test_body_too_large_gets_a_friendly_page(client):
    r = client.post("/inquiry?lang=en", data={"csrf_token": csrf_token(client, "en"),
                                              "number": "1" * 70_000})
    assert r.status_code == 413
    assert "Your request could not be processed" in text(r)


# --- rate limit ---------------------------------------------------------------------------------


def test_repeated_failures_get_a_polite_429(client, transaction):
    for attempt in range(10):
        assert inquire(client, f"999{attempt:04d}").status_code == 200
    r = inquire(client, NUMBER)  # even the right details wait now
    html = text(r)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0
    assert "يُرجى المحاولة لاحقًا" in html
    assert "8001287788" in html
    assert "98765" not in html


# --- headers --------------------------------------------------------------------------------------


def test_security_headers_on_every_portal_response(client, transaction):
    responses = {
        "form": client.get("/"),
        "answer": inquire(client, NUMBER),
        "csrf": client.post("/inquiry", data={"number": NUMBER}),
        "stylesheet": client.get("/assets/portal.css"),
    }
    for name, r in responses.items():
        assert "default-src 'self'" in r.headers["Content-Security-Policy"], name
        assert r.headers["X-Content-Type-Options"] == "nosniff", name
        assert r.headers["Referrer-Policy"] == "same-origin", name
        assert r.headers["X-Frame-Options"] == "DENY", name
    assert responses["answer"].headers["Cache-Control"] == "no-store"
    assert responses["csrf"].headers["Cache-Control"] == "no-store"
    assert responses["stylesheet"].mimetype == "text/css"


def test_pages_load_nothing_from_other_origins(client, transaction):
    html = text(client.get("/")) + text(inquire(client, NUMBER))
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html and "style=" not in html  # CSP allows neither inline


# --- the Arabic catalog (core/locale) ----------------------------------------------------------


def _catalog():
    with (LOCALE_DIR / "ar" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale="ar")


def _placeholders(message: str) -> set[str]:
    return set(re.findall(r"\{\w+\}|%\(\w+\)s", message))


def test_every_message_has_an_arabic_translation_with_the_same_placeholders():
    with (REPO / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    catalog = _catalog()
    extracted = list(extract_from_dir(str(REPO), method_map, options_map))
    assert any(path.startswith("core") for path, *_ in extracted)
    assert any(path.endswith(".html") for path, *_ in extracted)
    for path, lineno, msgid, _comments, _context in extracted:
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(key)
        assert entry is not None and entry.string, f"{path}:{lineno} {key!r} is untranslated"
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if isinstance(msgid, tuple):
            assert len(forms) == 6 and all(forms), f"{key!r} needs Arabic's six plural forms"
        for form in forms:
            assert _placeholders(form) <= _placeholders(" ".join(
                msgid if isinstance(msgid, tuple) else (msgid,))), (key, form)
        if not isinstance(msgid, tuple):
            assert _placeholders(forms[0]) == _placeholders(msgid), (key, forms[0])


def test_every_translation_belongs_to_one_message():
    """A merge that drops a ``msgid`` line leaves its ``msgstr`` behind, which Babel reads
    as the previous message's (a plural's first form said "answered")."""
    text = (LOCALE_DIR / "ar" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    waiting = False  # a msgid read, its translation not yet
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("msgid "):
            waiting = True
        elif line.startswith(("msgstr ", "msgstr[0]")):
            assert waiting, f"messages.po:{number}: {line} has no msgid"
            waiting = False


@pytest.mark.parametrize("status", ["registered", "referred", "assigned", "closed"])
def test_arabic_sms_status_answers_fit_one_ucs2_segment(status):
    department = Name("إدارة الحقوق والشؤون", "Rights and Affairs")
    assert len(department.ar) == 20
    view = TransactionView(number="4471234", status=status, subject="طلب إفادة",
                           registered_at=datetime(2025, 11, 2, 6, 15, tzinfo=UTC),
                           department=department)
    message = sms_text(Answer(Outcome.FOUND, view), "ar", RIYADH)
    assert "4471234" in message
    assert len(message) <= 70, message


def test_an_unknown_address_is_a_page_in_the_citizens_language(client):
    arabic = client.get("/no-such-page")
    english = client.get("/no-such-page?lang=en")

    assert (arabic.status_code, arabic.mimetype) == (404, "text/html")
    assert "الصفحة غير موجودة" in text(arabic) and 'dir="rtl"' in text(arabic)
    assert "This page does not exist" in text(english)
    assert arabic.headers["X-Frame-Options"] == "DENY"


def test_an_unknown_api_route_stays_json(client):
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404 and response.is_json
    assert response.get_json()["error"]["code"] == "not_found"


def test_an_id_registered_with_a_check_digit_that_does_not_add_up_is_answered(client, core):
    # The wrong-check-digit hint only replaces "not found": the records system's own ID
    # for the applicant is answered whatever its check digit.
    core.record_event(f.registered("4471999", national_id="1012345678"))

    r = inquire(client, "4471999", national_id="1012345678")

    assert r.status_code == 200
    assert "4471999" in text(r)
    assert 'id="national_id-error"' not in text(r)
