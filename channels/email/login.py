"""When the mailbox's and the SMTP server's passwords may be sent: over TLS, or without it
only to this machine, unless the operator allows more (``email.allow_plaintext_login``);
and whether a session is upgraded with STARTTLS (``email.imap.starttls``,
``email.smtp.starttls``)."""

from __future__ import annotations

import ipaddress
from typing import Literal


class PlaintextLoginRefused(Exception):
    """The password would cross the network in clear."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (localhost, 127.0.0.0/8, ::1); names are not
    resolved, so any other name counts as the network."""
    name = host.strip().lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def refuse_plaintext_login(protocol: str, host: str, allowed: bool) -> None:
    """Raise ``PlaintextLoginRefused`` unless a login without TLS to ``host`` is safe (this
    machine) or the operator allowed it."""
    if not allowed and not is_loopback(host):
        raise PlaintextLoginRefused(
            f"{protocol} {host}: refusing to log in without TLS to a host on the network "
            f"(TLS is off, or the server offers no STARTTLS); turn TLS on, or set "
            f"email.allow_plaintext_login")


def wants_starttls(setting: bool | Literal["auto"], host: str) -> bool:
    """Whether to upgrade a session with ``host`` by STARTTLS: as the operator said, or, by
    default ("auto"), for a host on the network and not for this machine, where nothing
    crosses a wire and a local server's certificate is often one no CA signed."""
    if setting == "auto":
        return not is_loopback(host)
    return setting


def untrusted_certificate(protocol: str, host: str, port: int, setting: str,
                          exc: Exception) -> str:
    """What to tell the operator when STARTTLS met a certificate that cannot be verified."""
    advice = "trust its CA with SSL_CERT_FILE"
    if is_loopback(host):
        advice += f", or set {setting} to auto (a server on this machine needs no TLS)"
    return f"{protocol} {host}:{port}: STARTTLS: the server's certificate cannot be " \
           f"verified ({exc}); {advice}"
