"""Tests for core.digits."""

from __future__ import annotations

import pytest

from core.identity.digits import (
    extract_transaction_number,
    extract_transaction_numbers,
    normalize_digits,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),
        ("رقم ٤٤٧١٢٣٤", "رقم 4471234"),
        ("0123456789", "0123456789"),
        ("abc-12 ", "abc-12 "),
        ("", ""),
    ],
)
def test_arabic_indic_and_persian_digits_become_ascii(text: str, expected: str) -> None:
    assert normalize_digits(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Arabic
        ("٤٤٧١٢٣٤", "4471234"),
        ("  ٤٤٧١٢٣٤ .", "4471234"),
        ("۴۴۷۱۲۳۴", "4471234"),
        ("استعلام ٤٤٧١٢٣٤", "4471234"),
        ("استعلم 4471234", "4471234"),
        ("حالة: 4471234", "4471234"),
        ("معاملة #4471234", "4471234"),
        ("رقم المعاملة: ٤٤٧-١٢٣٤", "4471234"),
        ("الرقم 4471234", "4471234"),
        ("٤٤٧١٢٣٤،", "4471234"),
        ("٤٤٧١٢٣٤۔", "4471234"),
        ("٤٤٧ـ١٢٣٤", "4471234"),
        ("\u200f٤٤٧١٢٣٤\u200f", "4471234"),
        ("٤٤٧\u061c١٢٣٤", "4471234"),
        # English / separators
        ("4471234", "4471234"),
        ("447-1234", "4471234"),
        ("447 1234", "4471234"),
        ("447.1234", "4471234"),
        ("2025/000123", "2025000123"),
        ("447\u00a01234", "4471234"),
        ("#4471234#", "4471234"),
        ("(4471234)", "4471234"),
        ("status: 4471234", "4471234"),
        ("STATUS 4471234", "4471234"),
        ("Query#4471234", "4471234"),
        ("inquiry 4471234?", "4471234"),
        ("txn4471234", "4471234"),
        ("No. 4471234", "4471234"),
        ("status no: 4471234", "4471234"),
        ("number 4471234", "4471234"),
        ("1234", "1234"),
        ("1" * 20, "1" * 20),
    ],
)
def test_single_transaction_number_is_extracted(text: str, expected: str) -> None:
    assert extract_transaction_number(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        # Arabic
        "استعلام",
        "مرحبا",
        "أريد الاستعلام عن 4471234",
        "رقم ٤٤٧١٢٣٤ و ٥٥٥١٢٣٤",
        "٤٤٧١٢٣٤ ٥٥٥١٢٣٤",
        "٤٤٧١٢٣٤، ٥٥٥١٢٣٤",
        # English / other
        "",
        "   ",
        "hello",
        "status",
        "hello 4471234",
        "4471234 please",
        "status4471234x",
        "4471234 5551234",
        "4471234, 5551234",
        "123",
        "12-3",
        "1" * 21,
        "4471234a",
        "nothing 4471234",
    ],
)
def test_no_single_transaction_number_gives_none(text: str) -> None:
    assert extract_transaction_number(text) is None


def test_keyword_must_be_a_whole_word() -> None:
    assert extract_transaction_number("nope 4471234") is None
    assert extract_transaction_number("statuses 4471234") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Arabic
        ("السلام عليكم، رقم المعاملة ٤٤٧١٢٣٤ وشكرا", ["4471234"]),
        ("المعاملات: ٤٤٧١٢٣٤ و ۵۵۵۱۲۳۴ ثم ٤٤٧١٢٣٤ مرة أخرى", ["4471234", "5551234"]),
        # English / other
        ("Ref 4471234, also 5551234 and 4471234 again", ["4471234", "5551234"]),
        ("call 123 or 99", []),
        ("447-1234", ["1234"]),
        ("2025-000123", ["2025", "000123"]),
        ("x" + "1" * 21 + "x 1234", ["1234"]),
        ("1" * 20, ["1" * 20]),
        ("", []),
    ],
)
def test_all_distinct_digit_runs_are_listed_in_order(text: str, expected: list[str]) -> None:
    assert extract_transaction_numbers(text) == expected
