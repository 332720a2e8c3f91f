"""Tests for core.identity."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.identity.addresses import mask_email
from core.identity.digits import normalize_digits
from core.identity.masking import mask_contacts
from core.identity.national_id import (
    InvalidNationalId,
    has_valid_check_digit,
    hash_national_id,
    national_id_with_check_digit,
    validate_national_id,
)
from core.identity.phones import InvalidMobile, mask_mobile, normalize_mobile
from tests.properties import PROPERTY, outside_text

KEY = b"test-key"


@pytest.mark.parametrize(
    ("first9", "expected"),
    [
        # Hand-computed with the Luhn rule.
        ("100000000", "1000000008"),
        ("212345678", "2123456788"),
    ],
)
def test_check_digit_is_luhn_over_first_nine(first9: str, expected: str) -> None:
    assert national_id_with_check_digit(first9) == expected


@pytest.mark.parametrize("first9", ["12345678", "1234567890", "12345678a", "١٢٣٤٥٦٧٨٩"])
def test_check_digit_helper_rejects_non_nine_ascii_digits(first9: str) -> None:
    with pytest.raises(InvalidNationalId):
        national_id_with_check_digit(first9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Arabic digits
        ("٢١٢٣٤٥٦٧٨٨", "2123456788"),
        ("۱۰۰۰۰۰۰۰۰۸", "1000000008"),
        ("٢١٢ ٣٤٥ ٦٧٨٨", "2123456788"),
        # ASCII
        ("1000000008", "1000000008"),
        ("2123456788", "2123456788"),
        (" 1000-000-008 ", "1000000008"),
        ("1000\u00a0000008", "1000000008"),
        (national_id_with_check_digit("105432167"), national_id_with_check_digit("105432167")),
    ],
)
def test_valid_national_id_is_returned_clean(text: str, expected: str) -> None:
    assert validate_national_id(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("٢١٢٣٤٥٦٧٨", "national_id_length"),
        ("٣١٢٣٤٥٦٧٨٨", "national_id_prefix"),
        ("212345678", "national_id_length"),
        ("21234567888", "national_id_length"),
        ("", "national_id_length"),
        ("3123456788", "national_id_prefix"),
        ("0000000000", "national_id_prefix"),
        ("21234567a8", "national_id_format"),
        ("abc", "national_id_format"),
    ],
)
def test_invalid_national_id_raises_with_code(text: str, code: str) -> None:
    with pytest.raises(InvalidNationalId) as info:
        validate_national_id(text)
    assert info.value.code == code
    assert str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", ["1012345678", "٢١٢٣٤٥٦٧٨٧", "1000000009"])
def test_an_id_whose_check_digit_does_not_add_up_is_still_an_id(text: str) -> None:
    # The records system decides whose ID is whose (CONTRACT.md's own example fails Luhn).
    assert validate_national_id(text) == normalize_digits(text)
    assert has_valid_check_digit(text) is False


@pytest.mark.parametrize(
    "text", ["1000000008", "٢١٢٣٤٥٦٧٨٨", national_id_with_check_digit("105432167")])
def test_a_well_formed_id_has_a_valid_check_digit(text: str) -> None:
    assert has_valid_check_digit(text) is True


def test_national_id_hash_is_hmac_sha256_of_clean_id() -> None:
    expected = hmac.new(KEY, b"2123456788", hashlib.sha256).hexdigest()
    assert hash_national_id("٢١٢٣٤٥٦٧٨٨", KEY) == expected
    assert hash_national_id("212-345-6788", KEY) == expected
    assert hash_national_id("2123456788", b"other-key") != expected
    assert len(expected) == 64


def test_hashing_invalid_national_id_raises() -> None:
    with pytest.raises(InvalidNationalId):
        hash_national_id("3123456788", KEY)


def test_hashing_with_empty_key_raises() -> None:
    with pytest.raises(ValueError):
        hash_national_id("2123456788", b"")


@pytest.mark.parametrize(
    "text",
    [
        # Arabic digits
        "٠٥٥١٢٣٤٥٦٧",
        "۰۵۵۱۲۳۴۵۶۷",
        "+٩٦٦٥٥١٢٣٤٥٦٧",
        "\u200f٠٥٥١٢٣٤٥٦٧\u200f",
        # ASCII
        "0551234567",
        "966551234567",
        "+966551234567",
        "00966551234567",
        "055 123 4567",
        "055-123-4567",
        "+966 (55) 123-4567",
        "551234567",
        " 0551234567 ",
    ],
)
def test_saudi_mobile_forms_normalize_to_e164(text: str) -> None:
    assert normalize_mobile(text) == "+966551234567"


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("0501234567", "SA", "+966501234567"),
        ("0591234567", "SA", "+966591234567"),
        ("+971501234567", "SA", "+971501234567"),
        ("0501234567", "AE", "+971501234567"),
        # US numbers are FIXED_LINE_OR_MOBILE, which is accepted.
        ("+1 202 555 0123", "SA", "+12025550123"),
    ],
)
def test_other_mobiles_normalize_to_e164(text: str, region: str, expected: str) -> None:
    assert normalize_mobile(text, region) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("٠١١٢٣٤٥٦٧٨", "mobile_not_mobile"),
        ("0112345678", "mobile_not_mobile"),
        ("+966112345678", "mobile_not_mobile"),
        ("8001234567", "mobile_not_mobile"),
        ("920000000", "mobile_not_mobile"),
        ("مرحبا", "mobile_invalid"),
        ("", "mobile_invalid"),
        ("abc", "mobile_invalid"),
        ("12", "mobile_invalid"),
        ("05512345678", "mobile_invalid"),
        ("0551234567abc", "mobile_invalid"),
        ("call 0551234567", "mobile_invalid"),
        ("055-FLOWERS", "mobile_invalid"),
    ],
)
def test_invalid_or_non_mobile_numbers_raise_with_code(text: str, code: str) -> None:
    with pytest.raises(InvalidMobile) as info:
        normalize_mobile(text)
    assert info.value.code == code
    assert str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        ("+966551234567", "+966*******67"),
        ("+971501234567", "+971*******67"),
        ("+12025550123", "+1********23"),
        ("0551234567", "********67"),
        ("7", "*"),
        ("", ""),
    ],
)
def test_mobile_mask_keeps_country_code_and_last_two_digits(e164: str, expected: str) -> None:
    assert mask_mobile(e164) == expected


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("علي@example.sa", "ع***@example.sa"),
        ("ali@example.com", "a***@example.com"),
        ("a@example.com", "a***@example.com"),
        ("first.last@gov.sa", "f***@gov.sa"),
        ("@example.com", "***@example.com"),
        ("not-an-email", "***"),
    ],
)
def test_email_mask_keeps_first_letter_and_domain(addr: str, expected: str) -> None:
    assert mask_email(addr) == expected


@pytest.mark.parametrize(("text", "masked"), [
    ("SMTP 550 5.1.1 <victim@example.com>: Recipient address rejected",
     "SMTP 550 5.1.1 <v***@example.com>: Recipient address rejected"),
    ("refused +966551234567 and 0551234567", "refused +966*******67 and ********67"),
    ("to +966 55 123 4567.", "to +966*******67."),
    # What is not a contact stays as it was: codes, short numbers, dates and times.
    ("gave up after 5 attempts: SMTP 452 4.2.2 mailbox full",
     "gave up after 5 attempts: SMTP 452 4.2.2 mailbox full"),
    ("delivery receipt: UNDELIV at 2025-11-23T06:16:05Z",
     "delivery receipt: UNDELIV at 2025-11-23T06:16:05Z"),
    ("failed at 2025-11-23 06:16:05", "failed at 2025-11-23 06:16:05"),
    ("SMTP 550 5.7.60 SendAs permission denied", "SMTP 550 5.7.60 SendAs permission denied"),
    ("SMTP 421 4.7.0 try again in 300 seconds", "SMTP 421 4.7.0 try again in 300 seconds"),
    # Masking twice changes nothing.
    ("v***@example.com +966*******67", "v***@example.com +966*******67"),
    # A citizen's text as published: numbers grouped, in Arabic-Indic digits, glued to
    # the conjunction و or to a word, a national ID.
    ("اتصلوا على 050 123 4567", "اتصلوا على ********67"),
    ("جوالي 050-123-4567.", "جوالي ********67."),
    ("جوالي 050.123.4567", "جوالي ********67"),
    ("جوالي ٠٥٠ ١٢٣ ٤٥٦٧", "جوالي ********67"),
    ("جوالي ۰۵۰۱۲۳۴۵۶۷ رجاءً", "جوالي ********67 رجاءً"),
    ("رقمي و0501234567", "رقمي و********67"),
    ("رقمي و+966501234567", "رقمي و+966*******67"),
    ("هويتي1234567897 وشكرًا", "هويتي********97 وشكرًا"),
    ("ID:1234567897", "ID:********97"),
    ("call +966-50-123-4567", "call +966*******67"),
    # A case number is masked too: it is another person's case for all the reader knows.
    ("بخصوص البلاغ 7123456780", "بخصوص البلاغ ********80"),
    # Ordinary numbers stay readable: years, amounts, counts, a date, a time, a six-digit
    # reference.
    ("في عام 2024 دفعت 1500 ريال و 350 هللة لـ 3 أشهر",
     "في عام 2024 دفعت 1500 ريال و 350 هللة لـ 3 أشهر"),
    ("منذ ١٤٤٦/٠٥/١٢ الساعة ١٠:٣٠ والمبلغ ١٢٥٠٠٠ ريال",
     "منذ ١٤٤٦/٠٥/١٢ الساعة ١٠:٣٠ والمبلغ ١٢٥٠٠٠ ريال"),
    ("on 23.11.2025 at 06:16, 1,250,000 SAR", "on 23.11.2025 at 06:16, 1,250,000 SAR"),
    ("at (24.713600, 46.675300)", "at (24.713600, 46.675300)"),
])
def test_contacts_in_free_text_are_masked(text, masked):
    assert mask_contacts(text) == masked


_DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹"
_RUN_OF_SEVEN = re.compile(r"\d{7,}")
_number_like = st.text(alphabet=_DIGITS + " -.+/:\u00a0وهيتab@*", max_size=120)


@PROPERTY
@given(st.one_of(outside_text, _number_like))
def test_no_run_of_seven_digits_survives_masking(text):
    """Whatever a citizen writes, no run of 7 digits or more (any script) is published;
    and masking what was masked changes nothing."""
    masked = mask_contacts(text)
    assert not _RUN_OF_SEVEN.search(masked), masked
    assert mask_contacts(masked) == masked
