"""When the mailbox's and the SMTP server's passwords may be sent: over TLS, or without it
only to this machine, unless the operator allows more (``email.allow_plaintext_login``)."""

from __future__ import annotations

import ipaddress


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
