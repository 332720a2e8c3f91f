"""SMS inquiries to the short code: stored before they are acknowledged, answered once,
through the outbox, in the sender's language, and only the applicant's mobile gets the
status."""

from __future__ import annotations

from itertools import count

import pytest
from sqlalchemy import select, update

from channels.sms.inquiry import ShortCode, reply_language
from core.messaging import inbound as inbound_store
from core.messaging import outbox
from core.messaging.inbound import Inbound
from core.messaging.models import InboundMessage, Notification
from core.transactions.models import InquiryLog
from tests import factories as f

NUMBER = "4471234"
UNKNOWN_NUMBER = "7654321"
SHORT_CODE = "74747"
_keys = count(1)
_SHORT_CODES: dict[int, ShortCode] = {}


def short_code(core) -> ShortCode:
    """The short code answering for ``core``: one per core in a test, as a channel has one
    (its answers budget and "too many attempts" notices are counted there)."""
    if id(core) not in _SHORT_CODES:
        _SHORT_CODES[id(core)] = ShortCode(core)
    return _SHORT_CODES[id(core)]


@pytest.fixture(autouse=True)
def _short_codes_of_this_test():
    yield
    _SHORT_CODES.clear()


def at(hour: int) -> str:
    return f"2025-11-23T{hour:02d}:00:00+03:00"


@pytest.fixture
def reference(core):
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    core.upsert_employee("E1", f.employee())
    return core


@pytest.fixture
def registered(reference):
    """The applicant's transaction, registered; and someone else's."""
    reference.record_event(f.registered(NUMBER, at(9)))
    reference.record_event(f.registered("5550001", at(9), national_id=f.OTHER_NATIONAL_ID,
                                        mobile=f.OTHER_MOBILE, email="other@example.com"))
    return reference


def advance(core, status: str) -> None:
    """Move the applicant's transaction on to ``status``."""
    steps = {
        "referred": [("referred", {"department": "RIGHTS"})],
        "assigned": [("referred", {"department": "RIGHTS"}), ("assigned", {"employee": "E1"})],
        "issued": [("issued", {"outgoing_number": "98765", "destination_agency": "MOI",
                               "reply_expected": True})],
        "closed": [("closed", {})],
    }.get(status, [])
    for hour, (kind, extra) in enumerate(steps, start=10):
        core.record_event(f.event(kind, NUMBER, at(hour), **extra))


def sms(core, text: str, sender: str = f.MOBILE, *, dedupe_key: str | None = None):
    return short_code(core).receive(sender=sender, recipient=SHORT_CODE, text=text,
                            dedupe_key=dedupe_key or f"smsc-{next(_keys)}")


def answers(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(
            select(Notification).where(Notification.kind == "answer").order_by(Notification.id)))


def inbound(core) -> list[InboundMessage]:
    with core.db.read() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def ask(core, text: str, sender: str = f.MOBILE) -> str:
    """Text the short code, run the answering pass, and return the reply's body."""
    received = sms(core, text, sender)
    assert short_code(core).answer_pending() == 1
    [reply] = [n for n in answers(core) if n.cause_key == f"mo:{received.id}:answer"]
    return reply.body


# What the applicant's phone shows, written out: an expected text built by the renderer
# under test would follow any regression in it.
STATUS = {"ar": "المعاملة رقم 4471234: مسجلة وقيد الإجراء",
          "en": "Transaction 4471234: Registered and in progress"}
NOT_FOUND_AR = "لا توجد معاملة بهذه البيانات، يرجى التحقق من الرقم والمحاولة مرة أخرى."
RATE_LIMITED_AR = "تجاوزت الحد المسموح من المحاولات، يرجى المحاولة لاحقا."
HELP = {"ar": "أرسل رقم المعاملة إلى 74747 لمعرفة حالتها.",
        "en": "Send your transaction number to 74747 to know its status."}


def status_text(core, lang: str = "ar") -> str:
    """The registered transaction's answer in ``lang`` (``core`` unused: kept for callers)."""
    return STATUS[lang]


# --- the reply's language ----------------------------------------------------------------


@pytest.mark.parametrize(("text", "lang"), [
    ("استعلام ٤٤٧١٢٣٤", "ar"),
    ("حالة 4471234", "ar"),
    ("٤٤٧١٢٣٤", "ar"),
    ("4471234", "ar"),
    ("", "ar"),
    ("status 4471234", "en"),
    ("Status: 4471234", "en"),
    ("hello", "en"),
    ("status حالة 4471234", "ar"),
    ("مرحبا hello", "ar"),
    ("استعلام ۴۴۷۱۲۳۴", "ar"),
    ("😀 4471234", "ar"),
])
def test_reply_language_is_arabic_unless_the_message_is_latin(text, lang):
    assert reply_language(text) == lang


def test_reply_language_for_digits_only_follows_the_configured_default():
    assert reply_language("4471234", default="en") == "en"
    assert reply_language("حالة 4471234", default="en") == "ar"


# --- storing what came in ----------------------------------------------------------------


@pytest.mark.parametrize("sender", ["0551234567", "966551234567", "+966551234567",
                                    "00966551234567", "٠٥٥١٢٣٤٥٦٧"])
def test_received_sms_is_stored_with_the_sender_in_e164(core, sender):
    received = sms(core, "استعلام ٤٤٧١٢٣٤", sender, dedupe_key="smsc-abc")

    [row] = inbound(core)
    assert (received.id, received.status, received.duplicate) == (row.id, "received", False)
    assert row.sender == f.MOBILE_E164
    assert (row.text, row.recipient, row.dedupe_key, row.channel) == (
        "استعلام ٤٤٧١٢٣٤", SHORT_CODE, "smsc-abc", "sms")
    assert row.answered_at is None and row.received_at is not None


@pytest.mark.parametrize(("sender", "stored"), [
    ("971501234567", "+971501234567"),  # international without the '+', as SMSCs send it
    ("STC", "STC"),
    ("0112345678", "0112345678"),  # a landline stays as it came
])
def test_a_sender_that_is_not_a_local_mobile_is_tried_as_international_or_kept_raw(
        core, sender, stored):
    sms(core, "4471234", sender)

    assert inbound(core)[0].sender == stored


def test_a_redelivered_sms_returns_the_stored_row_and_adds_none(core):
    first = sms(core, "4471234", dedupe_key="smsc-1")
    again = sms(core, "4471234", dedupe_key="smsc-1")

    assert again.duplicate and not first.duplicate
    assert again.id == first.id
    assert len(inbound(core)) == 1


def test_a_redelivery_after_the_answer_is_not_answered_again(registered):
    first = sms(registered, "4471234", dedupe_key="smsc-1")
    assert short_code(registered).answer_pending() == 1

    again = sms(registered, "4471234", dedupe_key="smsc-1")

    assert (again.id, again.status, again.duplicate) == (first.id, "answered", True)
    assert short_code(registered).answer_pending() == 0
    assert len(answers(registered)) == 1


@pytest.mark.parametrize("text", [
    "",
    "x" * 1000,
    "٤" * 1000,
    "\x00\x01 4471234",
    "\ud83d 4471234",  # a lone surrogate a decoder left behind
    "\ud83d\ude00 4471234",  # an emoji as a surrogate pair
    "\u200f\u202e4471234\ufeff",
    "\ufffd\ufffd",
], ids=["empty", "1000-latin", "1000-arabic-digits", "nul", "lone-surrogate",
        "surrogate-pair", "bidi-controls", "replacement-chars"])
def test_any_text_is_stored_and_answered_without_raising(registered, text):
    received = sms(registered, text)

    assert short_code(registered).answer_pending() == 1
    [row] = inbound(registered)
    assert row.id == received.id and row.status == "answered"
    assert answers(registered)[0].body


def test_storing_keeps_the_text_but_what_no_database_accepts():
    assert inbound_store.storable("\ud83d\ude00 ٤٤٧١٢٣٤") == "😀 ٤٤٧١٢٣٤"
    assert inbound_store.storable("a\x00b\ud800c") == "a\ufffdb\ufffdc"


def test_over_long_keys_senders_and_recipients_are_stored(core):
    long_key = "k" * 500
    first = short_code(core).receive(sender="S" * 400, recipient="7" * 100, text="4471234",
                             dedupe_key=long_key)
    again = short_code(core).receive(sender="S" * 400, recipient="7" * 100, text="4471234",
                             dedupe_key=long_key)

    assert again.duplicate and again.id == first.id
    [row] = inbound(core)
    assert len(row.dedupe_key) <= 128 and len(row.sender) <= 254 and len(row.recipient) <= 64


# --- answering: the text -----------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "استعلام ٤٤٧١٢٣٤",
    "حالة 4471234",
    "٤٤٧-١٢٣٤",
    "٤٤٧١٢٣٤",
    "  رقم المعاملة: ٤٤٧١٢٣٤ .",
    "استعلام ۴۴۷۱۲۳۴",
    "4471234",
])
def test_arabic_and_digit_only_inquiries_get_the_status_in_arabic(registered, text):
    assert ask(registered, text) == status_text(registered, "ar")


@pytest.mark.parametrize("text", ["Status: 4471234", "status 4471234", "STATUS 447-1234",
                                  "txn #4471234"])
def test_latin_inquiries_get_the_status_in_english(registered, text):
    assert ask(registered, text) == status_text(registered, "en")


@pytest.mark.parametrize(("text", "lang"), [
    ("hello", "en"), ("what is my status", "en"), ("مرحبا", "ar"), ("", "ar"), ("12", "ar"),
    ("4471234 5550001", "ar"),
])
def test_anything_else_gets_the_short_help_text_in_the_senders_language(registered, text, lang):
    body = ask(registered, text)

    assert body == HELP[lang]


@pytest.mark.parametrize("status", ["registered", "referred", "assigned", "closed"])
def test_arabic_answers_for_common_statuses_fit_one_ucs2_segment(registered, status):
    advance(registered, status)

    body = ask(registered, "استعلام ٤٤٧١٢٣٤")

    assert NUMBER in body
    assert len(body.encode("utf-16-le")) // 2 <= 70, (len(body), body)


def test_an_issued_transactions_answer_gives_the_outgoing_number_and_agency(registered):
    advance(registered, "issued")

    body = ask(registered, "٤٤٧١٢٣٤")

    assert "98765" in body and "وزارة الداخلية" in body


# --- answering: who gets the status ------------------------------------------------------


@pytest.mark.parametrize("sender", ["0551234567", "966551234567", "+966551234567"])
def test_the_applicants_own_mobile_gets_the_status(registered, sender):
    body = ask(registered, "استعلام ٤٤٧١٢٣٤", sender)

    assert body == status_text(registered) and NUMBER in body


def test_sms_from_another_mobile_gets_the_same_text_as_an_unknown_number(registered):
    not_theirs = ask(registered, "استعلام ٤٤٧١٢٣٤", sender="0501239876")
    unknown = ask(registered, f"استعلام {UNKNOWN_NUMBER}", sender="0501239876")

    assert not_theirs == unknown == NOT_FOUND_AR
    assert NUMBER not in not_theirs


def test_a_sender_that_is_not_a_mobile_is_not_answered(registered):
    sms(registered, "4471234", sender="PROMO")

    assert short_code(registered).answer_pending() == 0
    assert answers(registered) == []
    assert inbound(registered)[0].status == "ignored"


# --- answering: the outbox and the message's state ---------------------------------------


def test_the_answer_is_queued_first_in_line_and_the_message_marked_answered(registered):
    received = sms(registered, "4471234", sender="966551234567")

    assert short_code(registered).answer_pending() == 1

    [reply] = answers(registered)
    assert (reply.cause_key, reply.kind, reply.audience, reply.channel) == (
        f"mo:{received.id}:answer", "answer", "citizen", "sms")
    assert (reply.recipient, reply.language, reply.priority, reply.status) == (
        f.MOBILE_E164, "ar", outbox.PRIORITY_ANSWER, "pending")
    [row] = inbound(registered)
    assert row.status == "answered" and row.answered_at is not None


def test_answering_again_sends_nothing_more(registered):
    sms(registered, "4471234")
    assert short_code(registered).answer_pending() == 1

    assert short_code(registered).answer_pending() == 0
    assert len(answers(registered)) == 1


def test_messages_are_answered_oldest_first_up_to_the_limit(registered):
    ids = [sms(registered, text).id for text in ("4471234", "hello", "٤٤٧١٢٣٤")]

    assert short_code(registered).answer_pending(limit=2) == 2
    assert [row.status for row in inbound(registered)] == ["answered", "answered", "received"]
    assert [a.cause_key for a in answers(registered)] == [f"mo:{i}:answer" for i in ids[:2]]

    assert short_code(registered).answer_pending(limit=2) == 1


def test_a_message_another_process_answered_meanwhile_is_not_answered_twice(registered):
    received = sms(registered, "4471234")
    inquire = registered.inquiries.inquire

    def inquire_while_another_process_answers(request):
        with registered.db.write.begin() as session:
            session.execute(update(InboundMessage).where(InboundMessage.id == received.id)
                            .values(status="answered"))
        return inquire(request)

    registered.inquiries.inquire = inquire_while_another_process_answers

    assert short_code(registered).answer_pending() == 0
    assert answers(registered) == []


def test_a_failed_outbox_write_leaves_the_message_to_answer_again(registered, monkeypatch):
    sms(registered, "4471234")

    def broken_enqueue(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "enqueue_many", broken_enqueue)
    assert short_code(registered).answer_pending() == 0
    assert inbound(registered)[0].status == "received"

    monkeypatch.undo()
    assert short_code(registered).answer_pending() == 1
    assert inbound(registered)[0].status == "answered"


def test_one_message_that_cannot_be_answered_does_not_hold_up_the_rest(registered):
    first = sms(registered, "4471234")
    sms(registered, "٤٤٧١٢٣٤")
    inquire = registered.inquiries.inquire

    def failing_for_the_first(request):
        if request.number_text == "4471234":
            raise RuntimeError("boom")
        return inquire(request)

    registered.inquiries.inquire = failing_for_the_first

    assert short_code(registered).answer_pending() == 1
    assert [row.status for row in inbound(registered)] == ["received", "answered"]
    assert all(a.cause_key != f"mo:{first.id}:answer" for a in answers(registered))


# --- the inquiry service's rate limit and log --------------------------------------------


def test_sms_inquiries_are_logged_on_the_sms_channel_without_the_number(registered):
    ask(registered, "4471234")
    ask(registered, "hello")

    registered.inquiry_log.flush()
    with registered.db.read() as session:
        rows = list(session.scalars(select(InquiryLog).order_by(InquiryLog.id)))
    assert [(r.channel, r.outcome, r.requester_kind) for r in rows] == [
        ("sms", "found", "mobile"), ("sms", "invalid", "mobile")]
    assert all("551234567" not in r.requester_masked for r in rows)


def test_repeated_failures_from_one_mobile_get_the_rate_limited_text(registered):
    limit = registered.config.inquiry.max_failures
    for attempt in range(limit):
        sms(registered, f"{UNKNOWN_NUMBER[:-1]}{attempt % 10}")
    assert short_code(registered).answer_pending() == limit

    body = ask(registered, "4471234")

    assert body == RATE_LIMITED_AR
    assert ask(registered, "4471234", sender=f.OTHER_MOBILE) == NOT_FOUND_AR


def test_a_flooding_mobile_is_told_it_is_limited_once_per_window_not_per_message(
        registered, clock):
    short_code(registered).limits.notices._clock = clock
    limit = registered.config.inquiry.max_failures
    for attempt in range(limit):
        sms(registered, f"{UNKNOWN_NUMBER[:-1]}{attempt % 10}")
    assert short_code(registered).answer_pending() == limit
    told = RATE_LIMITED_AR

    assert ask(registered, "4471234") == told
    for attempt in range(5):
        sms(registered, f"4471234 {attempt}")
    assert short_code(registered).answer_pending() == 0  # no SMS for the flood
    assert [m.status for m in inbound(registered)][-5:] == ["ignored"] * 5
    assert sum(a.body == told for a in answers(registered)) == 1

    clock.now += registered.config.inquiry.failure_window_seconds + 1
    sms(registered, "4471234 again")
    assert short_code(registered).answer_pending() == 1  # a new window: told once more


def test_a_mobile_that_asks_over_and_over_gets_only_its_budget_of_answers(
        registered, clock):
    # A phone (or a script) that keeps sending its own transaction number, say an
    # auto-responder repeating the last message it got, is answered every time: found
    # answers are not failures, so they are budgeted per number.
    short_code(registered).limits.answers._clock = clock
    budget = registered.config.sms.max_answers_per_sender
    expected = status_text(registered)
    for _ in range(budget):
        assert ask(registered, "4471234") == expected

    for _ in range(3):
        sms(registered, "4471234")
    assert short_code(registered).answer_pending() == 0
    assert [m.status for m in inbound(registered)][-3:] == ["ignored"] * 3
    assert len(answers(registered)) == budget
    assert ask(registered, "4471234", sender=f.OTHER_MOBILE) == NOT_FOUND_AR

    clock.now += registered.config.sms.answers_window_seconds + 1
    assert ask(registered, "4471234") == expected  # a new window


def test_the_fast_path_keeps_to_the_budget_of_answers_too(registered):
    budget = registered.config.sms.max_answers_per_sender
    burst = [Inbound(f.MOBILE, SHORT_CODE, "4471234", f"echo-{k}") for k in range(budget + 4)]
    short_code(registered).receive_and_answer(burst, claim_limit=5)
    assert len(answers(registered)) == budget
    assert [m.status for m in inbound(registered)].count("ignored") == 4


def test_the_fast_path_tells_a_flooding_mobile_once_too(registered):
    limit = registered.config.inquiry.max_failures
    burst = [Inbound(f.MOBILE, SHORT_CODE, f"{UNKNOWN_NUMBER[:-1]}{k % 10}", f"flood-{k}")
             for k in range(limit + 6)]
    claimed = short_code(registered).receive_and_answer(burst, claim_limit=5)
    told = RATE_LIMITED_AR
    bodies = [a.body for a in answers(registered)]
    assert len(bodies) == limit + 1 and bodies.count(told) == 1
    assert len(claimed) == 5 and all(c.kind == "answer" for c in claimed)
    assert [m.status for m in inbound(registered)].count("ignored") == 5


def test_a_redelivery_across_the_adapters_time_window_is_stored_once(registered):
    first = Inbound(f.MOBILE, SHORT_CODE, "4471234", "smpp:x:abc:100")
    again = Inbound(f.MOBILE, SHORT_CODE, "4471234", "smpp:x:abc:101",
                    earlier_key="smpp:x:abc:100")
    short_code(registered).receive_and_answer([first], claim_limit=1)
    assert short_code(registered).receive_and_answer([again], claim_limit=1) == []
    assert len(inbound(registered)) == 1 and len(answers(registered)) == 1
