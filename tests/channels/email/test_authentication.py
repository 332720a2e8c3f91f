"""The responder aimed at someone else, as an attacker tries it: a mail forging the From
address gets no reply at all; only a From our receiving server authenticated
(Authentication-Results, RFC 8601) is answered, under a fixed subject.

Against the real peers: Dovecot holds the mailbox (mail delivered by IMAP APPEND, as our
mail server would deliver it, its trace fields on top), aiosmtpd takes whatever leaves.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from core.messaging.models import EmailExchange
from tests import factories as f
from tests.channels.email import mails
from tests.channels.email.mails import OUR_SERVER, received, stamp
from tests.channels.email.test_channel import NUMBER, deliver, registered, run_once, text_of

__all__ = ["registered"]  # the fixture, used by name

FIXED_SUBJECT = "Re: استعلام عن معاملة / Transaction inquiry"
AR = "Authentication-Results"
VICTIM = f.EMAIL  # the applicant's address on file: example.com
ATTACKER_SUBJECT = "Your account is suspended - log in at evil.example/verify"


def forged(*fields: tuple[str, str], body: str = f"status {NUMBER}",
           subject: str = ATTACKER_SUBJECT) -> bytes:
    """A mail claiming to be from the victim, with ``fields`` on top as delivered."""
    raw = mails.plain(body, sender=VICTIM, subject=subject, authenticated=False)
    return stamp(raw, *fields)


# Mails whose From our server did not vouch for, each as an attacker would try it.
FORGERIES = {
    "no authentication results": lambda: forged(("Received", received())),
    "a foreign server's pass": lambda: forged(
        (AR, "mx.attacker.example; dmarc=pass header.from=example.com"),
        ("Received", received())),
    "our server's pass for another domain": lambda: forged(
        (AR, f"{OUR_SERVER}; spf=pass smtp.mailfrom=attacker.example; "
             "dmarc=pass header.from=attacker.example"), ("Received", received())),
    "our server's fail": lambda: forged(
        (AR, f"{OUR_SERVER}; spf=softfail smtp.mailfrom=example.com; "
             "dmarc=fail (p=reject) header.from=example.com"), ("Received", received())),
    "an spf pass not aligned": lambda: forged(
        (AR, f"{OUR_SERVER}; spf=pass smtp.mailfrom=bounces@attacker.example; "
             "dmarc=none header.from=example.com"), ("Received", received())),
    # The attacker's own A-R naming our server, in the mail they sent: below our Received.
    "a pass written by the sender lower down": lambda: forged(
        (AR, f"{OUR_SERVER}; dmarc=none header.from=example.com"), ("Received", received()),
        (AR, f"{OUR_SERVER}; dmarc=pass header.from=example.com; spf=pass "
             "smtp.mailfrom=example.com")),
    # Ours fails; the attacker's pass right under it (a server adding A-R below Received).
    "a pass next to our fail": lambda: forged(
        ("Received", received()),
        (AR, f"{OUR_SERVER}; dmarc=fail header.from=example.com"),
        (AR, f"{OUR_SERVER}; dmarc=pass header.from=example.com")),
}


def notes(core) -> list[str | None]:
    with core.db.read() as session:
        return list(session.scalars(select(EmailExchange.note).order_by(EmailExchange.inbound_id)))


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_from_gets_no_reply_at_all(registered, channel, dovecot, folder, smtp,
                                            forgery, caplog):
    caplog.set_level(logging.INFO, "channels.email.inquiry")
    deliver(dovecot, folder, FORGERIES[forgery]())

    report = run_once(channel)

    assert report.stored == 1  # read, stored, marked done: not left to come back
    assert smtp.messages() == []
    [note] = notes(registered)
    assert note.startswith("not authenticated")
    assert "gets no reply: not authenticated" in caplog.text


def test_an_oversized_forged_mail_gets_no_refusal_either(registered, channel, email_settings,
                                                         dovecot, folder, smtp):
    big = forged(("Received", received()),
                 body="x" * (email_settings.max_message_bytes + 1))
    deliver(dovecot, folder, big)
    run_once(channel)
    assert smtp.messages() == []


@pytest.mark.parametrize("results", [
    "dmarc=pass (p=reject dis=none) header.from=example.com",
    "spf=pass smtp.mailfrom=bounce@mail.example.com; dmarc=none header.from=example.com",
    "SPF = Pass (sender authorized) smtp.mailfrom = \"applicant@example.com\"",
])
def test_a_from_our_server_authenticated_is_answered_under_the_fixed_subject(
        registered, channel, dovecot, folder, smtp, results):
    raw = mails.plain(f"status {NUMBER}", sender=VICTIM, subject=ATTACKER_SUBJECT,
                      message_id="<q@mail.example.com>", authenticated=False)
    deliver(dovecot, folder, stamp(raw, (AR, f"{OUR_SERVER.upper()}; {results}"),
                                   ("Received", received())))

    run_once(channel)

    [reply] = smtp.messages()
    assert reply["To"] == VICTIM and reply["Subject"] == FIXED_SUBJECT
    assert reply["In-Reply-To"] == "<q@mail.example.com>"  # threaded all the same
    assert f"Transaction {NUMBER}" in text_of(reply)
    assert notes(registered) == [None]


def test_an_attacker_supplied_subject_never_leaves(registered, channel, dovecot, folder,
                                                   smtp):
    arabic = "تم إيقاف حسابك، ادخل إلى evil.example"
    for subject in (ATTACKER_SUBJECT, arabic, "Re: " + ATTACKER_SUBJECT):
        deliver(dovecot, folder, *(make() for make in FORGERIES.values()))
        # And one the victim's own server authenticated (their subject, their mailbox).
        deliver(dovecot, folder, mails.plain(f"status {NUMBER}", sender=VICTIM,
                                             subject=subject))
        deliver(dovecot, folder, mails.plain("hello", sender=VICTIM, subject=subject,
                                             Auto_Submitted="no"))
    run_once(channel)

    sent = smtp.messages()
    assert len(sent) == 6  # the authenticated mails only
    for message in sent:
        whole = message.as_string() + "".join(
            part.get_content() for part in message.walk() if part.get_content_maintype()
            == "text")
        for marker in ("evil.example", "suspended", "إيقاف"):
            assert marker not in whole and marker not in str(message["Subject"])


def test_forged_mail_does_not_silence_the_victims_own_address(registered, channel, dovecot,
                                                              folder, smtp):
    # More forged mails than the hourly replies and the day of silence would allow.
    for _ in range(channel.rules.max_replies_per_hour + 3):
        deliver(dovecot, folder, FORGERIES["no authentication results"]())
    deliver(dovecot, folder, mails.plain(f"status {NUMBER}", sender=VICTIM))
    run_once(channel)
    [reply] = smtp.messages()  # the victim's own mail, answered
    assert reply["To"] == VICTIM and f"Transaction {NUMBER}" in text_of(reply)
