"""Mobile numbers: normalised to E.164, masked for logs."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from core.identity.digits import normalize_digits

# A mobile number as typed: optional '+', digits and common formatting only (no letters,
# so phonenumbers never converts vanity letters or picks a number out of a sentence).
_MOBILE_CHARS_RE = re.compile(r"\+?[0-9\s().\-\u2010-\u2015]+")
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class InvalidMobile(ValueError):
    """Mobile number rejected; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def normalize_mobile(text: str, region: str = "SA") -> str:
    """Return the mobile number in E.164 ("+966551234567") or raise InvalidMobile.

    Accepts local ("0551234567"), international with or without '+' / "00", Arabic digits
    and common formatting. Landlines and special numbers raise ``mobile_not_mobile``.
    Remembered (refusals too): one SMS has its sender normalized by each layer it passes
    (storing, answering, verifying), and libphonenumber's parse is the costliest step of
    an answer. A number's E.164 form is remembered as normalizing to itself.
    """
    key = (text, region)
    outcome = _MOBILES.get(key)
    if outcome is None:
        outcome = _parse_mobile(text, region)
        if len(_MOBILES) >= _MOBILES_MAX:
            _MOBILES.clear()  # simple and bounded; a few parses again are cheap
        _MOBILES[key] = outcome
        if isinstance(outcome, str):
            _MOBILES[(outcome, region)] = outcome
    if isinstance(outcome, InvalidMobile):
        raise InvalidMobile(outcome.code, outcome.message)
    return outcome


_MOBILES: dict[tuple[str, str], str | InvalidMobile] = {}
_MOBILES_MAX = 20_000


def _parse_mobile(text: str, region: str) -> str | InvalidMobile:
    clean = normalize_digits(text).translate({0x200E: None, 0x200F: None, 0x061C: None})
    clean = clean.strip()
    if not _MOBILE_CHARS_RE.fullmatch(clean):
        return InvalidMobile("mobile_invalid", "Not a phone number.")
    try:
        number = phonenumbers.parse(clean, region)
    except NumberParseException:
        return InvalidMobile("mobile_invalid", "Not a phone number.")
    if not phonenumbers.is_valid_number(number):
        return InvalidMobile("mobile_invalid", "Not a valid phone number.")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        return InvalidMobile("mobile_not_mobile", "Phone number is not a mobile number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_mobile(e164: str) -> str:
    """Mask a phone number for logs, keeping country code and last 2 digits.

    "+966551234567" -> "+966*******67". Never raises: unparsable input keeps only the last
    2 characters.
    """
    digits = e164[1:]
    if e164.startswith("+") and digits.isascii() and digits.isdigit():
        # Country codes are prefix-free: the first one to match is the code (no parse,
        # which costs more than the rest of an SMS inquiry's logging).
        for size in (1, 2, 3):
            if int(digits[:size] or 0) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                national = digits[size:]
                return f"+{digits[:size]}" + "*" * max(len(national) - 2, 0) + national[-2:]
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        number = None
    if number is not None and number.country_code:
        prefix = f"+{number.country_code}"
        national = phonenumbers.national_significant_number(number)
        return prefix + "*" * max(len(national) - 2, 0) + national[-2:]
    if len(e164) <= 2:
        return "*" * len(e164)
    return "*" * (len(e164) - 2) + e164[-2:]


def optional_mobile(value: str | None) -> str | None:
    """A request's optional mobile field: empty is None, else E.164; a bad number raises
    ValueError with the reason (what a pydantic validator reports against the field)."""
    if value is None or value == "":
        return None
    try:
        return normalize_mobile(value)
    except InvalidMobile as exc:
        raise ValueError(str(exc)) from exc
