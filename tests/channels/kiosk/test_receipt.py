"""What a receipt says (a pure function), and how a print queue's state is told."""

from __future__ import annotations

from datetime import datetime

import pytest
from PyQt6.QtPrintSupport import QPrinter

from channels.kiosk.flow import Reply
from channels.kiosk.receipt import queue_state, queue_usable, receipt_for, receipt_html
from channels.kiosk.texts import masked, shown_digits
from core.dates import RIYADH

REPLY = Reply(found=True, text="Your transaction 4471234 is registered.", number="4471234",
              status_text="Registered")
AT = datetime(2026, 11, 23, 10, 30, tzinfo=RIYADH)


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
    assert 'dir="rtl"' in receipt_html(receipt)


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
