"""Second review of the e-mail channel (issue 7), against the real peers: Dovecot holds
the mailbox, aiosmtpd takes (or refuses) the replies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.email.sender import Backoff
from core.db import utcnow
from tests import factories as f
from tests.channels.email import mails
from tests.channels.email.test_channel import NUMBER, email_rows, run_once


@pytest.fixture
def registered(core):
    core.record_event(f.registered(NUMBER))
    return core


# --- 1: a message refused after DATA holds up no other ------------------------------------

def test_a_message_refused_after_data_for_good_fails_and_the_others_are_sent(
        registered, channel, dovecot, folder, smtp):
    smtp.refuse_data_for[f.EMAIL] = "554 5.6.0 Message content rejected"
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))  # to the applicant: refused
    dovecot.append(folder, mails.plain(f"status {NUMBER}", sender="one@else.example"))
    dovecot.append(folder, mails.plain(f"status {NUMBER}", sender="two@else.example"))

    run_once(channel)

    refused, one, two = email_rows(registered)
    assert refused.status == "failed" and "554 5.6.0 Message content rejected" in \
        refused.last_error
    assert (one.status, two.status) == ("sent", "sent")
    assert sorted(m["To"] for m in smtp.messages()) == ["one@else.example",
                                                        "two@else.example"]


def test_a_message_refused_after_data_for_a_while_uses_up_its_attempts(
        registered, channel, dovecot, folder, smtp):
    channel.sender.backoff = Backoff(max_attempts=2)
    smtp.refuse_data_for[f.EMAIL] = "451 4.7.1 Try again later"
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))
    dovecot.append(folder, mails.plain(f"status {NUMBER}", sender="one@else.example"))
    run_once(channel)
    refused, other = email_rows(registered)
    assert (refused.status, other.status) == ("pending", "sent")
    assert "451" in refused.last_error

    dovecot.append(folder, mails.plain(f"status {NUMBER}", sender="two@else.example"))
    channel.poll()
    channel.sender.send_due(now=utcnow() + timedelta(hours=2))

    refused, _, two = email_rows(registered)
    assert refused.status == "failed" and "451" in refused.last_error
    assert two.status == "sent"


def test_a_message_refused_alone_counts_its_attempts_but_is_not_failed_by_one_5xx(
        registered, channel, dovecot, folder, smtp):
    channel.sender.backoff = Backoff(max_attempts=3)
    smtp.refuse_data_for[f.EMAIL] = "554 5.6.0 Message content rejected"
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))

    run_once(channel)
    [row] = email_rows(registered)
    assert row.status == "pending" and "554" in row.last_error
    later = utcnow()
    for _ in range(2):
        later += timedelta(hours=2)
        channel.sender.send_due(now=later)

    [row] = email_rows(registered)
    assert row.status == "failed" and row.attempts == 3


# --- 2: a mail that cannot be moved aside does not stall the mailbox ----------------------

def _unreadable_then_answerable(dovecot, folder) -> None:
    dovecot.append(folder, mails.malformed())
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))


def test_a_mail_that_cannot_be_moved_aside_is_marked_read_and_the_mailbox_goes_on(
        registered, channel, email_settings, dovecot, folder, smtp, caplog):
    email_settings.imap.failed_folder = "~refused"  # Dovecot: "Invalid mailbox name"
    _unreadable_then_answerable(dovecot, folder)

    first = run_once(channel)
    dovecot.append(folder, mails.plain(f"again {NUMBER}", sender="one@else.example"))
    second = run_once(channel)

    assert (first.marked_unreadable, first.stored, second.stored) == (1, 1, 1)
    assert second.marked_unreadable == 0  # not read again
    assert len(smtp.messages()) == 2
    [(_, unreadable, raw), *_] = dovecot.messages(folder)
    assert b"garbage" in raw
    assert b"\\Seen" in unreadable and b"$GatewayUnreadable" in unreadable
    assert any("could not be moved to ~refused" in r.getMessage() and r.levelname == "ERROR"
               for r in caplog.records)


def test_the_folder_for_unreadable_mail_is_named_in_the_servers_namespace(
        registered, core, email_settings, smtp):
    from channels.email.channel import EmailChannel
    from tests.peers.dovecot_peer import DovecotPeer

    with DovecotPeer(namespace=("INBOX.", ".")) as courier_like:
        _unreadable_then_answerable(courier_like, "INBOX")
        email_settings.imap = email_settings.imap.model_copy(update={
            "port": courier_like.port, "folder": "INBOX", "failed_folder": "Gateway/Unreadable"})

        report = run_once(EmailChannel(core, email_settings))

        [(_, _, moved)] = courier_like.messages("INBOX.Gateway.Unreadable")
    assert (report.moved_aside, report.stored) == (1, 1)
    assert b"garbage" in moved
    assert len(smtp.messages()) == 1
