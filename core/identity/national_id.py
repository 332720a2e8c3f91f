"""Saudi national ID / Iqama: validation, check digit, keyed hash (IDs are never stored)."""

from __future__ import annotations

import hashlib
import hmac
import re

from core.identity.digits import normalize_digits

NATIONAL_ID_LENGTH = 10
_NATIONAL_ID_PREFIXES = ("1", "2")  # 1 = citizen, 2 = resident (Iqama)

# Removed before validation: whitespace (incl. NBSP), dashes and bidi/invisible marks.
_ID_NOISE_RE = re.compile(r"[\s\-\u2010-\u2015\u200b-\u200f\u061c\ufeff]+")
_ASCII_DIGITS_RE = re.compile(r"[0-9]*")


class InvalidNationalId(ValueError):
    """National ID / Iqama rejected; ``code`` is a stable machine-readable reason."""

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


MASK_KEEPS = 2  # digits a masked ID keeps, as a masked mobile does


def mask_national_id(text: str) -> str:
    """An ID as a file or a page may show it: every character but the last two starred
    ("1000000008" -> "********08"), whatever was typed (a wrong length, letters)."""
    clean = _ID_NOISE_RE.sub("", normalize_digits(text))
    if len(clean) <= MASK_KEEPS:
        return "*" * len(clean)
    return "*" * (len(clean) - MASK_KEEPS) + clean[-MASK_KEEPS:]
