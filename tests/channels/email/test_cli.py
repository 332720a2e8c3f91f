"""`gateway email` alone, and `gateway run` with e-mail on: each answers a mail from the
real mailbox and stops cleanly on SIGTERM (exit 0)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from tests import factories as f
from tests.channels.email import mails
from tests.channels.email.conftest import OUR_ADDRESS, wait_for
from tests.conftest import NATIONAL_ID_KEY

NUMBER = "4471234"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", ["email", "run"])
def test_the_command_answers_a_mail_and_stops_on_sigterm(core, database_url, dovecot, folder,
                                                         smtp, tmp_path, command):
    core.record_event(f.registered(NUMBER))
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY")}
    env.update({
        "GATEWAY__DATABASE__URL": database_url, "GATEWAY__VAR_DIR": str(tmp_path),
        "GATEWAY__SECURITY__NATIONAL_ID_KEY": NATIONAL_ID_KEY,
        "GATEWAY__GATEWAY__SECRET_KEY": "test-secret",
        "GATEWAY__GATEWAY__PORT": str(_free_port()),
        "GATEWAY__EMAIL__ENABLED": "true",
        "GATEWAY__EMAIL__IMAP__HOST": dovecot.host,
        "GATEWAY__EMAIL__IMAP__PORT": str(dovecot.port),
        "GATEWAY__EMAIL__IMAP__USERNAME": dovecot.username,
        "GATEWAY__EMAIL__IMAP__PASSWORD": dovecot.password,
        "GATEWAY__EMAIL__IMAP__SSL": "false", "GATEWAY__EMAIL__IMAP__FOLDER": folder,
        "GATEWAY__EMAIL__IMAP__POLL_SECONDS": "1",
        "GATEWAY__EMAIL__SMTP__HOST": smtp.host, "GATEWAY__EMAIL__SMTP__PORT": str(smtp.port),
        "GATEWAY__EMAIL__SMTP__STARTTLS": "false",
        "GATEWAY__EMAIL__SMTP__FROM_ADDRESS": OUR_ADDRESS,
    })
    dovecot.append(folder, mails.plain(f"حالة المعاملة {NUMBER}"))
    process = subprocess.Popen([sys.executable, "-m", "gateway.cli", command], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: smtp.messages() or process.poll() is not None, limit=60)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            print(process.communicate(timeout=30)[0])  # what it said, for the failure report
    [reply] = smtp.messages()
    assert reply["To"] == f.EMAIL
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_gateway_email_refuses_to_start_when_disabled(settings, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY")}
    env.update({"GATEWAY__VAR_DIR": str(tmp_path),
                "GATEWAY__DATABASE__URL": f"sqlite:///{tmp_path}/x.db"})
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "email"], env=env,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    assert "email.enabled" in done.stderr


def test_gateway_email_refuses_to_start_without_a_mailbox_login(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY")}
    env.update({"GATEWAY__VAR_DIR": str(tmp_path), "GATEWAY__EMAIL__ENABLED": "true",
                "GATEWAY__DATABASE__URL": f"sqlite:///{tmp_path}/x.db"})
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "email"], env=env,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    assert "email.imap.username" in done.stderr
