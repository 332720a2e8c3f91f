"""Citizen's Voice by e-mail without a server: what a mail files, which case it is about,
whether it is Citizen's Voice's at all, and how our mails about cases are addressed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from channels.email import voice_words as words
from channels.email.compose import sender_address, subject_of
from channels.email.inquiry import EmailRules, InboundEmail
from channels.email.parse import parse_mail
from channels.email.settings import EmailSettings
from channels.email.voice import is_for_voice, thread_ids
from core.voice.notices import case_event_of
from core.voice.tracking import damm_digit
from tests.channels.email import mails

VOICE = "voice@emirate.gov.sa"
TRACKING = "748210936" + str(damm_digit("748210936"))


@pytest.mark.parametrize(("subject", "text", "expected"), [
    ("", "الشارع مظلم", ("complaint", "الشارع مظلم")),
    ("شكوى", "الشارع مظلم", ("complaint", "الشارع مظلم")),
    ("مُقْتَرَح: حديقة", "في الحي الشمالي", ("suggestion", "حديقة\n\nفي الحي الشمالي")),
    ("Re: Fwd: اقتراح", "ممرات للمشاة", ("suggestion", "ممرات للمشاة")),
    ("الحي الشمالي", "اقتراحـ: حديقة", ("suggestion", "الحي الشمالي\n\nحديقة")),
    ("", "Suggestion - more shade", ("suggestion", "more shade")),
    ("Question", "when is the market open?", ("enquiry", "when is the market open?")),
    ("بلاغ", "", ("complaint", "")),
    ("رد: ", "", ("complaint", "")),
    # A word that only begins like a keyword is the text.
    ("", "اقتراحات كثيرة", ("complaint", "اقتراحات كثيرة")),
], ids=["plain", "complaint-word", "diacritics", "reply-prefixes", "body-keyword-tatweel",
        "english", "enquiry", "keyword-only", "prefix-only", "longer-word"])
def test_what_a_mail_files(subject, text, expected):
    assert words.case_type_and_text(subject, text) == expected


@pytest.mark.parametrize(("subject", "found"), [
    (f"طلبي {TRACKING}", TRACKING),
    (f"Re: {TRACKING[:4]} {TRACKING[4:7]}-{TRACKING[7:]}", TRACKING),
    (TRACKING.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), TRACKING),
    (f"طلبي {TRACKING[:-1]}{(int(TRACKING[-1]) + 1) % 10}", None),  # wrong check digit
    (f"المعاملة 1{TRACKING}", None),  # part of a longer number
    ("الإنارة", None),
])
def test_the_tracking_number_a_subject_names(subject, found):
    assert words.tracking_in(subject) == found


@pytest.mark.parametrize(("text", "digit"), [
    ("4", 4), (" ٥ ", 5), ("0", 0), ("3.\n\nSent from my iPhone", 3), ("\n\n1\n", 1),
    ("6", None), ("10", None), ("4 stars", None), ("", None), ("الرد جيد 5", None),
])
def test_a_bare_digit_rates_or_reopens(text, digit):
    assert words.bare_digit(text) == digit


def test_parse_reads_every_recipient_and_in_reply_to():
    mail = parse_mail(mails.plain("x", to="inquiries@emirate.gov.sa",
                                  Cc="Voice <VOICE@emirate.gov.sa>",
                                  Delivered_To="other@emirate.gov.sa",
                                  In_Reply_To="<ours.7@emirate.gov.sa>"))
    assert mail.recipients == ("inquiries@emirate.gov.sa", VOICE, "other@emirate.gov.sa")
    assert mail.in_reply_to == "<ours.7@emirate.gov.sa>"


def test_a_mail_is_citizens_voices_by_any_of_its_recipients():
    rules = EmailRules(voice_address=VOICE)
    assert is_for_voice(InboundEmail("a@b.example", "", "", recipients=(VOICE,)), rules)
    assert not is_for_voice(InboundEmail("a@b.example", "", "",
                                         recipients=("inquiries@emirate.gov.sa",)), rules)
    assert not is_for_voice(InboundEmail("a@b.example", "", "", recipients=(VOICE,)),
                            EmailRules())  # off


def test_thread_ids_newest_first_without_repeats():
    mail = InboundEmail("a@b.example", "", "", in_reply_to="<c>", references="<a> <b> <c>")
    assert thread_ids(mail) == ["<c>", "<b>", "<a>"]


def test_our_mails_about_cases_come_from_the_voice_address_under_fixed_subjects():
    assert sender_address("voice_answered", "inq@x.gov", VOICE) == VOICE
    assert sender_address("voice_answered", "inq@x.gov", "") == "inq@x.gov"
    assert sender_address("answer", "inq@x.gov", VOICE) == "inq@x.gov"
    assert subject_of("voice_received", True) == \
        "Re: صوت المواطن: تم استلام طلبك / Citizen's Voice: your request was received"
    assert subject_of("voice_received", False).startswith("صوت المواطن")
    assert subject_of("voice_reply", True) == \
        "Re: صوت المواطن: بشأن رسالتك / Citizen's Voice: about your message"
    assert subject_of("answer", True) == "Re: استعلام عن معاملة / Transaction inquiry"


def test_a_notice_names_its_case_event_and_nothing_else_does():
    assert case_event_of("voice:42:answered") == 42
    assert case_event_of("email:42:answer") is None
    assert case_event_of("voice:x:answered") is None
    assert case_event_of("voice:42") is None


def test_the_voice_address_is_an_address_of_its_own():
    assert EmailSettings(voice_address=" Voice@Emirate.gov.sa ").voice_address == VOICE
    with pytest.raises(ValidationError):
        EmailSettings(voice_address="not an address")
    with pytest.raises(ValidationError):
        EmailSettings(voice_address="noreply@example.gov.sa")  # smtp.from_address
