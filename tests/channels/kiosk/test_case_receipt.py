"""The receipt of a case filed at the kiosk: the tracking number first and large, as the
screen writes its digits, and nothing of what the citizen wrote or their mobile."""

from __future__ import annotations

from datetime import datetime

from channels.kiosk.receipt import case_receipt_for, receipt_html
from core.calendar.dates import RIYADH

AT = datetime(2026, 11, 23, 10, 30, tzinfo=RIYADH)


def test_an_arabic_case_receipt_leads_with_the_tracking_number_in_arabic_digits():
    receipt = case_receipt_for("7482109366", "complaint", "أمانة المنطقة", "ar", "hall-1", AT)
    assert receipt.lines[0] == ("رقم المتابعة", "٧٤٨٢١٠٩٣٦٦")
    assert dict(receipt.lines)["الجهة"] == "أمانة المنطقة"
    assert receipt.headline == "٧٤٨٢١٠٩٣٦٦"
    html = receipt_html(receipt)
    assert 'dir="ltr" align="center" style="font-size:20pt' in html
    assert receipt.reference == "hall-1-20261123-103000"


def test_a_case_left_to_the_emirate_says_so_in_english():
    receipt = case_receipt_for("7482109366", "suggestion", "", "en", "hall-1", AT)
    lines = dict(receipt.lines)
    assert lines["Type"] == "Suggestion"
    assert lines["Agency"] == "The emirate sends it to the agency responsible"
    assert receipt.headline == "7482109366" and "74747" in receipt.text
