"""Review findings of the e-mail channel (issue 7), against the real peers: Dovecot holds
the mailbox, aiosmtpd takes (or refuses) the replies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DataError, OperationalError

from channels.email import channel as channel_module
from channels.email import voice
from channels.email.channel import LEASE, EmailChannel
from channels.email.mailbox import MailboxUnavailable
from core.messaging.mailbox import MailboxCursors
from core.messaging.retry import RetrySchedule
from core.platform import leases
from core.platform.db import utcnow
from core.platform.models import Lease
from tests import factories as f
from tests.channels.email import mails
from tests.channels.email.test_channel import NUMBER, email_rows, flags, run_once, text_of


@pytest.fixture
def registered(core):
    core.record_event(f.registered(NUMBER))
    return core


# --- 2: a value the database refuses moves the mail aside ---------------------------------

def _refusing(error):
    def receive(core, mail, rules):
        if "refused" in mail.text:
            raise error
        return real_receive(core, mail, rules)
    real_receive = voice.receive_mail
    return receive


def test_a_mail_the_database_refuses_is_moved_aside_and_the_next_is_answered(
        registered, channel, email_settings, dovecot, folder, smtp, monkeypatch):
    # What PostgreSQL raises for a NUL in a text column; stored values are cleaned now
    # (tests/channels/email/test_inquiry.py), and any such refusal left must not block the box.
    monkeypatch.setattr(voice, "receive_mail", _refusing(
        DataError("INSERT ...", {}, Exception("invalid byte sequence 0x00"))))
    dovecot.append(folder, mails.plain(f"refused {NUMBER}"))
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))

    report = run_once(channel)

    assert (report.moved_aside, report.stored) == (1, 1)
    assert len(smtp.messages()) == 1
    [(_, _, moved)] = dovecot.messages(email_settings.imap.failed_folder)
    assert b"refused" in moved


def test_the_database_away_leaves_the_mail_unread_for_the_next_poll(
        registered, channel, email_settings, dovecot, folder, smtp, monkeypatch):
    monkeypatch.setattr(voice, "receive_mail", _refusing(
        OperationalError("INSERT ...", {}, Exception("server closed the connection"))))
    dovecot.append(folder, mails.plain(f"refused {NUMBER}"))

    with pytest.raises(OperationalError):
        channel.poll()

    assert len(dovecot.messages(folder)) == 1
    assert b"\\Seen" not in flags(dovecot, folder)[0]


# --- 3: reading only the unread, a poll that stops early saves no cursor -------------------

def test_a_poll_of_the_unread_that_stops_early_never_answers_read_mail(
        registered, channel, core, dovecot, folder, smtp, monkeypatch):
    dovecot.append(folder, mails.plain(f"unread one {NUMBER}"))
    dovecot.append(folder, mails.plain(f"read already {NUMBER}"), flags="\\Seen")
    dovecot.append(folder, mails.plain(f"unread two {NUMBER}"))
    monkeypatch.setattr(channel_module, "_FETCH_BATCH", 1)
    handle = channel._handle_chunk

    def handle_then_stop(*args):
        done = handle(*args)
        channel._stopping.set()  # the poll stops after its first chunk
        return done

    monkeypatch.setattr(channel, "_handle_chunk", handle_then_stop)
    first = channel.poll()
    monkeypatch.setattr(channel, "_handle_chunk", handle)
    channel._stopping.clear()
    second = run_once(channel)

    assert (first.stored, second.stored) == (1, 1)
    texts = [text_of(m) for m in smtp.messages()]
    assert len(texts) == 2
    assert MailboxCursors(core.db).get(_key(channel)).last_uid == 3


def _key(channel: EmailChannel) -> str:
    with channel.core.db.read() as session:
        from core.messaging.models import MailboxCursor
        return session.scalars(select(MailboxCursor.mailbox)).one()


# --- 4: a poller that cannot read the mailbox lets another take over ----------------------

def test_a_poller_that_cannot_open_the_mailbox_releases_the_lease(
        registered, core, email_settings, dovecot, smtp):
    email_settings.imap.folder = "No-Such-Folder"  # Dovecot refuses to select it
    failing = EmailChannel(core, email_settings)

    with pytest.raises(MailboxUnavailable):
        failing.poll()

    assert LEASE not in leases.current(core.db)
    email_settings.imap.folder = "INBOX"
    assert not EmailChannel(core, email_settings).poll().held_by_other


def test_healthz_flags_a_poller_whose_last_poll_is_old(registered, settings, channel,
                                                       dovecot, folder, smtp):
    from gateway.app import create_app

    settings.email.enabled = True
    channel.poll()
    app = create_app(settings, registered)
    assert app.test_client().get("/healthz").get_json()["email"]["stale"] is False
    long_ago = (utcnow() - timedelta(seconds=4 * settings.email.imap.poll_seconds + 60))
    with registered.db.write.begin() as session:
        session.execute(update(Lease).where(Lease.name == LEASE)
                        .values(state={"polled_at": long_ago.isoformat()}))

    body = app.test_client().get("/healthz").get_json()

    assert body["email"]["stale"] is True


# --- 5: the account refused is an outage, not the citizens' fault --------------------------

@pytest.mark.parametrize(("where", "reply"), [
    ("refuse_sender", "550 5.7.60 SendAs permission denied"),
    ("refuse_data", "554 5.2.2 Daily sending quota exceeded"),
])
def test_a_5xx_for_our_account_retries_every_reply_and_fails_none(
        registered, channel, dovecot, folder, smtp, where, reply):
    setattr(smtp, where, reply)
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))
    dovecot.append(folder, mails.plain(f"status {NUMBER}", sender="other@else.example"))

    run_once(channel)

    rows = email_rows(registered)
    assert [row.status for row in rows] == ["pending", "pending"]
    assert reply.split()[0] in rows[0].last_error
    setattr(smtp, where, None)
    channel.sender.send_due(now=utcnow() + timedelta(hours=2))
    assert [row.status for row in email_rows(registered)] == ["sent", "sent"]


def test_an_smtp_outage_uses_up_no_attempts(registered, channel, dovecot, folder, smtp):
    channel.sender.backoff = RetrySchedule(max_attempts=2)
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))
    smtp.stop()
    channel.poll()
    later = utcnow()
    for _ in range(5):  # five outages in a row, each after the retry is due
        later += timedelta(hours=2)
        channel.sender.send_due(now=later)

    [row] = email_rows(registered)
    assert row.status == "pending" and row.attempts == 5
    smtp.start()
    channel.sender.send_due(now=later + timedelta(hours=2))
    assert [row.status for row in email_rows(registered)] == ["sent"]


def test_a_recipient_refused_for_a_while_still_gives_up_after_its_attempts(
        registered, channel, dovecot, folder, smtp):
    channel.sender.backoff = RetrySchedule(max_attempts=2)
    smtp.refuse[f.EMAIL] = "450 4.2.1 Mailbox busy"
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))
    run_once(channel)
    channel.sender.send_due(now=utcnow() + timedelta(hours=2))

    [row] = email_rows(registered)
    assert row.status == "failed" and "450" in row.last_error


# --- 8 and 9: what our reply carries -------------------------------------------------------

def test_our_reply_carries_x_loop_and_a_message_id_of_its_row(registered, channel, dovecot,
                                                             folder, smtp):
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))

    run_once(channel)

    [reply] = smtp.messages()
    assert reply["X-Loop"] == channel.settings.smtp.from_address
    [row] = email_rows(registered)
    assert reply["Message-ID"].strip("<>") == row.provider_message_id


def test_a_mail_that_carries_our_x_loop_gets_no_reply(registered, channel, dovecot, folder,
                                                      smtp):
    dovecot.append(folder, mails.plain(f"status {NUMBER}",
                                       X_Loop=channel.settings.smtp.from_address))

    assert run_once(channel).stored == 1
    assert smtp.messages() == []
