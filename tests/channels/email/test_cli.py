"""`gateway email` alone, and `gateway run` with e-mail on: each answers a mail from the
real mailbox and stops cleanly on SIGTERM (exit 0)."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests import processes
from tests.channels.email import mails
from tests.channels.email.conftest import OUR_ADDRESS, wait_for

NUMBER = "4471234"


@pytest.mark.parametrize("command", ["email", "run"])
def test_the_command_answers_a_mail_and_stops_on_sigterm(core, database_url, dovecot, folder,
                                                         smtp, tmp_path, command):
    core.record_event(f.registered(NUMBER))
    env = processes.environment(
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
        GATEWAY__EMAIL__AUTHSERV_IDS=f'["{mails.OUR_SERVER}"]')
    dovecot.append(folder, mails.plain(f"حالة المعاملة {NUMBER}"))
    process = processes.start(command, env)
    try:
        wait_for(lambda: smtp.messages() or process.poll() is not None, limit=60)
    finally:
        output = processes.stop(process, timeout=60)
    assert process.returncode == 0, output  # before the reply: its output tells why not
    assert "Traceback" not in output
    [reply] = smtp.messages()
    assert reply["To"] == f.EMAIL


def test_gateway_email_refuses_to_start_when_disabled(settings, tmp_path):
    done = processes.run("email", processes.environment(
        None, tmp_path, GATEWAY__DATABASE__URL=f"sqlite:///{tmp_path}/x.db"))

    assert done.returncode != 0
    assert "email.enabled" in done.stderr


def test_gateway_email_refuses_to_start_without_a_mailbox_login(tmp_path):
    done = processes.run("email", processes.environment(
        None, tmp_path, GATEWAY__EMAIL__ENABLED="true",
        GATEWAY__DATABASE__URL=f"sqlite:///{tmp_path}/x.db"))

    assert done.returncode != 0
    assert "email.imap.username" in done.stderr
