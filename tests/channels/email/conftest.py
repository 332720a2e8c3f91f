"""The peers every e-mail channel test talks to: a throwaway Dovecot (IMAP) for the whole
session, one folder per test, and an aiosmtpd server per test."""

from __future__ import annotations

import re
import time
from itertools import count

import pytest

from channels.email.channel import EmailChannel
from tests import processes
from tests.channels.email.mails import OUR_SERVER
from tests.conftest import require_peer
from tests.peers.dovecot_peer import DovecotPeer, dovecot_available
from tests.peers.smtp_peer import SmtpPeer

OUR_ADDRESS = "inquiries@emirate.gov.sa"
_folders = count(1)


def wait_for(condition, limit: float = 30.0) -> None:
    """Wait until ``condition()`` holds (a bound on a hang, not a timed assertion)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met")
        time.sleep(0.05)


@pytest.fixture
def command_environment(database_url, tmp_path, dovecot, folder, smtp) -> dict[str, str]:
    """The environment of a ``gateway email`` (or ``run``) process on the test peers."""
    return processes.environment(
        database_url, tmp_path, GATEWAY__GATEWAY__PORT=str(processes.free_port()),
        GATEWAY__EMAIL__ENABLED="true",
        GATEWAY__EMAIL__IMAP__HOST=dovecot.host, GATEWAY__EMAIL__IMAP__PORT=str(dovecot.port),
        GATEWAY__EMAIL__IMAP__USERNAME=dovecot.username,
        GATEWAY__EMAIL__IMAP__PASSWORD=dovecot.password,
        GATEWAY__EMAIL__IMAP__SSL="false", GATEWAY__EMAIL__IMAP__FOLDER=folder,
        GATEWAY__EMAIL__IMAP__POLL_SECONDS="1",
        GATEWAY__EMAIL__SMTP__HOST=smtp.host, GATEWAY__EMAIL__SMTP__PORT=str(smtp.port),
        GATEWAY__EMAIL__SMTP__STARTTLS="false",
        GATEWAY__EMAIL__SMTP__FROM_ADDRESS=OUR_ADDRESS,
        GATEWAY__EMAIL__AUTHSERV_IDS=f'["{OUR_SERVER}"]')


@pytest.fixture(autouse=True)
def beating_when_made(monkeypatch):
    """A channel a test makes may send at once, as a started one may: its sender's
    heartbeat is written as it is made (``start`` writes it first thing). Without one,
    the sender claims nothing (tests/channels/email/test_heartbeat.py)."""
    made = EmailChannel.__init__

    def init(self, *args, **kwargs):
        made(self, *args, **kwargs)
        self.heartbeat.beat()

    monkeypatch.setattr(EmailChannel, "__init__", init)


@pytest.fixture(scope="session")
def dovecot():
    available, why = dovecot_available()
    require_peer(available, f"Dovecot IMAP ({why})")
    with DovecotPeer() as peer:
        yield peer


@pytest.fixture
def folder(dovecot, request) -> str:
    """A fresh folder of the test mailbox, named after the test."""
    name = f"T{next(_folders)}-" + re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:50]
    dovecot.create_folder(name)
    return name


@pytest.fixture
def smtp():
    with SmtpPeer() as peer:
        yield peer


@pytest.fixture
def email_settings(settings, dovecot, folder, smtp):
    """The channel's settings pointing at the peers (the rest as in config.yaml)."""
    settings.email.imap = settings.email.imap.model_copy(update={
        "host": dovecot.host, "port": dovecot.port, "username": dovecot.username,
        "password": dovecot.password, "ssl": False, "folder": folder,
        "failed_folder": folder + "-unreadable", "poll_seconds": 1})
    settings.email.smtp = settings.email.smtp.model_copy(update={
        "host": smtp.host, "port": smtp.port, "ssl": False, "starttls": False,
        "from_address": OUR_ADDRESS})
    settings.email.max_message_bytes = 64 * 1024
    settings.email.authserv_ids = [OUR_SERVER]  # what mails.py stamps on a mail
    return settings.email


@pytest.fixture
def channel(core, email_settings):
    return EmailChannel(core, email_settings)
