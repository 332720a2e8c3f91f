"""Free text with the contacts in it masked: a provider's refusal ("550 5.1.1
<ali@example.com>: user unknown") or a note that quotes a number, made fit for a log,
a stored reason or a staff page."""

from __future__ import annotations

import re

from core.identity.addresses import mask_email
from core.identity.digits import normalize_digits
from core.identity.phones import mask_mobile

# An address as servers quote it: no spaces, brackets, quotes or separators around it.
_EMAIL_RE = re.compile(r"[^\s<>()\[\]{}\"',;:@]+@[^\s<>()\[\]{}\"',;:@]+")
# A number in any script's digits (``\d``: ASCII, Arabic-Indic, Persian...), glued to a
# word or not ("و0501234567", "هويتي1234567897": Arabic letters count as word characters,
# so no \b or \w may guard it): '+' and 7 digits or more, its groups split by single
# spaces, dashes or dots ("+966 55 123 4567"); or groups of 2 digits or more split the
# same way ("050 123 4567", "050-123-4567", "0501234567"), masked when they hold 7 digits
# or more together. Left as they are: shorter numbers (a year, an amount), groups of one
# digit (an SMTP reply's codes, "550 5.7.60"), a decimal, a date ("2025-11-23", kept by
# ``date`` before a time's digits could join it) and times (':' splits no group).
_SEPARATOR = r"[ \u00a0\-.\u2010-\u2015]"
_PHONE_RE = re.compile(
    r"(?<!\d)(?:"
    r"(?P<date>\d{4}[-/.]\d\d?[-/.]\d\d?|\d\d?[-/.]\d\d?[-/.]\d{4})(?!\d)"
    rf"|\+\d(?:{_SEPARATOR}?\d)+"
    rf"|\d{{2,}}(?:{_SEPARATOR}\d{{2,}})*)")
_SEPARATORS = re.compile(_SEPARATOR)
_MIN_DIGITS = 7
# One dot between shorter runs: a decimal ("24.713600", a coordinate), not a number.
_DECIMAL_RE = re.compile(r"\d{1,6}\.\d{1,6}")


def mask_contacts(text: str) -> str:
    """``text`` with every e-mail address and phone number in it masked as the logs mask
    them: "a***@example.com", "+966*******67" (a number without its country code keeps
    its last two digits only). A national ID, or any other run of 7 digits or more, is
    masked alike: the mask cannot tell them apart, and none is for the public."""
    text = _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE_RE.sub(_masked_number, text)


def _masked_number(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = normalize_digits(_SEPARATORS.sub("", found))
    if match.group("date") or sum(char.isdigit() for char in digits) < _MIN_DIGITS \
            or _DECIMAL_RE.fullmatch(found):
        return found
    return mask_mobile(digits)
