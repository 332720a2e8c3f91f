"""`gateway email` alone, and `gateway run` with e-mail on: each answers a mail from the
real mailbox and stops cleanly on SIGTERM (exit 0)."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests import processes
from tests.channels.email import mails
from tests.channels.email.conftest import wait_for

NUMBER = "4471234"


@pytest.mark.parametrize("command", ["email", "run"])
def test_the_command_answers_a_mail_and_stops_on_sigterm(core, command_environment, dovecot,
                                                         folder, smtp, command):
    core.record_event(f.registered(NUMBER))
    dovecot.append(folder, mails.plain(f"حالة المعاملة {NUMBER}"))
    process = processes.start(command, command_environment)
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
