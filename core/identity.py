"""Citizen identity helpers: Saudi national ID / Iqama, mobile numbers, masking for logs."""

from __future__ import annotations

import hashlib
import hmac
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from core.digits import normalize_digits

__all__ = [
    "InvalidNationalId",
    "InvalidMobile",
    "validate_national_id",
    "has_valid_check_digit",
    "national_id_with_check_digit",
    "hash_national_id",
    "normalize_mobile",
    "mask_mobile",
    "mask_email",
]

NATIONAL_ID_LENGTH = 10
_NATIONAL_ID_PREFIXES = ("1", "2")  # 1 = citizen, 2 = resident (Iqama)

# Removed before validation: whitespace (incl. NBSP), dashes and bidi/invisible marks.
_ID_NOISE_RE = re.compile(r"[\s\-\u2010-\u2015\u200b-\u200f\u061c\ufeff]+")
_ASCII_DIGITS_RE = re.compile(r"[0-9]*")
# A mobile number as typed: optional '+', digits and common formatting only (no letters,
# so phonenumbers never converts vanity letters or picks a number out of a sentence).
_MOBILE_CHARS_RE = re.compile(r"\+?[0-9\s().\-\u2010-\u2015]+")
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


class InvalidNationalId(ValueError):
    """National ID / Iqama rejected; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidMobile(ValueError):
    """Mobile number rejected; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _luhn_check_digit(first9: str) -> int:
    """Luhn check digit: digits at even index (0, 2, ..) doubled, digit sums added."""
    total = 0
    for index, char in enumerate(first9):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def national_id_with_check_digit(first9: str) -> str:
    """Append the Luhn check digit to 9 ASCII digits (test and demo data helper)."""
    if len(first9) != NATIONAL_ID_LENGTH - 1 or not _ASCII_DIGITS_RE.fullmatch(first9):
        raise InvalidNationalId("national_id_format", "Expected exactly 9 digits.")
    return first9 + str(_luhn_check_digit(first9))


def validate_national_id(text: str) -> str:
    """Return the clean 10-digit Saudi national ID / Iqama or raise InvalidNationalId.

    Arabic/Persian digits are accepted; spaces and dashes are ignored. Checks, in order:
    digits only (``national_id_format``), 10 digits (``national_id_length``), starts with
    1 or 2 (``national_id_prefix``). The check digit is not one of them: the records
    system is the authority on whose ID is whose, and an ID it registered with a check
    digit that does not add up (a typo at the counter, a test record) must still be
    stored and matched, or its owner could never be answered. Channels that want to
    warn about a likely typo ask ``has_valid_check_digit``.
    """
    clean = _ID_NOISE_RE.sub("", normalize_digits(text))
    if not _ASCII_DIGITS_RE.fullmatch(clean):
        raise InvalidNationalId("national_id_format", "National ID must contain digits only.")
    if len(clean) != NATIONAL_ID_LENGTH:
        raise InvalidNationalId("national_id_length", "National ID must be exactly 10 digits.")
    if clean[0] not in _NATIONAL_ID_PREFIXES:
        raise InvalidNationalId(
            "national_id_prefix", "National ID must start with 1 (citizen) or 2 (resident)."
        )
    return clean


def has_valid_check_digit(national_id: str) -> bool:
    """Whether a validated ID's last digit is its Luhn check digit (a typo usually breaks it)."""
    clean = validate_national_id(national_id)
    return _luhn_check_digit(clean[:9]) == int(clean[9])


def hash_national_id(national_id: str, key: bytes) -> str:
    """HMAC-SHA256 hex digest of the validated ID under ``key`` (IDs are never stored)."""
    if not key:
        raise ValueError("HMAC key must not be empty.")
    clean = validate_national_id(national_id)
    return hmac.new(key, clean.encode("ascii"), hashlib.sha256).hexdigest()


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


def mask_email(addr: str) -> str:
    """Mask an e-mail address for logs: "ali@example.com" -> "a***@example.com"."""
    local, at, domain = addr.strip().rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"
