"""STARTTLS by default ("auto"): for a server on the network, not for one on this machine,
whose self-signed certificate must not stop a local mailbox that worked in plaintext;
``true`` and ``false`` as the operator wrote them. Against Dovecot and aiosmtpd offering
STARTTLS with a self-signed certificate nobody trusts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.email.channel import EmailChannel
from channels.email.mailbox import MailboxUnavailable
from core.platform.db import utcnow
from tests import factories as f
from tests.channels.email import mails
from tests.channels.email.test_channel import NUMBER, email_rows, run_once
from tests.conftest import require_peer
from tests.peers.dovecot_peer import DovecotPeer
from tests.peers.smtp_peer import SmtpPeer, network_address, self_signed_certificate


@pytest.fixture
def registered(core):
    core.record_event(f.registered(NUMBER))
    return core


@pytest.fixture
def untrusted(tmp_path, monkeypatch):
    """A self-signed certificate that no CA of this machine vouches for."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    return self_signed_certificate(tmp_path)


def _network_address() -> str:
    address = network_address()
    require_peer(address is not None, "an address of this machine that is not loopback")
    return address


# --- IMAP --------------------------------------------------------------------------------

def test_a_local_mailbox_offering_starttls_with_a_self_signed_certificate_is_read_in_plain(
        registered, core, email_settings, smtp, untrusted):
    with DovecotPeer(certificate=untrusted, starttls=True) as local:
        local.append("INBOX", mails.plain(f"status {NUMBER}"))
        email_settings.imap = email_settings.imap.model_copy(update={
            "port": local.port, "ssl": False, "folder": "INBOX"})  # starttls: default
        assert email_settings.imap.starttls == "auto"
        before = len(local.logins())

        report = run_once(EmailChannel(core, email_settings))

        ours = local.logins()[before:]
    assert report.stored == 1 and len(smtp.messages()) == 1
    assert ours and not any(", TLS," in line for line in ours)


def test_starttls_asked_for_on_loopback_with_an_unverifiable_certificate_fails_clearly(
        registered, core, email_settings, smtp, untrusted):
    with DovecotPeer(certificate=untrusted, starttls=True) as local:
        local.append("INBOX", mails.plain(f"status {NUMBER}"))
        email_settings.imap = email_settings.imap.model_copy(update={
            "port": local.port, "ssl": False, "starttls": True, "folder": "INBOX"})
        before = len(local.logins())

        with pytest.raises(MailboxUnavailable) as failed:
            EmailChannel(core, email_settings).poll()

        assert len(local.logins()) == before  # no password sent
    message = str(failed.value)
    assert f"IMAP 127.0.0.1:{local.port}: STARTTLS: the server's certificate cannot be " \
           f"verified" in message and "CERTIFICATE_VERIFY_FAILED" in message
    assert "SSL_CERT_FILE" in message and "email.imap.starttls to auto" in message
    assert smtp.messages() == []


def test_starttls_turned_off_reads_a_local_mailbox_in_plain(
        registered, core, email_settings, smtp, untrusted):
    with DovecotPeer(certificate=untrusted, starttls=True) as local:
        local.append("INBOX", mails.plain(f"status {NUMBER}"))
        email_settings.imap = email_settings.imap.model_copy(update={
            "port": local.port, "ssl": False, "starttls": False, "folder": "INBOX"})

        assert run_once(EmailChannel(core, email_settings)).stored == 1


def test_a_mailbox_on_the_network_still_gets_starttls_by_default(
        registered, core, email_settings, smtp, untrusted):
    with DovecotPeer(host=_network_address(), certificate=untrusted,
                     starttls=True) as remote:
        email_settings.imap = email_settings.imap.model_copy(update={
            "host": remote.host, "port": remote.port, "ssl": False, "folder": "INBOX"})
        email_settings.allow_plaintext_login = True  # even so: TLS when offered

        with pytest.raises(MailboxUnavailable, match="CERTIFICATE_VERIFY_FAILED") as failed:
            EmailChannel(core, email_settings).poll()

        assert remote.logins() == []
    assert "starttls to auto" not in str(failed.value)  # auto is what failed here


# --- SMTP ---------------------------------------------------------------------------------

def _reply_to_one_mail(dovecot, folder, core, email_settings) -> None:
    dovecot.append(folder, mails.plain(f"status {NUMBER}"))
    run_once(EmailChannel(core, email_settings))


def test_replies_go_in_plain_to_a_local_relay_offering_starttls_by_default(
        registered, core, email_settings, dovecot, folder, untrusted):
    with SmtpPeer(tls="starttls-offered", certificate=untrusted) as relay:
        email_settings.smtp = _smtp_at(email_settings, relay, starttls="auto")

        _reply_to_one_mail(dovecot, folder, core, email_settings)

        assert relay.count() == 1 and relay.over_tls == [False]
    [row] = email_rows(registered)
    assert row.status == "sent"


def test_replies_asked_to_use_starttls_on_loopback_wait_on_an_unverifiable_certificate(
        registered, core, email_settings, dovecot, folder, untrusted, caplog):
    with SmtpPeer(tls="starttls-offered", certificate=untrusted) as relay:
        email_settings.smtp = _smtp_at(email_settings, relay, starttls=True)

        _reply_to_one_mail(dovecot, folder, core, email_settings)

        assert relay.count() == 0
    [row] = email_rows(registered)
    assert row.status == "pending"
    assert "STARTTLS: the server's certificate cannot be verified" in row.last_error
    assert "email.smtp.starttls to auto" in caplog.text


def test_replies_to_a_relay_on_the_network_require_starttls_by_default(
        registered, core, email_settings, dovecot, folder, untrusted):
    with SmtpPeer(tls="starttls-offered", certificate=untrusted,
                  host=_network_address()) as relay:
        email_settings.smtp = _smtp_at(email_settings, relay, starttls="auto")

        _reply_to_one_mail(dovecot, folder, core, email_settings)
        [row] = email_rows(registered)
        assert row.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in row.last_error

        email_settings.smtp = _smtp_at(email_settings, relay, starttls=False)
        # The operator's explicit choice (a relay on a network that is theirs).
        EmailChannel(core, email_settings).sender.send_due(now=utcnow() + timedelta(hours=2))
        assert relay.over_tls == [False]
    [row] = email_rows(registered)
    assert row.status == "sent"


def _smtp_at(email_settings, relay: SmtpPeer, *, starttls):
    """The channel's SMTP settings pointing at ``relay``, with ``starttls`` as given."""
    return email_settings.smtp.model_copy(update={
        "host": relay.host, "port": relay.port, "ssl": False, "starttls": starttls})


# --- the setting ---------------------------------------------------------------------------

def test_starttls_is_auto_in_config_yaml_and_true_false_or_auto_in_the_environment(
        tmp_path, monkeypatch):
    from core.platform.settings import REPO_ROOT, ConfigError
    from gateway.settings import load_settings

    def load():
        return load_settings(REPO_ROOT / "config.yaml", var_dir=str(tmp_path)).email

    shipped = load()
    assert (shipped.imap.starttls, shipped.smtp.starttls) == ("auto", "auto")
    monkeypatch.setenv("GATEWAY__EMAIL__IMAP__STARTTLS", "true")
    monkeypatch.setenv("GATEWAY__EMAIL__SMTP__STARTTLS", "false")
    assert (load().imap.starttls, load().smtp.starttls) == (True, False)
    monkeypatch.setenv("GATEWAY__EMAIL__IMAP__STARTTLS", "sometimes")
    with pytest.raises(ConfigError, match=r"email\.imap\.starttls .*true, false or auto"):
        load()


@pytest.mark.parametrize(("spelled", "meant"), [
    ("t", True), ("Y", True), ("on", True), (1, True),
    ("f", False), ("n", False), ("off", False), (0, False), ("AUTO", "auto")])
def test_starttls_takes_every_spelling_a_plain_switch_took(spelled, meant):
    # It was a bool before it could be "auto": nothing that worked then is refused now.
    from channels.email.settings import ImapSettings, SmtpSettings

    assert ImapSettings(starttls=spelled).starttls == meant
    assert SmtpSettings(starttls=spelled).starttls == meant
