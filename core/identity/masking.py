"""Free text with the contacts in it masked: a provider's refusal ("550 5.1.1
<ali@example.com>: user unknown") or a note that quotes a number, made fit for a log,
a stored reason or a staff page."""

from __future__ import annotations

import re

from core.identity.addresses import mask_email
from core.identity.phones import mask_mobile

# An address as servers quote it: no spaces, brackets, quotes or separators around it.
_EMAIL_RE = re.compile(r"[^\s<>()\[\]{}\"',;:@]+@[^\s<>()\[\]{}\"',;:@]+")
# A number: '+' and 7 digits or more, its groups split by single spaces or dashes
# ("+966 55 123 4567"), or 7 digits or more in one run ("0551234567"). Not digits split
# otherwise: an SMTP reply's codes ("550 5.7.60"), a date ("2025-11-23"), a time.
_PHONE_RE = re.compile(r"(?<![\w*+])(?:\+\d(?:[ \-]?\d){6,}|\d{7,})(?![\w*])")
_SEPARATORS = str.maketrans("", "", " -")


def mask_contacts(text: str) -> str:
    """``text`` with every e-mail address and phone number in it masked as the logs mask
    them: "a***@example.com", "+966*******67" (a number without its country code keeps
    its last two digits only)."""
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE_RE.sub(lambda m: mask_mobile(m.group(0).translate(_SEPARATORS)), text)
