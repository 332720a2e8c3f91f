"""What a mail asks about: the transaction numbers in its subject and new text, and the
national ID (Iqama) that may verify its sender, found however a citizen writes them, and
masked in what is kept. Pure, no I/O."""

from __future__ import annotations

import re

from core.identity.digits import (
    extract_transaction_number,
    extract_transaction_numbers,
    normalize_digits,
)
from core.identity.national_id import InvalidNationalId, validate_national_id
from core.identity.phones import InvalidMobile, normalize_mobile

# One mail answers at most this many numbers; the rest of a long list is ignored.
MAX_NUMBERS = 10

_INVISIBLE_CHARS = "\u200e\u200f\u061c\u0640\u200b\u200c\u200d\ufeff"
_INVISIBLE = str.maketrans("", "", _INVISIBLE_CHARS)
# Dates (1447/05/02, 2026-11-23, 23.11.2026) and times (09:15) are not numbers to look up.
_DATE_RE = re.compile(r"(?<!\d)\d{1,4}\s?[-/.]\s?\d{1,2}\s?[-/.]\s?\d{1,4}(?!\d)")
_TIME_RE = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")
# International phone numbers, however spaced (+966 55 123 4567, 00966-55-...).
_PHONE_RE = re.compile(r"(?:\+|(?<!\d)00)\d[\d\s\-().]{6,}\d")
_TEN_DIGITS_RE = re.compile(r"(?<!\d)\d(?:[\s\-]?\d){9}(?!\d)")
# The same in any of the digits a citizen types (ASCII, Arabic-Indic, Persian).
_DIGIT = "[0-9\u0660-\u0669\u06f0-\u06f9]"
# ... with the invisible marks find_national_id tolerates anywhere between them, so that
# what verifies a sender is also what gets masked.
_GAP = f"[{_INVISIBLE_CHARS}]*"
_TEN_ANY_DIGITS_RE = re.compile(
    rf"(?<!{_DIGIT}){_DIGIT}(?:{_GAP}[\s\-]?{_GAP}{_DIGIT}){{9}}(?!{_DIGIT})")


# In free text a run shorter than this is not read as a transaction number: real numbers
# have seven digits (1447001 and on), postcodes five (11564), years four. A line that is
# only a number (the SMS rule, 4-20 digits) is still read as written.
MIN_FREE_TEXT_DIGITS = 6
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|"
    "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "يناير|فبراير|مارس|أبريل|ابريل|إبريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|"
    "نوفمبر|ديسمبر|كانون|شباط|آذار|نيسان|أيار|حزيران|تموز|آب|أيلول|تشرين|"
    "محرم|صفر|ربيع|جمادى|رجب|شعبان|رمضان|شوال|القعدة|الحجة")
# A year (1300-2100, Hijri or Gregorian) written next to a month's name, either side.
_YEAR = r"(?:1[3-9]\d\d|20\d\d|2100)"
_YEAR_NEAR_MONTH_RE = re.compile(
    rf"(?:(?:{_MONTHS})\W{{0,3}}(?:\d{{1,2}}\W{{0,3}})?{_YEAR}(?!\d)"
    rf"|(?<!\d){_YEAR}\W{{0,3}}(?:{_MONTHS}))", re.IGNORECASE)


def _clean(text: str) -> str:
    return normalize_digits(text).translate(_INVISIBLE)


def find_national_id(text: str) -> str | None:
    """The first valid national ID / Iqama (10 digits, Luhn) the text carries, or None."""
    for match in _TEN_DIGITS_RE.finditer(_clean(text)):
        try:
            return validate_national_id(match.group())
        except InvalidNationalId:
            continue
    return None


def redact_national_ids(text: str) -> str:
    """The text as written, with every valid national ID masked (IDs are never kept)."""
    def mask(match: re.Match[str]) -> str:
        try:
            validate_national_id(re.sub(r"[\s\-]", "", _clean(match.group())))
        except InvalidNationalId:
            return match.group()
        return "*" * len(match.group())

    return _TEN_ANY_DIGITS_RE.sub(mask, text)


def _is_identity(run: str, region: str) -> bool:
    """A digit run that is a national ID or a mobile number, not a transaction number."""
    try:
        validate_national_id(run)
        return True
    except InvalidNationalId:
        pass
    if len(run) < 9:
        return False
    try:
        normalize_mobile(run, region)
        return True
    except InvalidMobile:
        return False


def find_transaction_numbers(text: str, region: str = "SA") -> list[str]:
    """The transaction numbers a mail's subject and new text ask about, in order, at most
    ``MAX_NUMBERS``.

    A line that is only a number (with keywords such as "رقم المعاملة:") is read as the
    SMS channel reads a message, so "1447-001" is one number; elsewhere every run of
    ``MIN_FREE_TEXT_DIGITS``-20 digits counts, except dates, years beside a month's name,
    times, phone numbers, mobiles and national IDs.
    """
    found: dict[str, None] = {}
    for line in _clean(text).splitlines():
        line = _YEAR_NEAR_MONTH_RE.sub(" ", line)
        whole = extract_transaction_number(line)
        if whole is not None:
            runs = [whole]
        else:
            line = _PHONE_RE.sub(" ", _TIME_RE.sub(" ", _DATE_RE.sub(" ", line)))
            runs = [run for run in extract_transaction_numbers(line)
                    if len(run) >= MIN_FREE_TEXT_DIGITS]
        for run in runs:
            if not _is_identity(run, region):
                found.setdefault(run, None)
    return list(found)[:MAX_NUMBERS]
