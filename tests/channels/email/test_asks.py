"""Which mail about a transaction asks more than its status (``channels.email.asks``)."""

from __future__ import annotations

import pytest

from channels.email.asks import MIN_OWN_WORDS, asks_more, own_words


@pytest.mark.parametrize(("subject", "text"), [
    ("Transaction 1447001", ""),
    ("", "1447001"),
    # A subject alone is not read: a client's default, or a forger's line.
    ("Why is transaction 1447001 late? Who decides?", "1447001"),
    ("استعلام", "السلام عليكم\nأرجو إفادتي بحالة المعاملة رقم ١٤٤٧٠٠١\nوشكراً"),
    ("", "ما حالة معاملتي 1447001؟"),
    ("Re: status", "Hello, what is the status of my transaction 1447001? Thanks, regards"),
    ("", "Dear team,\nPlease let me know the current status of transaction no. 1447001."
         "\nBest regards,\nAhmed"),
    ("Follow up", "1447001 1447002 thank you"),
])
def test_a_status_request_is_not_a_question(subject: str, text: str) -> None:
    assert not asks_more(text)


@pytest.mark.parametrize(("subject", "text"), [
    ("", "معاملتي 1447001 متأخرة منذ شهر، ما سبب التأخير؟"),
    ("سؤال عن المعاملة 1447001", "هل ينقصها أي مستندات؟"),
    ("", "Re: 1447001\nWho signs the letter, and when?"),
    ("Transaction 1447001", "Why has it been waiting for two months? Which document is "
                            "missing?"),
    ("", "Hello, about 1447001: the department asked for a lease copy, where do I send "
         "it? Thanks"),
])
def test_words_of_its_own_are_a_question(subject: str, text: str) -> None:
    assert asks_more(text)


def test_a_question_mark_alone_is_not_enough() -> None:
    assert not asks_more("1447001?")
    assert not asks_more("status 1447001 ؟؟")


def test_the_threshold_is_words_of_its_own() -> None:
    words = ["delayed", "lease", "missing", "stamp"]
    for count in range(len(words) + 1):
        text = "1447001 " + " ".join(words[:count])
        assert asks_more(text) is (count >= MIN_OWN_WORDS)


def test_arabic_is_folded_before_it_is_compared() -> None:
    # Diacritics, tatweel and the alef forms do not make a stock word the mail's own.
    assert own_words("السَّلامُ عليـكم، أرجو إفادتي بحالة المعاملة") == []
    assert own_words("national ID 1012345672 and 0551234567") == ["national"]
