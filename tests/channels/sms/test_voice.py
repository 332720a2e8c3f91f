"""Citizen's Voice by SMS to the short code: the keywords however typed, the tracking
number, a digit after an answer, a reply to a case that waits for it; each message acting
once, answered by one SMS; and every transaction inquiry as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select

from channels.sms.inquiry import ShortCode, SmsLimits
from channels.sms.voice import (
    COMPLAINT,
    ENQUIRY,
    SUGGESTION,
    Digit,
    Filing,
    FreeText,
    MineAsked,
    TrackingAsked,
    classify,
)
from core.messaging.inbound import Inbound
from core.messaging.models import Notification
from core.platform.ratelimit import FailureLimiter
from core.voice.actions import CitizenProof
from core.voice.tracking import damm_digit
from tests import factories as f
from tests.core.voice.conftest import PROOF, build_world, cases

CITIZEN = f.MOBILE_E164  # the world's citizen (CITIZEN_MOBILE) in E.164
STRANGER = "+966569876543"
SHORT_CODE = "74747"
NUMBER = "4471234"
_keys = count(1)
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def tracking_like(body: str) -> str:
    """A number in the tracking format (7, eight digits, the Damm digit)."""
    return body + str(damm_digit(body))


# --- what a message asks ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "intent"), [
    ("شكوى الرصيف مكسور", Filing(COMPLAINT, "الرصيف مكسور")),
    ("   شَكْوَى: الرصيف مكسور", Filing(COMPLAINT, "الرصيف مكسور")),
    ("شكــــوى الرصيف", Filing(COMPLAINT, "الرصيف")),  # tatweel
    ("شكوي الرصيف", Filing(COMPLAINT, "الرصيف")),  # ya for alef maqsura
    ("بلاغ عن حفرة", Filing(COMPLAINT, "عن حفرة")),
    ("بَلَاغ\nحفرة في الطريق", Filing(COMPLAINT, "حفرة في الطريق")),
    ("Complaint the road is broken", Filing(COMPLAINT, "the road is broken")),
    ("  COMPLAINT: noise", Filing(COMPLAINT, "noise")),
    ("مقترح حديقة للأطفال", Filing(SUGGESTION, "حديقة للأطفال")),
    ("إقتراح حديقة", Filing(SUGGESTION, "حديقة")),  # alef with hamza below
    ("اقتراح حديقة", Filing(SUGGESTION, "حديقة")),
    ("suggestion: a park", Filing(SUGGESTION, "a park")),
    ("استفسار عن الرسوم", Filing(ENQUIRY, "عن الرسوم")),
    ("إستفسار عن الرسوم", Filing(ENQUIRY, "عن الرسوم")),
    ("Question: the fees?", Filing(ENQUIRY, "the fees?")),
    ("شكوى", Filing(COMPLAINT, "")),
    ("complaint   ", Filing(COMPLAINT, "")),
    # Not a keyword: the word goes on, or it is another word.
    ("شكواي لم ترد", FreeText("شكواي لم ترد")),
    ("complaints about noise", FreeText("complaints about noise")),
    ("معاملاتي", MineAsked()),  # issue 17: "my transactions" (test_mine_smsc.py)
    # Transaction inquiries, as before.
    (NUMBER, None),
    ("استعلام ٤٤٧١٢٣٤", None),
    ("status: 4471234", None),
    # A digit alone.
    ("4", Digit(4)),
    (" ٠ ", Digit(0)),
    ("5\u200f", Digit(5)),
    ("6", FreeText("6")),
    ("", None),
    ("  \n", None),
])
def test_what_a_message_asks(text, intent):
    assert classify(text) == intent


def test_a_tracking_number_however_typed_is_asked_for():
    number = tracking_like("748210936")
    spaced = f"{number[:1]} {number[1:5]} {number[5:9]} {number[9:]}"
    assert classify(number) == TrackingAsked(number)
    assert classify(spaced.translate(ARABIC_DIGITS)) == TrackingAsked(number)
    assert classify(f"{number[:4]}-{number[4:]}") == TrackingAsked(number)
    # Ten digits starting with 7 that fail the check digit: a transaction number.
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert classify(wrong) is None


# --- the world ---------------------------------------------------------------------------

@pytest.fixture
def world(core):
    """Cases walked at recent times, so that an answer is within its reopen window."""
    world = build_world(core)
    world.clock = datetime.now(UTC) - timedelta(hours=3)
    return world


@pytest.fixture
def short_code(core):
    return ShortCode(core)


def send(short_code: ShortCode, text: str, sender: str = CITIZEN, *,
         key: str | None = None, earlier: str | None = None, claim: int = 5):
    """One MO through the fast path (stored and answered in one commit); its answers."""
    message = Inbound(sender, SHORT_CODE, text, key or f"mo-{next(_keys)}", earlier)
    return short_code.receive_and_answer([message], claim_limit=claim)


def outbox_to(core, mobile: str, *, answers_only: bool = True) -> list[Notification]:
    """The SMS queued to ``mobile``: the short code's answers (not the notices of staff
    actions), or everything."""
    query = select(Notification).where(Notification.recipient == mobile)
    if answers_only:
        query = query.where(Notification.kind == "answer")
    with core.db.read() as session:
        return list(session.scalars(query.order_by(Notification.id)))


# --- filing ------------------------------------------------------------------------------

def test_a_keyword_files_a_complaint_answered_by_one_sms_with_its_tracking_number(
        world, short_code, core):
    claimed = send(short_code, "شكوى  الرصيف مكسور أمام المدرسة")

    [case] = cases(core)
    assert (case.case_type, case.channel, case.language) == ("complaint", "sms", "ar")
    assert case.text == "الرصيف مكسور أمام المدرسة"
    assert case.citizen_mobile == CITIZEN
    assert case.source_key.startswith("sms:mo-")
    # One SMS back: no acknowledgement besides the answer.
    [sms] = outbox_to(core, CITIZEN, answers_only=False)
    assert sms.kind == "answer" and [c.id for c in claimed] == [sms.id]
    assert case.tracking in sms.body and SHORT_CODE in sms.body
    assert sms.body.startswith("استلمنا شكواك")


def test_an_english_keyword_files_in_english(world, short_code, core):
    send(short_code, "Suggestion: plant trees along King Fahd Road")
    [case] = cases(core)
    assert (case.case_type, case.language, case.text) == (
        "suggestion", "en", "plant trees along King Fahd Road")
    [sms] = outbox_to(core, CITIZEN)
    assert sms.body.startswith("Your suggestion was received.") and case.tracking in sms.body


@pytest.mark.parametrize(("text", "expected"), [
    ("شكوى", "لتقديم شكوى أرسل كلمة شكوى ثم نص شكواك إلى 74747."),
    ("  مقترح ", "لتقديم مقترح أرسل كلمة مقترح ثم نص مقترحك إلى 74747."),
    ("question", "To ask a question, send question followed by your question to 74747."),
])
def test_a_keyword_alone_gets_how_to_write_it(world, short_code, core, text, expected):
    send(short_code, text)
    assert len(cases(core)) == 0
    assert [sms.body for sms in outbox_to(core, CITIZEN)] == [expected]


def test_too_long_a_text_is_refused_politely(world, short_code, core):
    send(short_code, "complaint " + "word " * 900)
    assert len(cases(core)) == 0
    [sms] = outbox_to(core, CITIZEN)
    assert "too long" in sms.body and "4000" in sms.body


def test_a_redelivered_message_files_nothing_twice(world, short_code, core):
    send(short_code, "بلاغ حفرة في الطريق", key="same")
    assert send(short_code, "بلاغ حفرة في الطريق", key="same") == []
    # The same message redelivered in the adapter's next window (its key then, and the
    # one it had before).
    assert send(short_code, "بلاغ حفرة في الطريق", key="next", earlier="same") == []
    assert len(cases(core)) == 1
    assert len(outbox_to(core, CITIZEN, answers_only=False)) == 1


def test_a_crash_between_filing_and_its_answer_files_once_and_answers_once(
        world, short_code, core):
    """Filed, then the process stops before the answer is recorded: the stored message is
    answered later with the same tracking number, and nothing is filed again."""
    stored = short_code.receive(sender=CITIZEN, recipient=SHORT_CODE,
                                text="شكوى انقطاع المياه", dedupe_key="mo-crash")
    first = short_code.respond(Inbound(CITIZEN, SHORT_CODE, "شكوى انقطاع المياه",
                                       "mo-crash"))  # filed; its answer never recorded
    assert not stored.duplicate and len(cases(core)) == 1

    assert short_code.answer_pending() == 1
    assert short_code.answer_pending() == 0
    [case] = cases(core)
    [sms] = outbox_to(core, CITIZEN)
    assert sms.body == first.body and case.tracking in sms.body


def test_a_message_filed_in_the_window_before_a_crash_is_not_filed_again(
        world, short_code, core):
    """Filed under its key; the store failed; redelivered in the adapter's next window."""
    short_code.respond(Inbound(CITIZEN, SHORT_CODE, "شكوى ضوضاء", "w1"))
    send(short_code, "شكوى ضوضاء", key="w2", earlier="w1")
    assert len(cases(core)) == 1
    [sms] = outbox_to(core, CITIZEN)
    assert cases(core)[0].tracking in sms.body


def test_filing_limits_answer_once_per_window(world, core):
    short_code = ShortCode(core)
    limit = core.config.voice.max_cases_per_citizen
    for n in range(limit):
        send(short_code, f"شكوى رقم {n} عن الطريق")
    assert len(cases(core)) == limit
    send(short_code, "شكوى أخرى عن الطريق")
    send(short_code, "شكوى ثالثة عن الطريق")
    assert len(cases(core)) == limit
    refusals = [sms.body for sms in outbox_to(core, CITIZEN)][limit:]
    assert refusals == ["أرسلت طلبات كثيرة اليوم؛ يرجى المحاولة غدًا."]


def test_a_spent_answers_budget_files_nothing(world, core):
    limits = SmsLimits.of(core)
    short_code = ShortCode(core, SmsLimits(limits.inquiries, FailureLimiter(1, 3600),
                                           limits.notices))
    send(short_code, "complaint one")
    send(short_code, "complaint two")
    assert [case.text for case in cases(core)] == ["one"]
    assert len(outbox_to(core, CITIZEN)) == 1


# --- the tracking number ------------------------------------------------------------------

def test_the_tracking_number_alone_gets_the_state(world, short_code, core):
    tracking = world.walk("complaint", "awaiting_citizen")
    spaced = " ".join([tracking[:4], tracking[4:]]).translate(ARABIC_DIGITS)
    send(short_code, spaced)
    [sms] = outbox_to(core, CITIZEN)
    assert sms.body == (f"طلبك {tracking}: بانتظار ردك. طُلب منك: أي مدرسة؟ أرسل ردك "
                        "على هذه الرسالة.")


def test_a_strangers_sms_with_the_tracking_number_reveals_nothing(world, short_code, core):
    tracking = world.walk("complaint", "answered")
    unknown = next(number for number in (tracking_like("700000000"),
                                         tracking_like("700000001"))
                   if number != tracking)  # the format of a tracking number, no case
    send(short_code, tracking, sender=STRANGER)
    send(short_code, unknown, sender=STRANGER)
    theirs, nobodys = (sms.body for sms in outbox_to(core, STRANGER))
    assert theirs == nobodys.replace(unknown, tracking)
    assert "الرد" not in theirs and "سيصلح" not in theirs


def test_transaction_inquiries_are_answered_as_before(world, short_code, core):
    from channels.sms.inquiry import sms_reply

    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(NUMBER, "2025-11-23T09:00:00+03:00"))
    world.walk("complaint", "awaiting_citizen")  # a case that waits for this citizen
    expected = sms_reply(core, CITIZEN, NUMBER, limits=SmsLimits.apart(core)).body
    send(short_code, NUMBER)
    assert [sms.body for sms in outbox_to(core, CITIZEN)] == [expected]
    assert NUMBER in expected


# --- after the answer ----------------------------------------------------------------------

def test_a_digit_rates_and_zero_reopens_the_newest_answer(world, short_code, core):
    tracking = world.walk("complaint", "answered")
    send(short_code, "٤")
    send(short_code, "5")  # rated already
    view = core.voice.citizen_view(tracking, PROOF)
    assert view.rating == 4 and view.state == "answered"
    send(short_code, "0")
    view = core.voice.citizen_view(tracking, PROOF)
    assert view.state in ("assigned", "received") and view.rating == 4
    assert [sms.body for sms in outbox_to(core, CITIZEN)] == [
        f"شكرًا لك: سُجّل تقييمك للرد على طلبك {tracking}.",
        f"سبق تقييم الرد على طلبك {tracking}.",
        f"أُعيد فتح طلبك {tracking}، وستردّ عليه الجهة من جديد.",
    ]


def test_a_redelivered_rating_rates_once(world, short_code, core):
    tracking = world.walk("complaint", "answered")
    send(short_code, "3", key="rating")
    send(short_code, "3", key="rating-next", earlier="rating")
    assert core.voice.citizen_view(tracking, PROOF).rating == 3
    assert len(outbox_to(core, CITIZEN)) == 1


def test_nothing_to_rate_gets_a_polite_text_and_changes_nothing(world, short_code, core):
    tracking = world.walk("complaint", "in_progress")
    send(short_code, "0")
    send(short_code, "5", sender=STRANGER)
    assert core.voice.citizen_view(tracking, PROOF).state == "in_progress"
    for mobile in (CITIZEN, STRANGER):
        [sms] = outbox_to(core, mobile)
        assert sms.body.startswith("لا يوجد رد لك يمكن تقييمه")


def test_a_strangers_digit_changes_nothing_of_the_citizens_answer(world, short_code, core):
    tracking = world.walk("complaint", "answered")
    send(short_code, "1", sender=STRANGER)
    send(short_code, "0", sender=STRANGER)
    view = core.voice.citizen_view(tracking, PROOF)
    assert (view.state, view.rating) == ("answered", None)


def test_zero_after_the_reopen_window_reopens_nothing_but_a_rating_still_counts(core, short_code):
    world = build_world(core)  # cases walked weeks ago
    world.clock = datetime.now(UTC) - timedelta(days=60)
    tracking = world.walk("complaint", "answered")
    send(short_code, "0")
    assert core.voice.citizen_view(tracking, PROOF).state == "answered"
    [sms] = outbox_to(core, CITIZEN)
    # Still unrated, so the digit is about it (a rating has no deadline): told why not.
    assert sms.body == f"لم يعد ممكنًا إعادة فتح طلبك {tracking}."
    send(short_code, "4")
    assert core.voice.citizen_view(tracking, PROOF).rating == 4


# --- a reply to a case that waits for it -----------------------------------------------------

def test_the_next_sms_is_added_to_the_case_waiting_for_it(world, short_code, core):
    tracking = world.walk("complaint", "awaiting_citizen")
    send(short_code, "مدرسة الملك فهد الابتدائية")
    view = core.voice.citizen_view(tracking, PROOF)
    assert view.state == "in_progress"
    assert view.history[-1].what == "citizen_reply"
    assert view.history[-1].text == "مدرسة الملك فهد الابتدائية"
    assert view.answer_due is not None  # the clock runs again
    [sms] = outbox_to(core, CITIZEN)
    assert sms.body == (f"شكرًا لك: أُضيف ردك إلى طلبك {tracking}، وتواصل الجهة العمل "
                        "عليه.")
    # The same reply redelivered adds nothing.
    assert send(short_code, "مدرسة الملك فهد الابتدائية", key="x") != []  # a new message...
    replies = [s for s in core.voice.citizen_view(tracking, PROOF).history
               if s.what == "citizen_reply"]
    assert len(replies) == 1  # ...but nothing waits any more: an inquiry, as before


def test_a_reply_redelivered_is_added_once(world, short_code, core):
    tracking = world.walk("complaint", "awaiting_citizen")
    send(short_code, "المدرسة الثانوية", key="r1")
    world.act(world.specialist("MUN"), tracking, "request_info", text="أي شارع؟")
    send(short_code, "المدرسة الثانوية", key="r2", earlier="r1")
    view = core.voice.citizen_view(tracking, PROOF)
    assert view.state == "awaiting_citizen"  # the redelivery did not answer the new question
    assert [s.what for s in view.history].count("citizen_reply") == 1


def test_someone_else_s_message_is_not_added_to_the_case(world, short_code, core):
    tracking = world.walk("complaint", "awaiting_citizen")
    send(short_code, "مدرسة أخرى", sender=STRANGER)
    assert core.voice.citizen_view(tracking, PROOF).state == "awaiting_citizen"
    other = CitizenProof(mobile=STRANGER)
    assert core.voice.awaiting_citizen(other) is None
