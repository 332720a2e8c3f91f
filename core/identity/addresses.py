"""E-mail addresses: what we accept as one, and masked for logs."""

from __future__ import annotations

import re

# One address, no display name or list: what the outbox may send to.
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+")


def is_email_address(value: str) -> bool:
    """Whether ``value`` is one plain address ("ali@example.com"), as the records system's
    events and the citizens' cases take it."""
    return _ADDRESS.fullmatch(value) is not None


def mask_email(addr: str) -> str:
    """Mask an e-mail address for logs: "ali@example.com" -> "a***@example.com"."""
    local, at, domain = addr.strip().rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"
