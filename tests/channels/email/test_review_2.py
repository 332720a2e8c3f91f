"""Second review of the e-mail channel (issue 7), against the real peers: Dovecot holds
the mailbox, aiosmtpd takes (or refuses) the replies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.messaging.retry import RetrySchedule
from core.platform.db import utcnow
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
    channel.sender.backoff = RetrySchedule(max_attempts=2)
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
    channel.sender.backoff = RetrySchedule(max_attempts=3)
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


# --- 5: no password in clear ------------------------------------------------------------

def test_the_mailbox_is_read_over_starttls_when_the_server_offers_it(
        registered, core, email_settings, smtp, tmp_path, monkeypatch):
    from channels.email.channel import EmailChannel
    from tests.peers.dovecot_peer import DovecotPeer
    from tests.peers.smtp_peer import self_signed_certificate

    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with DovecotPeer(certificate=certificate, starttls=True) as offering:
        offering.append("INBOX", mails.plain(f"status {NUMBER}"))  # the peer's own login
        # On loopback only when asked (the default, auto, upgrades for the network).
        email_settings.imap = email_settings.imap.model_copy(update={
            "port": offering.port, "ssl": False, "starttls": True, "folder": "INBOX"})
        before = len(offering.logins())

        report = run_once(EmailChannel(core, email_settings))

        ours = offering.logins()[before:]
    assert report.stored == 1 and len(smtp.messages()) == 1
    assert ours and all(", TLS," in line for line in ours)  # not "secured" (in clear)


def test_an_untrusted_starttls_certificate_is_refused_before_login(
        registered, core, email_settings, smtp, tmp_path):
    from channels.email.channel import EmailChannel
    from channels.email.mailbox import MailboxUnavailable
    from tests.peers.dovecot_peer import DovecotPeer
    from tests.peers.smtp_peer import self_signed_certificate

    with DovecotPeer(certificate=self_signed_certificate(tmp_path), starttls=True) as peer:
        email_settings.imap = email_settings.imap.model_copy(update={
            "port": peer.port, "ssl": False, "starttls": True, "folder": "INBOX"})

        with pytest.raises(MailboxUnavailable, match="CERTIFICATE_VERIFY_FAILED") as failed:
            EmailChannel(core, email_settings).poll()

        assert "STARTTLS: the server's certificate cannot be verified" in str(failed.value)
        assert "email.imap.starttls to auto" in str(failed.value)  # the way out, on loopback

        assert peer.logins() == []  # nobody logged in: no password sent


def _network_address() -> str:
    from tests.conftest import require_peer
    from tests.peers.smtp_peer import network_address

    address = network_address()
    require_peer(address is not None, "an address of this machine that is not loopback")
    return address


def test_no_password_goes_in_clear_to_a_mailbox_on_the_network(
        registered, core, email_settings, smtp):
    from channels.email.channel import EmailChannel
    from channels.email.mailbox import MailboxUnavailable
    from tests.peers.dovecot_peer import DovecotPeer

    with DovecotPeer(host=_network_address()) as plain:  # no TLS at all
        plain.append("INBOX", mails.plain(f"status {NUMBER}"))  # the peer's own login
        email_settings.imap = email_settings.imap.model_copy(update={
            "host": plain.host, "port": plain.port, "ssl": False, "folder": "INBOX"})
        before = len(plain.logins())

        with pytest.raises(MailboxUnavailable, match="without TLS"):
            EmailChannel(core, email_settings).poll()
        assert len(plain.logins()) == before

        email_settings.allow_plaintext_login = True  # the operator's explicit choice
        assert run_once(EmailChannel(core, email_settings)).stored == 1
        assert len(plain.logins()) > before


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_no_password_goes_in_clear_to_an_smtp_server_on_the_network(
        registered, core, email_settings, dovecot, folder):
    from channels.email.channel import EmailChannel
    from tests.peers.smtp_peer import SmtpPeer

    with SmtpPeer(host=_network_address(), login=("inquiries", "s3cret")) as plain:
        email_settings.smtp = email_settings.smtp.model_copy(update={
            "host": plain.host, "port": plain.port, "ssl": False, "starttls": False,
            "username": "inquiries", "password": "s3cret"})
        dovecot.append(folder, mails.plain(f"status {NUMBER}"))

        run_once(EmailChannel(core, email_settings))
        [row] = email_rows(registered)
        assert row.status == "pending" and "without TLS" in row.last_error
        assert plain.logins == [] and plain.count() == 0

        email_settings.allow_plaintext_login = True
        EmailChannel(core, email_settings).sender.send_due(now=utcnow() + timedelta(hours=2))
        assert plain.logins == ["inquiries"] and plain.count() == 1


# --- 6: a citizen's subject that begins like an auto-reply's label is answered ------------

@pytest.mark.parametrize("subject", [f"Out of office hours question {NUMBER}",
                                     f"Undeliverable parcel, transaction {NUMBER}"])
def test_a_subject_only_resembling_an_automatic_answer_gets_its_reply(
        registered, channel, dovecot, folder, smtp, subject):
    dovecot.append(folder, mails.plain("", subject=subject))

    run_once(channel)

    [reply] = smtp.messages()
    assert f"Transaction {NUMBER}" in reply.get_body(preferencelist=("plain",)).get_content()


def test_an_out_of_office_answer_by_its_subject_alone_gets_no_reply(
        registered, channel, dovecot, folder, smtp):
    dovecot.append(folder, mails.plain(f"I am away. {NUMBER}",
                                       subject=f"Out of Office: status {NUMBER}"))

    assert run_once(channel).stored == 1
    assert smtp.messages() == []


# --- 7: IDLE is issued again before a server ends it ------------------------------------

@pytest.mark.parametrize(("elapsed", "due"), [
    (0, False), (60, False), (25 * 60 - 1, False), (25 * 60, True), (29 * 60, True)])
def test_idle_is_renewed_after_25_minutes(elapsed, due):
    from channels.email.channel import idle_renewal_due

    assert idle_renewal_due(1000.0, 1000.0 + elapsed) is due


def test_the_channel_issues_idle_again_every_25_minutes_however_long_the_poll_interval(
        registered, core, email_settings, dovecot, folder, smtp):
    from channels.email.channel import EmailChannel
    from tests.channels.email.conftest import wait_for

    email_settings.imap.poll_seconds = 3600  # an hour between polls: IDLE must not last
    channel = EmailChannel(core, email_settings)
    now = [1000.0]
    channel._clock = lambda: now[0]  # the channel's time, moved by hand: no waiting
    channel._poll_and_watch()
    watcher = channel._watcher
    assert watcher is not None
    issued = []
    real_start = watcher.idle_start

    def idle_start():
        issued.append(now[0])
        real_start()

    watcher.idle_start = idle_start
    try:
        now[0] += 25 * 60 - 1
        channel._wait(0.05)
        assert issued == []
        now[0] += 1
        channel._wait(0.05)
        assert issued == [now[0]]
        now[0] += 24 * 60
        channel._wait(0.05)
        assert len(issued) == 1  # 24 minutes after the last one: not yet
        now[0] += 60
        channel._wait(0.05)
        assert len(issued) == 2
        # The renewed IDLE still hears new mail.
        dovecot.append(folder, mails.plain(f"status {NUMBER}"))
        heard = []
        wait_for(lambda: heard.append(channel._wait(0.5)) or heard[-1], limit=10)
    finally:
        channel._unwatch()


# --- 8: every address of ours, aliases included, gets no reply ---------------------------

ALIAS = "info@emirate.gov.sa"


def test_a_mail_from_an_alias_of_ours_gets_no_reply(registered, core, email_settings,
                                                    dovecot, folder, smtp):
    from channels.email.channel import EmailChannel

    email_settings.own_addresses = [ALIAS]
    dovecot.append(folder, mails.plain(f"status {NUMBER}", sender="Info <INFO@emirate.gov.sa>"))
    dovecot.append(folder, mails.plain(f"status {NUMBER}", sender="one@else.example"))

    report = run_once(EmailChannel(core, email_settings))

    assert report.stored == 2
    assert [m["To"] for m in smtp.messages()] == ["one@else.example"]


def test_our_addresses_are_the_from_the_usernames_that_are_addresses_and_the_aliases(
        tmp_path, monkeypatch):
    from channels.email.channel import own_addresses
    from core.platform.settings import REPO_ROOT, ConfigError
    from gateway.settings import load_settings

    monkeypatch.setenv("GATEWAY__EMAIL__OWN_ADDRESSES", f'["{ALIAS}", "Help@Emirate.gov.sa"]')
    monkeypatch.setenv("GATEWAY__EMAIL__IMAP__USERNAME", "mailbox@emirate.gov.sa")
    monkeypatch.setenv("GATEWAY__EMAIL__SMTP__USERNAME", "relay-account")  # not an address
    monkeypatch.setenv("GATEWAY__EMAIL__SMTP__FROM_ADDRESS", "inquiries@emirate.gov.sa")
    settings = load_settings(REPO_ROOT / "config.yaml", var_dir=str(tmp_path))

    assert own_addresses(settings.email) == {
        "inquiries@emirate.gov.sa", "mailbox@emirate.gov.sa", ALIAS, "help@emirate.gov.sa"}
    monkeypatch.setenv("GATEWAY__EMAIL__OWN_ADDRESSES", '["not-an-address"]')
    with pytest.raises(ConfigError, match="not an e-mail address"):
        load_settings(REPO_ROOT / "config.yaml", var_dir=str(tmp_path))
