"""E-mail addresses, masked for logs."""

from __future__ import annotations


def mask_email(addr: str) -> str:
    """Mask an e-mail address for logs: "ali@example.com" -> "a***@example.com"."""
    local, at, domain = addr.strip().rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"
