"""``استفسار <transaction number> <question>`` by SMS: an enquiry about that transaction
(``channels.sms.voice.classify``); without a number, an enquiry to the emirate."""

from __future__ import annotations

import pytest

from channels.sms.voice import ENQUIRY, Filing, classify, transaction_asked
from core.voice.tracking import damm_digit

TRACKING = "74821093" + "6"
TRACKING += str(damm_digit(TRACKING))


@pytest.mark.parametrize(("text", "intent"), [
    ("استفسار 1447001 متى تنتهي؟", Filing(ENQUIRY, "1447001 متى تنتهي؟", "1447001")),
    ("إستفسار ١٤٤٧٠٠١ ما المستندات الناقصة",
     Filing(ENQUIRY, "١٤٤٧٠٠١ ما المستندات الناقصة", "1447001")),
    ("question 1447-001 why is it late?", Filing(ENQUIRY, "1447-001 why is it late?",
                                                  "1447001")),
    ("Question: 1447001: which office?", Filing(ENQUIRY, "1447001: which office?",
                                                "1447001")),
    # Without a number: an enquiry to the emirate, as before.
    ("استفسار عن الرسوم", Filing(ENQUIRY, "عن الرسوم")),
    ("question 12 days is too long", Filing(ENQUIRY, "12 days is too long")),
    # A number and no question: the help, as the keyword alone gets.
    ("استفسار 1447001", Filing(ENQUIRY, "", "1447001")),
    # A tracking number is not a transaction's.
    (f"استفسار {TRACKING} متى", Filing(ENQUIRY, f"{TRACKING} متى")),
])
def test_an_enquiry_about_a_transaction(text, intent):
    assert classify(text) == intent


def test_only_an_enquiry_carries_a_transaction():
    assert classify("شكوى 1447001 تأخرت").transaction is None


def test_the_number_and_the_question():
    assert transaction_asked(" 1447001   متى؟ ") == ("1447001", "متى؟")
    assert transaction_asked("متى 1447001") == (None, "متى 1447001")
