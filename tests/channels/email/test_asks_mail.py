"""A question about a transaction by e-mail, against the real peers (Dovecot holds the
mailbox, aiosmtpd takes what we send): the status reply goes at once and says a person
will answer, with the tracking number; the question reaches the department holding the
transaction, is answered there, and the answer arrives in the same thread. A stranger
asking about someone else's transaction files an ordinary enquiry and learns nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.messaging.models import EmailExchange
from tests import factories as f
from tests.channels.email import mails
from tests.channels.email.test_channel import deliver, run_once, text_of
from tests.core.voice.conftest import (
    EMIRATE,
    build_world,
    cases,
    hold_transaction,
    rights_coordinator,
    rights_id,
    transaction_id,
)

NUMBER = "4471234"
STRANGER = "stranger@else.example"
QUESTION = ("السلام عليكم\nمعاملتي رقم 4471234 متأخرة منذ شهر، هل ينقصها أي مستند؟\n\n"
            "-- \nمحمد")


@pytest.fixture
def world(core):
    world = build_world(core)
    hold_transaction(core, NUMBER)
    return world


@pytest.fixture
def channel(core, email_settings):
    from channels.email.channel import EmailChannel

    return EmailChannel(core, email_settings)


def test_a_question_reaches_the_department_and_its_answer_the_same_thread(
        world, core, channel, dovecot, folder, smtp):
    first_id = "<question-1@applicant.example>"
    raw = mails.plain(QUESTION, sender=f.EMAIL, subject="استفسار عن معاملة",
                      message_id=first_id)
    deliver(dovecot, folder, raw)
    run_once(channel)

    # The status reply went at once, in the thread, and says a person will answer.
    [case] = cases(core)
    [reply] = smtp.messages()
    assert reply["To"] == f.EMAIL and reply["In-Reply-To"] == first_id
    body = text_of(reply)
    assert NUMBER in body and "إدارة الحقوق" in body  # the status, as before
    assert case.tracking in body and "a person will answer it in this thread" in body
    # Filed as an enquiry about the transaction, held by the department that holds it.
    assert (case.case_type, case.channel, case.citizen_email) == ("enquiry", "email", f.EMAIL)
    assert (case.transaction_id, case.department_id) == \
        (transaction_id(core, NUMBER), rights_id(core))
    assert case.agency_id == world.agencies[EMIRATE]
    assert "متأخرة منذ شهر" in case.text and "محمد" not in case.text  # no signature
    with core.db.read() as session:
        notes = list(session.scalars(select(EmailExchange.note)))
    assert notes == [f"enquiry: filed {case.tracking}"]

    # Fetched again (a crash before it was marked read): filed once, answered once.
    deliver(dovecot, folder, raw)
    run_once(channel)
    assert len(cases(core)) == 1 and len(smtp.messages()) == 1

    # It waits in the department coordinator's inbox; they answer it there, and the
    # answer arrives in the same thread.
    coordinator = rights_coordinator(world)
    inbox = core.voice.inbox(coordinator)
    assert case.tracking in {row.tracking for row in inbox.page.rows}
    core.voice.act(coordinator, case.tracking, {"action": "answer",
                                                "text": "لا ينقصها شيء، ستصدر الأحد."})
    channel.sender.send_due()
    [_, answer] = smtp.messages()
    assert answer["To"] == f.EMAIL
    assert answer["In-Reply-To"] == first_id and answer["References"] == first_id
    assert "لا ينقصها شيء، ستصدر الأحد." in text_of(answer)

    # The citizen rates the answer in the thread (mail to the inquiry address).
    deliver(dovecot, folder, mails.plain("5\n\n> لا ينقصها شيء", sender=f.EMAIL,
                                         subject="Re: Transaction inquiry",
                                         In_Reply_To=answer["Message-ID"],
                                         References=f"{first_id} {answer['Message-ID']}"))
    run_once(channel)
    assert cases(core)[0].rating == 5
    [_, _, rated] = smtp.messages()
    assert rated["In-Reply-To"] != first_id and case.tracking in text_of(rated)


def test_a_status_request_files_nothing(world, core, channel, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.plain("السلام عليكم، أرجو إفادتي بحالة المعاملة رقم "
                                         "4471234 وشكراً", sender=f.EMAIL))
    run_once(channel)
    assert cases(core) == []
    [reply] = smtp.messages()
    assert NUMBER in text_of(reply) and "a person will answer" not in text_of(reply)


def test_a_stranger_files_an_unlinked_enquiry_and_learns_nothing(
        world, core, channel, dovecot, folder, smtp):
    deliver(dovecot, folder,
            mails.plain(QUESTION, sender=STRANGER, message_id="<s-1@else.example>"),
            mails.plain(QUESTION.replace(NUMBER, "9990001"), sender=STRANGER,
                        message_id="<s-2@else.example>"))
    run_once(channel)

    theirs, unknown = cases(core)
    for case in (theirs, unknown):
        assert (case.case_type, case.transaction_id, case.department_id) == \
            ("enquiry", None, None)
        assert case.agency_id == world.agencies[EMIRATE]
    first, second = smtp.messages()
    # Someone else's number and no number at all read alike, byte for byte, but for the
    # tracking numbers and the number asked about.
    scrub = {theirs.tracking: "T", unknown.tracking: "T", NUMBER: "N", "9990001": "N"}

    def scrubbed(reply) -> str:
        text = text_of(reply)
        for old, new in scrub.items():
            text = text.replace(old, new)
        return text

    assert scrubbed(first) == scrubbed(second)
    assert "إدارة الحقوق" not in text_of(first) and "Rights" not in text_of(first)


def test_a_mail_our_server_did_not_authenticate_files_nothing_and_gets_nothing(
        world, core, channel, dovecot, folder, smtp):
    deliver(dovecot, folder, mails.plain(QUESTION, sender=f.EMAIL, authenticated=False))
    run_once(channel)
    assert cases(core) == [] and smtp.messages() == []


def test_over_the_filing_limits_the_status_still_goes_and_says_so(
        world, core, channel, dovecot, folder, smtp):
    core.config.voice.max_cases_per_citizen = 1
    core.voice.__dict__.pop("limits", None)  # read again with the lower limit
    deliver(dovecot, folder, mails.plain(QUESTION, sender=f.EMAIL),
            mails.plain(QUESTION.replace("مستند", "توقيع"), sender=f.EMAIL))
    run_once(channel)
    assert len(cases(core)) == 1
    first, second = smtp.messages()
    assert "a person will answer it" in text_of(first)
    assert NUMBER in text_of(second) and "could not be passed on now" in text_of(second)


def test_an_enquiry_to_the_voice_address_naming_a_transaction_is_about_it(
        world, core, email_settings, dovecot, folder, smtp):
    from channels.email.channel import EmailChannel

    email_settings.voice_address = "voice@emirate.gov.sa"
    channel = EmailChannel(core, email_settings)
    deliver(dovecot, folder, mails.plain(
        "معاملتي 4471234 متأخرة، هل ينقصها مستند؟", sender="someone@else.example",
        to="voice@emirate.gov.sa", subject=f"استفسار {f.NATIONAL_ID}"))
    run_once(channel)
    [case] = cases(core)
    # Not the applicant's address: the national ID the mail carries proves it (masked).
    assert (case.case_type, case.department_id) == ("enquiry", rights_id(core))
    assert case.transaction_id == transaction_id(core, NUMBER) and f.NATIONAL_ID not in case.text
