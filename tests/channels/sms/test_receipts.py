"""Delivery receipts as SMSCs really send them; ids that match across hex and decimal."""

from __future__ import annotations

from datetime import datetime

import pytest

from channels.sms.receipts import (
    InvalidReceipt,
    ReceiptStatus,
    canonical_message_id,
    is_delivery_receipt,
    normalize_message_id,
    parse_receipt,
    readings_evident,
)

# (text, message_id, status, submitted, delivered, submit_date, done_date, err, text field)
RECEIPTS = [
    pytest.param(
        "id:2511231015 sub:001 dlvrd:001 submit date:2511231015 done date:2511231016 "
        "stat:DELIVRD err:000 text:المعاملة 4471234: مكتملة",
        "2511231015", ReceiptStatus.DELIVRD, 1, 1, datetime(2025, 11, 23, 10, 15),
        datetime(2025, 11, 23, 10, 16), "000", "المعاملة 4471234: مكتملة", id="arabic-text"),
    pytest.param(
        "id:0123456789 sub:001 dlvrd:001 submit date:0610191018 done date:0610191018 "
        "stat:DELIVRD err:000 text:Hello world",
        "0123456789", ReceiptStatus.DELIVRD, 1, 1, datetime(2006, 10, 19, 10, 18),
        datetime(2006, 10, 19, 10, 18), "000", "Hello world", id="kannel"),
    pytest.param(
        "id:75d1b26e-5fbb-4c9f-9fb7-4a3a8e3c2f11 sub:001 dlvrd:000 submit date:1811201315 "
        "done date:1811201415 stat:UNDELIV err:034 text:",
        "75d1b26e-5fbb-4c9f-9fb7-4a3a8e3c2f11", ReceiptStatus.UNDELIV, 1, 0,
        datetime(2018, 11, 20, 13, 15), datetime(2018, 11, 20, 14, 15), "034", "",
        id="jasmin-uuid"),
    pytest.param(
        "id:2913290658 sub:001 dlvrd:001 submit date:1510191418 done date:1510191418 "
        "stat:REJECTD err:001 Text:test stat:DELIVRD",
        "2913290658", ReceiptStatus.REJECTD, 1, 1, datetime(2015, 10, 19, 14, 18),
        datetime(2015, 10, 19, 14, 18), "001", "test stat:DELIVRD", id="logica-Text"),
    pytest.param(
        "ID:0000A1F3  SUB:001  DLVRD:000 SUBMIT DATE:251123101530 DONE DATE:251124101602 "
        " STAT:EXPIRED ERR:00B TEXT:",
        "0000A1F3", ReceiptStatus.EXPIRED, 1, 0, datetime(2025, 11, 23, 10, 15, 30),
        datetime(2025, 11, 24, 10, 16, 2), "00B", "", id="uppercase-seconds-spaces"),
    pytest.param(
        "id: 41459 stat: enroute", "41459", ReceiptStatus.ENROUTE, None, None, None, None,
        None, None, id="missing-fields"),
    pytest.param(
        "id:77 submit_date:2511231015 done_date:9913999999 stat:DELIVERED", "77",
        ReceiptStatus.DELIVRD, None, None, datetime(2025, 11, 23, 10, 15), None, None, None,
        id="underscored-keys-bad-date-long-stat"),
    pytest.param(
        "id:78 stat:ACCEPTD", "78", ReceiptStatus.ACCEPTD, None, None, None, None, None, None,
        id="accepted"),
    pytest.param(
        "id:79 stat:DELETED err:0", "79", ReceiptStatus.DELETED, None, None, None, None, "0",
        None, id="deleted"),
    pytest.param(
        "id:80 stat:FOO", "80", ReceiptStatus.UNKNOWN, None, None, None, None, None, None,
        id="unrecognised-stat"),
]


@pytest.mark.parametrize(
    ("text", "message_id", "status", "submitted", "delivered", "submit_date", "done_date",
     "error", "body"), RECEIPTS)
def test_parse_receipt(text, message_id, status, submitted, delivered, submit_date,
                       done_date, error, body):
    receipt = parse_receipt(text)

    assert receipt.message_id == message_id
    assert receipt.status is status
    assert (receipt.submitted, receipt.delivered) == (submitted, delivered)
    assert (receipt.submit_date, receipt.done_date) == (submit_date, done_date)
    assert receipt.error == error
    assert receipt.text == body


def test_receipted_message_id_and_message_state_tlvs_win():
    receipt = parse_receipt("id:41459 stat:ENROUTE", receipted_message_id="0000A1F3\x00",
                            message_state=2)

    assert receipt.message_id == "0000A1F3"
    assert receipt.status is ReceiptStatus.DELIVRD
    assert receipt.stat == "ENROUTE"


def test_receipt_without_any_id_is_invalid():
    with pytest.raises(InvalidReceipt):
        parse_receipt("stat:DELIVRD err:000")
    assert parse_receipt("", receipted_message_id="abc").status is ReceiptStatus.UNKNOWN


@pytest.mark.parametrize(("status", "final"), [
    (ReceiptStatus.DELIVRD, True), (ReceiptStatus.UNDELIV, True), (ReceiptStatus.EXPIRED, True),
    (ReceiptStatus.REJECTD, True), (ReceiptStatus.DELETED, True), (ReceiptStatus.ACCEPTD, True),
    (ReceiptStatus.ENROUTE, False), (ReceiptStatus.UNKNOWN, False),
])
def test_final_statuses(status, final):
    assert status.final is final


@pytest.mark.parametrize(("esm_class", "receipt"), [
    (0x04, True),  # SMSC delivery receipt
    (0x44, True),  # ... with UDHI
    (0x08, True),  # SME delivery acknowledgement
    (0x20, True),  # intermediate delivery notification
    (0x00, False),  # an ordinary MO: an inquiry
    (0x40, False),  # a concatenated MO
    (0x80, False),  # reply path
    (0x10, False),  # manual/user acknowledgement
])
def test_is_delivery_receipt(esm_class, receipt):
    assert is_delivery_receipt(esm_class) is receipt


@pytest.mark.parametrize(("value", "forms"), [
    ("0000A1F3", {"a1f3", "41459"}),
    ("41459", {"41459", "a1f3", "267353"}),
    ("  00ABCdef ", {"abcdef", str(0xABCDEF)}),
    ("75D1B26E-5FBB", {"75d1b26e-5fbb"}),
    ("0000", {"0"}),
    ("", set()),
    ("١٢٣", {"١٢٣"}),  # non-ASCII digits are not numbers here
])
def test_normalize_message_id(value, forms):
    assert normalize_message_id(value) == forms


@pytest.mark.parametrize(("submit_resp_id", "receipt_id"), [
    ("0000A1F3", "41459"),
    ("41459", "0000a1f3"),
    ("A1F3", "0000A1F3"),
    ("00012345", "12345"),
    ("3039", "12345"),
])
def test_ids_match_across_case_zeros_and_base(submit_resp_id, receipt_id):
    assert normalize_message_id(submit_resp_id) & normalize_message_id(receipt_id)


def test_different_ids_do_not_match():
    assert not normalize_message_id("a1f4") & normalize_message_id("41459")
    assert canonical_message_id("000A1F3") != canonical_message_id("41459")


@pytest.mark.parametrize(("value", "evident"), [
    ("0000A1F3", True),  # hex letters and padding
    ("a1f3", True),  # hex letters: it can only be hex
    ("0041459", True),  # a fixed-width id
    ("41459", False),  # decimal or hex: maybe another message's exact id
    ("0", False),
    ("75d1b26e-5fbb", False),  # no other reading at all
    ("", False),
])
def test_other_readings_are_tried_at_once_only_when_the_base_is_evident(value, evident):
    assert readings_evident(value) is evident
