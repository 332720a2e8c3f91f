"""Understanding real-world mail without a server: bodies, charsets, encoded subjects,
quoted history, attachments, HTML, broken MIME."""

from __future__ import annotations

import pytest

from channels.email.html_text import html_to_text
from channels.email.inquiry import dedupe_key
from channels.email.parse import UnreadableMail, new_text, parse_mail, parse_oversized
from tests.channels.email import mails


def test_a_plain_arabic_mail():
    mail = parse_mail(mails.plain("السلام عليكم\nأرجو معرفة حالة المعاملة ١٤٤٧٠٠١",
                                  subject="استعلام عن معاملة"))

    assert mail.sender == "applicant@example.com"
    assert mail.subject == "استعلام عن معاملة"
    assert "١٤٤٧٠٠١" in mail.text
    assert mail.message_id and mail.message_id.startswith("<test-")


def test_a_windows_1256_mail_is_decoded():
    mail = parse_mail(mails.plain("حالة المعاملة 4471234", charset="cp1256"))

    assert mail.text == "حالة المعاملة 4471234"


def test_an_rfc_2047_arabic_subject_is_decoded():
    mail = parse_mail(mails.encoded_subject("استعلام عن المعاملة ١٤٤٧٠٠١", "شكرا"))

    assert mail.subject == "استعلام عن المعاملة ١٤٤٧٠٠١"


def test_an_html_only_mail_becomes_text():
    mail = parse_mail(mails.html_only(
        "<html><head><style>p{color:red}</style></head><body dir=rtl>"
        "<p>حالة المعاملة&nbsp;<b>4471234</b></p><script>var x=5550001</script></body></html>"))

    assert mail.text == "حالة المعاملة 4471234"


def test_multipart_reads_the_text_and_ignores_the_attachment():
    mail = parse_mail(mails.multipart("status of 4471234", "<p>status of 4471234</p>",
                                      attachment=b"%PDF-1.4 5550001"))

    assert mail.text == "status of 4471234"


@pytest.mark.parametrize("history", [
    "On Mon, 23 Nov 2026 at 10:00, Emirate <inquiries@emirate.gov.sa> wrote:\n> 5550001",
    "On Mon, 23 Nov 2026 at 10:00, Emirate <inquiries@emirate.gov.sa>\nwrote:\n> 5550001",
    "في الاثنين، ٢٣ نوفمبر ٢٠٢٦ كتب الإمارة <inquiries@emirate.gov.sa>:\n> 5550001",
    "-----Original Message-----\nFrom: inquiries@emirate.gov.sa\n5550001",
    "________________________________\nFrom: Emirate\nSent: Monday\n5550001",
    "From: Emirate <inquiries@emirate.gov.sa>\nSent: Monday, November 23, 2026\n5550001",
    "-----الرسالة الأصلية-----\nمن: الإمارة\n5550001",
    "-- \nAhmed, 5550001 Street",
])
def test_only_the_new_text_counts(history):
    assert new_text(f"status of 4471234\n\n{history}") == "status of 4471234"


def test_quoted_lines_are_left_out():
    assert new_text("> 5550001\nand 4471234\n>> 5550002") == "and 4471234"


def test_a_from_line_in_the_citizens_own_words_is_kept():
    assert new_text("From: my home, 4471234\nthanks") == "From: my home, 4471234\nthanks"


def test_html_quotes_from_mail_clients_are_left_out():
    html = ('<div>status of 4471234</div><div class="gmail_quote">On Mon wrote:'
            '<blockquote>5550001</blockquote></div><blockquote>5550002</blockquote>')

    assert html_to_text(html) == "status of 4471234"


def test_outlooks_html_history_after_its_reply_header_is_left_out():
    html = ('<div>status of 4471234</div><hr><div id="divRplyFwdMsg"><b>From:</b> Emirate'
            '<br><b>Sent:</b> Monday</div><div>Transaction 5550001 is registered</div>')

    assert html_to_text(html) == "status of 4471234"


def test_an_inline_reply_keeps_the_text_after_the_quote():
    html = "<p>about 4471234</p><blockquote>5550001</blockquote><p>and 4471235</p>"

    assert html_to_text(html) == "about 4471234\n\nand 4471235"


def test_a_mail_with_broken_mime_and_no_sender_is_unreadable():
    with pytest.raises(UnreadableMail):
        parse_mail(mails.malformed())


@pytest.mark.parametrize("no_boundary", [False, True], ids=["start-boundary-not-found",
                                                            "no-boundary"])
def test_a_mail_with_broken_mime_from_a_valid_sender_is_unreadable(no_boundary):
    raw = mails.broken_mime(no_boundary=no_boundary)
    assert parse_oversized(raw.split(b"\r\n\r\n")[0] + b"\r\n\r\n", 1).sender == \
        "applicant@example.com"  # the sender is fine: only the structure is broken

    with pytest.raises(UnreadableMail, match="broken MIME structure"):
        parse_mail(raw)


def test_a_mail_without_a_from_address_is_unreadable():
    with pytest.raises(UnreadableMail, match="sender"):
        parse_mail(b"Subject: hi\r\n\r\n4471234\r\n")


def test_loop_headers_are_kept_for_the_rules():
    mail = parse_mail(mails.plain("4471234", Auto_Submitted="auto-replied",
                                  List_Id="<x.example.com>"))

    assert mail.headers["auto-submitted"] == "auto-replied"
    assert mail.headers["list-id"] == "<x.example.com>"


def test_an_oversized_mail_is_read_from_its_header_only():
    raw = mails.plain("4471234", subject="كبير")
    header = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"

    mail = parse_oversized(header, 50_000_000)

    assert mail.oversized and mail.text == "" and mail.subject == "كبير"


def test_the_same_mail_has_the_same_key_and_a_long_message_id_is_hashed():
    raw = mails.plain("4471234")
    long_id = "<" + "x" * 300 + "@example.com>"

    assert dedupe_key(parse_mail(raw)) == dedupe_key(parse_mail(raw))
    assert len(dedupe_key(parse_mail(mails.plain("1", message_id=long_id)))) <= 128


def test_a_mail_without_message_id_is_keyed_by_its_bytes():
    first = parse_mail(mails.plain("4471234", message_id=None))
    again = parse_mail(mails.plain("4471234", message_id=None))
    other = parse_mail(mails.plain("4471235", message_id=None))

    assert dedupe_key(first) == dedupe_key(again) != dedupe_key(other)
    assert dedupe_key(first).startswith("email:digest:")


# --- review findings (issue 7) -----------------------------------------------------------

def _many_encoded_words(count: int) -> bytes:
    """A Subject of ``count`` RFC 2047 encoded words, folded as a client would."""
    words = b"\r\n ".join(b"=?utf-8?B?2KM=?=" for _ in range(count))
    return (b"From: applicant@example.com\r\nTo: inquiries@emirate.gov.sa\r\n"
            b"Message-ID: <bomb@mail.example.com>\r\nSubject: " + words
            + b"\r\n\r\nstatus 4471234\r\n")


def test_a_subject_of_thousands_of_encoded_words_is_refused_before_parsing(monkeypatch):
    from channels.email import parse

    def no_parsing(*args, **kwargs):
        raise AssertionError("the header was parsed")

    monkeypatch.setattr(parse, "BytesParser", no_parsing)
    monkeypatch.setattr(parse, "BytesHeaderParser", no_parsing)
    raw = _many_encoded_words(5_000)

    with pytest.raises(UnreadableMail, match="header too large"):
        parse_mail(raw)
    with pytest.raises(UnreadableMail, match="header too large"):
        parse_oversized(raw.split(b"\r\n\r\n")[0] + b"\r\n\r\n", 50_000_000)


def test_a_header_block_over_the_cap_is_refused_though_each_header_is_small():
    from channels.email.parse import MAX_HEADER_BLOCK

    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"y" * 100)
                      for i in range(MAX_HEADER_BLOCK // 100))
    raw = b"From: applicant@example.com\r\n" + filler + b"\r\nstatus 4471234\r\n"

    with pytest.raises(UnreadableMail, match="header too large"):
        parse_mail(raw)


def test_an_ordinary_folded_header_is_within_the_caps():
    mail = parse_mail(_many_encoded_words(20))

    assert mail.subject.startswith("أ")


def _with_message_id(message_id: str, body: str = "4471234",
                     sender: str = "applicant@example.com") -> bytes:
    return (f"From: {sender}\r\nTo: inquiries@emirate.gov.sa\r\nSubject: s\r\n"
            f"Message-ID: {message_id}\r\n\r\n{body}\r\n").encode()


@pytest.mark.parametrize(("first", "second"), [
    ("<abc def@mail.example.com>", "<abc xyz@mail.example.com>"),
    ("<abc@host@one.example>", "<abc@host@two.example>"),
])
def test_message_ids_that_differ_after_a_space_or_second_at_are_different_mails(first,
                                                                                second):
    assert dedupe_key(parse_mail(_with_message_id(first))) != \
        dedupe_key(parse_mail(_with_message_id(second)))


def test_an_empty_message_id_falls_back_to_the_mails_bytes():
    one = parse_mail(_with_message_id("<>", body="4471234"))
    other = parse_mail(_with_message_id("<>", body="5550001"))

    assert dedupe_key(one) != dedupe_key(other)
    assert dedupe_key(one).startswith("email:digest:")


def test_the_same_message_id_from_another_sender_is_another_mail():
    mine = parse_mail(_with_message_id("<same@mail.example.com>"))
    theirs = parse_mail(_with_message_id("<same@mail.example.com>",
                                         sender="someone@else.example"))

    assert dedupe_key(mine) != dedupe_key(theirs)
    assert dedupe_key(mine) == dedupe_key(parse_mail(_with_message_id(
        "<same@mail.example.com>")))


def test_our_message_id_is_stable_per_row_and_not_reused_when_ids_repeat():
    from datetime import UTC, datetime

    from channels.email.compose import message_id_for

    queued = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    restored = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the same id, queued again later

    assert message_id_for(7, "inquiries@emirate.gov.sa", queued) == \
        message_id_for(7, "inquiries@emirate.gov.sa", queued)
    assert message_id_for(7, "inquiries@emirate.gov.sa", queued) != \
        message_id_for(7, "inquiries@emirate.gov.sa", restored)
