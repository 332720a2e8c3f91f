"""Tracking numbers: their shape, their check digit, and telling them from the other
numbers citizens send."""

from __future__ import annotations

import pytest

from core.identity.digits import extract_transaction_number
from core.voice.tracking import damm_digit, is_tracking, new_tracking, parse_tracking


def test_damm_check_digits_of_known_numbers():
    # Worked example of the Damm algorithm: 572 -> 4.
    assert damm_digit("572") == 4
    assert damm_digit("5724") == 0


def test_new_numbers_are_ten_digits_starting_with_seven_and_check():
    numbers = {new_tracking() for _ in range(2000)}
    assert len(numbers) > 1990  # random, not a counter
    for number in numbers:
        assert len(number) == 10 and number.isascii() and number.isdigit()
        assert number[0] == "7" and is_tracking(number)


def test_every_single_digit_error_and_adjacent_swap_is_caught():
    number = new_tracking()
    for i in range(10):
        for digit in "0123456789":
            typo = number[:i] + digit + number[i + 1:]
            assert is_tracking(typo) == (typo == number)
    for i in range(9):
        swapped = number[:i] + number[i + 1] + number[i] + number[i + 2:]
        assert is_tracking(swapped) == (swapped == number)


@pytest.mark.parametrize("typed", ["{n}", " {n} ", "{a}", "{n3}-{n4}-{n3b}", "{n3} {n4} {n3b}"])
def test_a_number_as_typed_or_read_out_is_parsed(typed):
    number = new_tracking()
    arabic = number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    text = typed.format(n=number, a=arabic, n3=number[:3], n4=number[3:7], n3b=number[7:])
    assert parse_tracking(text) == number


@pytest.mark.parametrize("text", [
    "4471234",  # a transaction number
    "1012345678",  # a national ID (starts with 1)
    "0551234567",  # a mobile
    "+966551234567",
    "7000000000",  # right shape, wrong check digit
    "71234567890",  # eleven digits
    "شكوى 7000000001",  # words
    "",
])
def test_other_numbers_are_not_tracking_numbers(text):
    if text == "7000000000":
        assert damm_digit(text) != 0
    assert parse_tracking(text) is None


def test_a_tracking_number_is_told_apart_from_a_transaction_number_by_its_shape():
    # Both read as digits; the SMS channel asks parse_tracking first, then falls back.
    number = new_tracking()
    assert extract_transaction_number(number) == number
    assert parse_tracking(number) == number
    assert parse_tracking("4471234") is None
