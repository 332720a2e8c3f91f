"""When a password may go without TLS: only to this machine, unless allowed."""

from __future__ import annotations

import pytest

from channels.email.login import (
    PlaintextLoginRefused,
    is_loopback,
    refuse_plaintext_login,
    wants_starttls,
)


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("LOCALHOST.", True), ("10.0.0.5", False), ("192.0.2.2", False),
    ("mail.emirate.gov.sa", False), ("localhost.evil.example", False), ("", False),
])
def test_only_this_machine_counts_as_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_login_in_clear_to_the_network_is_refused_unless_allowed():
    with pytest.raises(PlaintextLoginRefused, match="email.allow_plaintext_login"):
        refuse_plaintext_login("IMAP", "mail.emirate.gov.sa", allowed=False)
    refuse_plaintext_login("IMAP", "mail.emirate.gov.sa", allowed=True)
    refuse_plaintext_login("SMTP", "127.0.0.1", allowed=False)


@pytest.mark.parametrize(("setting", "host", "wanted"), [
    ("auto", "mail.emirate.gov.sa", True), ("auto", "10.0.0.5", True),
    ("auto", "127.0.0.1", False), ("auto", "::1", False), ("auto", "localhost", False),
    (True, "127.0.0.1", True), (True, "mail.emirate.gov.sa", True),
    (False, "mail.emirate.gov.sa", False), (False, "127.0.0.1", False),
])
def test_starttls_by_default_is_for_the_network_and_as_written_otherwise(setting, host,
                                                                          wanted):
    assert wants_starttls(setting, host) is wanted
