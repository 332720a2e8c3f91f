"""E-mail inquiries: stored with their reply queued in one transaction,
answered once per Message-ID, the status only to the applicant's address or ID."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import select

from channels.email import inquiry
from channels.email.inquiry import EmailRules, InboundEmail
from core.messaging.mail import MailStore
from core.messaging.models import EmailExchange, InboundMessage, Notification
from tests import factories as f
from tests.channels.email import mails

NUMBER = "4471234"
OTHERS = "5550001"
UNKNOWN = "7654321"
RULES = EmailRules(own_addresses=frozenset({"inquiries@emirate.gov.sa"}),
                   max_replies_per_hour=5, authserv_ids=frozenset({mails.OUR_SERVER}))
_ids = count(1)
FIXED_SUBJECT = "Re: استعلام عن معاملة / Transaction inquiry"


@pytest.fixture
def registered(core):
    core.record_event(f.registered(NUMBER))
    core.record_event(f.registered(OTHERS, national_id=f.OTHER_NATIONAL_ID,
                                   mobile=f.OTHER_MOBILE, email="other@example.com"))
    return core


def mail(text: str, sender: str = f.EMAIL, subject: str = "استعلام", **kwargs) -> InboundEmail:
    """A mail our server authenticated (unless ``trace`` says otherwise)."""
    kwargs.setdefault("message_id", f"<m{next(_ids)}@mail.example.com>")
    kwargs.setdefault("trace", (("authentication-results",
                                 mails.passed(sender.replace("\x00", ""))),
                                ("received", mails.received())))
    return InboundEmail(sender=sender, subject=subject, text=text, **kwargs)


def replies(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification)
                                    .where(Notification.channel == "email")
                                    .order_by(Notification.id)))


def ask(core, text: str, sender: str = f.EMAIL) -> str:
    before = len(replies(core))
    inquiry.receive(core, mail(text, sender), RULES)
    [reply] = replies(core)[before:]
    return reply.body


def test_the_applicants_address_gets_the_status_arabic_then_english(registered):
    body = ask(registered, f"ما حالة المعاملة {NUMBER}؟")

    assert "مسجلة وقيد الإجراء" in body and "Registered and in progress" in body
    assert body.index("المعاملة رقم " + NUMBER) < body.index("Transaction " + NUMBER)
    assert "No transaction was found" not in body


def test_a_stranger_gets_the_same_words_as_for_an_unknown_number(registered):
    stranger = ask(registered, f"status {NUMBER}", sender="someone@else.example")
    unknown = ask(registered, f"status {UNKNOWN}", sender="someone@else.example")

    assert stranger == unknown.replace(UNKNOWN, NUMBER)
    assert "No transaction was found" in stranger


def test_the_applicants_national_id_from_another_address_gets_the_status(registered):
    body = ask(registered, f"رقم المعاملة {NUMBER}\nرقم الهوية {f.NATIONAL_ID}",
               sender="family@else.example")

    assert "No transaction was found" not in body
    with registered.db.read() as session:
        stored = session.scalars(select(InboundMessage.text)).one()
    assert f.NATIONAL_ID not in stored and NUMBER in stored


def test_a_national_id_in_the_subject_is_not_kept_for_the_reply(registered):
    inquiry.receive(registered, mail(NUMBER, subject=f"هويتي {f.NATIONAL_ID}"), RULES)

    [reply] = replies(registered)
    envelope = MailStore(registered.db).compositions([reply.id])[reply.id].envelope
    assert envelope.subject == FIXED_SUBJECT  # the incoming subject is not echoed at all


def test_someone_elses_national_id_does_not_open_a_transaction(registered):
    body = ask(registered, f"{NUMBER} {f.OTHER_NATIONAL_ID}", sender="family@else.example")

    assert "No transaction was found" in body


def test_several_numbers_get_one_reply_covering_each(registered):
    body = ask(registered, f"{NUMBER}\n{UNKNOWN}\n{OTHERS}")

    assert len(replies(registered)) == 1
    for number in (NUMBER, UNKNOWN, OTHERS):
        assert number in body


def test_the_same_message_id_is_answered_once(registered):
    first = mail(NUMBER)

    stored = inquiry.receive(registered, first, RULES)
    again = inquiry.receive(registered, first, RULES)

    assert again.duplicate and again.id == stored.id
    assert len(replies(registered)) == 1


def test_an_auto_reply_is_stored_and_not_answered(registered):
    received = inquiry.receive(
        registered, mail(NUMBER, headers={"auto-submitted": "auto-replied"}), RULES)

    assert received.status == "ignored"
    assert replies(registered) == []
    with registered.db.read() as session:
        assert session.get(EmailExchange, received.id).note == "auto-submitted: auto-replied"


def test_one_address_gets_at_most_the_hourly_replies(registered):
    for _ in range(RULES.max_replies_per_hour + 2):
        inquiry.receive(registered, mail(UNKNOWN, sender="loop@else.example"), RULES)

    assert len(replies(registered)) == RULES.max_replies_per_hour


def test_the_reply_is_threaded_under_the_citizens_mail(registered):
    received = inquiry.receive(
        registered, mail(NUMBER, subject="حالة معاملة", message_id="<abc@mail.example.com>",
                         references="<old@mail.example.com>"), RULES)
    [reply] = replies(registered)

    envelope = MailStore(registered.db).compositions([reply.id])[reply.id].envelope

    assert received.status == "answered"
    assert envelope.subject == FIXED_SUBJECT
    assert envelope.in_reply_to == "<abc@mail.example.com>"
    assert envelope.references == "<old@mail.example.com> <abc@mail.example.com>"
    assert [s.lang for s in envelope.sections] == ["ar", "en"]


def test_a_mail_without_a_number_is_told_what_to_write(registered):
    assert "Write your transaction number" in ask(registered, "مرحبا")


def test_an_oversized_mail_gets_a_refusal_and_no_lookup(registered):
    inquiry.receive(registered, mail("", oversized=True), RULES)

    [reply] = replies(registered)
    assert "too large" in reply.body


# --- review findings (issue 7) -----------------------------------------------------------

def test_nul_characters_and_long_values_are_stored_cleaned_not_refused(registered):
    """PostgreSQL refuses a NUL in text (DataError): every stored field is cleaned."""
    nul = mail(f"status {NUMBER}\x00", sender=f"{f.EMAIL}\x00",
               subject="استعلام\x00" + "س" * 5_000, message_id="<nul\x00@mail.example.com>",
               references="<a\x00@b> " * 2_000, recipient="inquiries\x00@emirate.gov.sa")

    received = inquiry.receive(registered, nul, RULES)

    assert received.status == "answered"
    with registered.db.read() as session:
        message = session.get(InboundMessage, received.id)
        exchange = session.scalars(select(EmailExchange)
                                   .where(EmailExchange.inbound_id == received.id)).one()
        stored = [message.sender, message.recipient, message.text, exchange.message_id,
                  exchange.reply_subject, exchange.references]
    assert not any("\x00" in value for value in stored)
    assert message.sender == f.EMAIL
    assert len(exchange.reply_subject) <= 998 and len(exchange.references) <= 4 * 998
    [reply] = replies(registered)
    assert reply.recipient == f.EMAIL


def _age(core, sender: str, by: timedelta) -> None:
    with core.db.write.begin() as session:
        for message in session.scalars(select(InboundMessage)
                                       .where(InboundMessage.sender == sender)):
            message.received_at -= by


def test_an_address_that_reaches_the_limit_gets_nothing_more_for_a_day(registered):
    loop = "loop@else.example"
    for _ in range(RULES.max_replies_per_hour + 1):
        inquiry.receive(registered, mail(UNKNOWN, sender=loop), RULES)
    assert len(replies(registered)) == RULES.max_replies_per_hour

    _age(registered, loop, timedelta(hours=2))  # the hourly window has passed
    silenced = inquiry.receive(registered, mail(UNKNOWN, sender=loop), RULES)

    assert silenced.status == "ignored"
    assert len(replies(registered)) == RULES.max_replies_per_hour
    with registered.db.read() as session:
        assert session.get(EmailExchange, silenced.id).note == inquiry.SILENCED

    _age(registered, loop, timedelta(days=1))  # a day after the limit was reached
    assert inquiry.receive(registered, mail(UNKNOWN, sender=loop),
                                 RULES).status == "answered"
