"""What a receipt says (a pure function), and how a print queue's state is told."""

from __future__ import annotations

from datetime import datetime

import pytest
from PyQt6.QtPrintSupport import QPrinter

from channels.kiosk.receipt import (
    QtReceiptPrinter,
    queue_state,
    queue_usable,
    receipt_for,
    receipt_html,
    reference_point_size,
)
from channels.kiosk.state import Reply
from channels.kiosk.texts import masked, shown_digits
from core.calendar.dates import RIYADH
from tests.channels.kiosk.conftest import pdf_text

REPLY = Reply(found=True, text="Your transaction 4471234 is registered.", number="4471234",
              status_text="Registered")
AT = datetime(2026, 11, 23, 10, 30, tzinfo=RIYADH)
LONG_ID = "airport-terminal-2-departures-hall-b-kiosk-07"


def test_an_english_receipt_has_number_status_both_dates_and_a_reference():
    receipt = receipt_for(REPLY, "en", "hall-1", AT)
    lines = dict(receipt.lines)
    assert lines["Transaction number"] == "4471234"
    assert lines["Status"] == "Registered"
    assert "AH" in lines["Date"] and "2026" in lines["Date"]  # Hijri with Gregorian beside
    assert receipt.reference == "hall-1-20261123-103000"


def test_an_arabic_receipt_writes_arabic_digits_and_runs_right_to_left():
    receipt = receipt_for(REPLY, "ar", "hall-1", AT)
    assert dict(receipt.lines)["رقم المعاملة"] == "٤٤٧١٢٣٤"
    assert "٤٤٧١٢٣٤" in receipt.text and "4471234" not in receipt.text  # as on screen
    assert 'dir="rtl"' in receipt_html(receipt)
    assert receipt.reference == "hall-1-20261123-103000"  # a code to quote: ASCII


def test_the_reference_has_a_row_of_its_own_that_does_not_wrap():
    receipt = receipt_for(REPLY, "ar", "hall-1", AT)
    assert receipt.reference not in dict(receipt.lines).values()
    assert "white-space:nowrap" in receipt_html(receipt)
    assert reference_point_size(receipt.reference) == 9
    assert 5 < reference_point_size(LONG_ID + "-20261123-103000") < 9


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize("kiosk_id", ["hall-1", LONG_ID])
def test_the_printed_reference_stays_on_one_line(qt, tmp_path, lang, kiosk_id):
    from channels.kiosk.app import load_fonts

    printer = QtReceiptPrinter("", tmp_path, load_fonts())
    receipt = receipt_for(REPLY, lang, kiosk_id, AT)
    text = pdf_text(printer.print(receipt))
    assert receipt.reference in text  # not "...-10300 0", nor "-1-2026...hall" in Arabic


def test_digits_and_masking_on_screen():
    assert shown_digits("74747", "ar") == "٧٤٧٤٧"
    assert shown_digits("74747", "en") == "74747"
    assert masked("1234567897") == "\u25cf" * 10


@pytest.mark.parametrize(("state", "shown"), [
    (QPrinter.PrinterState.Idle, "ready: receipts"),
    (QPrinter.PrinterState.Active, "printing: receipts"),
    (QPrinter.PrinterState.Error, "stopped: receipts (paper out, a jam or the queue paused)"),
    (QPrinter.PrinterState.Aborted, "aborted: receipts"),
])
def test_a_print_queues_state_is_told_as_it_is(state, shown):
    assert queue_state("receipts", state) == shown
    assert queue_usable(state) is (state in (QPrinter.PrinterState.Idle,
                                             QPrinter.PrinterState.Active))
