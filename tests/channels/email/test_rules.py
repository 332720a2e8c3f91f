"""E-mail rules without a server: which mails get no reply (loops), which numbers and
national ID a mail carries, and the reply's subject, threading and words."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from channels.email.identifiers import (
    MAX_NUMBERS,
    find_national_id,
    find_transaction_numbers,
    redact_national_ids,
)
from channels.email.loops import loop_reason
from channels.email.reply import reply_references, reply_sections, reply_subject
from core.messaging.bilingual import plain_text
from core.transactions.answer import Answer, Outcome
from tests import factories as f

CITIZEN = "citizen@example.com"
OURS = "inquiries@emirate.gov.sa"
TZ = ZoneInfo("Asia/Riyadh")


@pytest.mark.parametrize(("headers", "sender"), [
    ({"auto-submitted": "auto-replied"}, CITIZEN),
    ({"auto-submitted": "auto-generated; type=vacation"}, CITIZEN),
    ({"return-path": "<>"}, CITIZEN),
    ({}, "MAILER-DAEMON@mx.example.com"),
    ({}, "postmaster@example.com"),
    ({}, "news-request@lists.example.com"),
    ({}, "owner-citizens@lists.example.com"),
    ({}, "no-reply@bank.example"),
    ({}, "noreply@bank.example"),
    ({}, "donotreply@bank.example"),
    ({"precedence": "bulk"}, CITIZEN),
    ({"precedence": "Junk"}, CITIZEN),
    ({"precedence": "list"}, CITIZEN),
    ({"precedence": "auto_reply"}, CITIZEN),
    ({"list-id": "<citizens.lists.example.com>"}, CITIZEN),
    ({"list-unsubscribe": "<mailto:leave@example.com>"}, CITIZEN),
    ({"x-autoreply": "yes"}, CITIZEN),
    ({"x-autorespond": "Out of office"}, CITIZEN),
    ({"x-auto-response-suppress": "All"}, CITIZEN),
    ({"content-type": "multipart/report; report-type=delivery-status; boundary=x"}, CITIZEN),
    ({"content-type": "message/delivery-status"}, CITIZEN),
    ({"subject": "Automatic reply: Re: status 4471234"}, CITIZEN),
    ({"subject": "Out of Office: status"}, CITIZEN),
    ({"subject": "رد تلقائي: استعلام"}, CITIZEN),
    ({"subject": "Undeliverable: Re: status"}, CITIZEN),
    ({"subject": "Out of Office AutoReply: status 4471234"}, CITIZEN),
    ({"subject": "Auto: status"}, CITIZEN),
    ({"subject": "Auto-Reply: status"}, CITIZEN),
    ({"subject": "  الرد التلقائي: استعلام"}, CITIZEN),
    ({"subject": "خارج المكتب: استعلام"}, CITIZEN),
    ({"subject": "غير قابل للتسليم: استعلام"}, CITIZEN),
    ({"subject": "Delivery Status Notification (Failure)"}, CITIZEN),
    ({"subject": "Delivery Status Notification"}, CITIZEN),
    ({"subject": "Undelivered Mail Returned to Sender"}, CITIZEN),
    ({"subject": "Mail delivery failed: returning message to sender"}, CITIZEN),
    ({}, OURS),
    ({}, "INQUIRIES@Emirate.gov.sa"),
    ({}, ""),
])
def test_automatic_and_bulk_mail_gets_no_reply(headers, sender):
    assert loop_reason(headers, sender, [OURS]) is not None


@pytest.mark.parametrize("headers", [
    {},
    {"auto-submitted": "no"},
    {"return-path": "<citizen@example.com>"},
    {"precedence": "first-class"},
    {"content-type": "text/plain; charset=utf-8"},
    {"subject": "Re: status of my auto registration 4471234"},
    # A citizen's words that begin like an automatic answer's label, without its colon.
    {"subject": "Out of office hours question 4471234"},
    {"subject": "Out of the office until Sunday, is 4471234 ready?"},
    {"subject": "Undeliverable parcel, transaction 4471234"},
    {"subject": "Automatic reply never came for 4471234"},
    {"subject": "Auto registration 4471234"},
    {"subject": "Delivery status notification for my transaction 4471234?"},
    {"subject": "رد تلقائي لم يصلني عن المعاملة 4471234"},
    {"subject": "خارج المكتب حتى الأحد، ما حالة 4471234"},
])
def test_a_person_writing_gets_a_reply(headers):
    assert loop_reason(headers, CITIZEN, [OURS]) is None


@pytest.mark.parametrize(("text", "numbers"), [
    ("استعلام عن المعاملة رقم ١٤٤٧٠٠١", ["1447001"]),
    ("Status of ۱۴۴۷۰۰۲ please", ["1447002"]),
    ("رقم المعاملة: 1447-001", ["1447001"]),
    ("1447001 و 1447002 و ١٤٤٧٠٠١", ["1447001", "1447002"]),
    ("Sent on 2026-11-23 at 09:15 about 4471234", ["4471234"]),
    ("dated 1447/05/02, number 4471234", ["4471234"]),
    ("call me on +966 55 123 4567 about 4471234", ["4471234"]),
    ("جوالي 0551234567 والمعاملة 4471234", ["4471234"]),
    (f"هويتي {f.NATIONAL_ID} والمعاملة 4471234", ["4471234"]),
    ("no digits here", []),
    ("123 is too short", []),
])
def test_transaction_numbers_in_a_mail(text, numbers):
    assert find_transaction_numbers(text) == numbers


def test_one_mail_asks_about_at_most_a_few_numbers():
    text = " ".join(str(1_000_000 + i) for i in range(MAX_NUMBERS + 5))

    assert len(find_transaction_numbers(text)) == MAX_NUMBERS


def test_a_national_id_in_arabic_digits_is_found_and_never_stored():
    arabic = f.NATIONAL_ID.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    text = f"رقم الهوية: {arabic}\nالمعاملة 4471234"

    assert find_national_id(text) == f.NATIONAL_ID
    assert redact_national_ids(text) == "رقم الهوية: **********\nالمعاملة 4471234"
    assert redact_national_ids("١٤٤٧٠٠١") == "١٤٤٧٠٠١"  # the rest as written


def test_ten_digits_that_are_not_a_valid_id_are_no_id():
    assert find_national_id("3234567890") is None  # IDs start with 1 or 2
    assert find_national_id("0551234567") is None  # a mobile


def test_an_id_the_records_system_registered_verifies_whatever_its_check_digit():
    assert find_national_id("هويتي 1012345678") == "1012345678"


def test_every_reply_has_one_fixed_bilingual_subject():
    # Never the incoming subject: it is the sender's text (issue 13, finding 5).
    assert reply_subject() == "Re: استعلام عن معاملة / Transaction inquiry"


def test_references_carry_the_thread_and_the_citizens_mail():
    assert reply_references("<a@x> <b@x>", "<c@x>") == "<a@x> <b@x> <c@x>"
    assert reply_references("", None) == ""
    assert len(reply_references(" ".join(f"<{i}@x>" for i in range(30)), "<c@x>").split()) \
        == 10


def test_the_reply_is_arabic_then_english_and_covers_each_number():
    sections = reply_sections([("4471234", Answer(Outcome.NOT_FOUND)),
                               ("5550001", Answer(Outcome.NOT_FOUND))], TZ)

    assert [s.lang for s in sections] == ["ar", "en"]
    assert "المعاملة رقم 4471234" in sections[0].text
    assert "5550001" in sections[0].text and "5550001" in sections[1].text
    body = plain_text(sections)
    assert body.index("شكرًا") < body.index("Thank you")


def test_a_mail_without_a_number_is_told_what_to_write():
    [ar, en] = reply_sections([], TZ)

    assert "رقم المعاملة" in ar.text
    assert "Write your transaction number" in en.text


def test_an_oversized_mail_gets_a_polite_refusal():
    [ar, en] = reply_sections([], TZ, oversized=True)

    assert "too large" in en.text and "مرفقات" in ar.text


# --- review findings (issue 7) -----------------------------------------------------------

@pytest.mark.parametrize("mark", ["\u200f", "\u200e", "\u061c", "\u0640", "\u200d",
                                  "\u200b", "\ufeff"])
def test_a_national_id_with_invisible_marks_is_masked_as_it_is_found(mark):
    written = mark.join(f.NATIONAL_ID)
    text = f"هويتي {written} والمعاملة 4471234"

    assert find_national_id(text) == f.NATIONAL_ID
    redacted = redact_national_ids(text)
    assert f.NATIONAL_ID not in redacted.translate(str.maketrans("", "", mark))
    assert "4471234" in redacted


@pytest.mark.parametrize("headers", [
    {"x-loop": OURS},
    {"x-loop": f"Emirate <{OURS.upper()}>"},
    {"x-precedence": "bulk"},
    {"list-help": "<mailto:help@lists.example.com>"},
    {"list-subscribe": "<mailto:join@lists.example.com>"},
    {"list-owner": "<mailto:owner@lists.example.com>"},
    {"list-archive": "<https://lists.example.com/archive>"},
    {"list-post": "<mailto:citizens@lists.example.com>"},
    {"x-autoresponse": "yes"},
    {"x-mail-autoreply": "yes"},
    {"x-failed-recipients": CITIZEN},
])
def test_the_loop_signals_other_responders_check_get_no_reply(headers):
    assert loop_reason(headers, CITIZEN, [OURS]) is not None


def test_an_x_loop_naming_someone_else_is_no_loop_of_ours():
    assert loop_reason({"x-loop": "helpdesk@elsewhere.example"}, CITIZEN, [OURS]) is None


@pytest.mark.parametrize(("text", "numbers"), [
    ("I applied on 15 November 2026 and have heard nothing", []),
    ("November 15, 2026", []),
    ("قدمت الطلب في 15 نوفمبر 2026", []),
    ("٢ جمادى الأولى ١٤٤٧", []),
    ("P.O. Box 12345, Riyadh 11564", []),
    ("ص.ب 12345 الرياض 11564", []),
    ("Box 12345, Riyadh 11564, transaction 4471234 of 15 November 2026", ["4471234"]),
    ("4471", ["4471"]),  # a line that is only a number is read as the SMS channel reads it
])
def test_years_and_postcodes_are_not_transaction_numbers(text, numbers):
    assert find_transaction_numbers(text) == numbers
