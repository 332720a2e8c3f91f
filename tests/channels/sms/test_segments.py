"""A long SMS (a case's answer, a voice notice) split at word boundaries: GSM-7 when it
fits, else UCS-2; every part within its size, the parts joined are the text, no word
cut unless it is longer than a part, no character cut ever, and no more parts than
splitting between words needs."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.sms.encoding import (
    DATA_CODING_GSM7,
    DATA_CODING_UCS2,
    decode_short_message,
    segment_count,
    sms_parts,
)
from tests.properties import PROPERTY

EMOJI = "\U0001f600"


def body(segment) -> bytes:
    return segment.payload[6:] if segment.total > 1 else segment.payload


def texts_of(segments) -> list[str]:
    """Each part's text, decoded on its own (as a phone that shows parts apart would)."""
    return [decode_short_message(body(s), s.data_coding) for s in segments]


def capacity(segment) -> int:
    """What a part holds: 153 septets (one octet each here) or 67 UTF-16 units."""
    return 153 if segment.data_coding == DATA_CODING_GSM7 else 134


ANSWER_AR = ("الرد على طلبك 7482109365: تمت صيانة الرصيف أمام المدرسة الابتدائية في حي "
             "النزهة، ونعتذر عن التأخير. قيّم الرد بإرسال رقم من 1 إلى 5، أو أرسل 0 حتى "
             "20 ديسمبر 2026 لإعادة فتحه.")
ANSWER_EN = ("Answer to your request 7482109365: the pavement in front of the primary "
             "school in Al Nuzha was repaired on Sunday, and we apologise for the delay. "
             "Rate it by sending 1 to 5, or send 0 by 20 December 2026 to reopen it.")


@pytest.mark.parametrize(("text", "coding", "count"), [(ANSWER_AR, DATA_CODING_UCS2, 3),
                                                       (ANSWER_EN, DATA_CODING_GSM7, 2)])
def test_an_answer_is_split_between_words(text, coding, count):
    segments = sms_parts(text, reference=9)
    parts = texts_of(segments)

    assert len(segments) == count and {s.data_coding for s in segments} == {coding}
    assert "".join(parts) == text
    assert all(part.endswith(" ") for part in parts[:-1])  # each ends on a whole word
    words = text.split(" ")
    assert all(word in words for part in parts for word in part.split(" ") if word)


def test_a_word_that_starts_the_next_part_is_not_cut():
    text = "a" * 150 + " " + "b" * 10
    assert texts_of(sms_parts(text, 1)) == ["a" * 150 + " ", "b" * 10]


def test_a_break_right_after_a_full_part_keeps_the_whole_part():
    text = "a" * 153 + " " + "b" * 10
    assert texts_of(sms_parts(text, 1)) == ["a" * 153, " " + "b" * 10]


def test_a_word_longer_than_a_part_is_cut_between_characters():
    link = "https://example.gov.sa/" + "x" * 200
    parts = texts_of(sms_parts(link, 1))
    assert parts == [link[:153], link[153:]]
    arabic = "ب" * 66 + EMOJI + "ب" * 10  # the pair would straddle units 67 and 68
    parts = texts_of(sms_parts(arabic, 1))
    assert parts == ["ب" * 66, EMOJI + "ب" * 10]


def test_a_word_is_cut_rather_than_cost_one_more_sms():
    text = "a" * 150 + " " + "b" * 155  # whole words would take three parts, not two
    assert texts_of(sms_parts(text, 1)) == ["a" * 150 + " bb", "b" * 153]
    assert segment_count(text) == 2


def test_a_form_feed_is_no_line_break():
    text = "a" * 150 + "\x0c" + "b" * 20  # the form feed is ESC + 0x0A in GSM-7
    parts = texts_of(sms_parts(text, 1))
    assert "".join(parts) == text
    assert all("\ufffd" not in part for part in parts)


def test_a_line_break_is_a_boundary():
    text = "a" * 100 + "\n" + "b" * 100
    assert texts_of(sms_parts(text, 1)) == ["a" * 100 + "\n", "b" * 100]


# --- properties ---------------------------------------------------------------------------

words = st.one_of(
    st.text(alphabet="abcdefghij€{}", min_size=1, max_size=12),
    st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوية", min_size=1, max_size=12),
    st.text(alphabet="ا" + EMOJI + "🇸🇦", min_size=1, max_size=6),
    st.text(alphabet="x", min_size=60, max_size=200),  # longer than a part
)
separators = st.sampled_from([" ", "  ", "\n", " \n"])
sentences = st.lists(st.tuples(words, separators), max_size=80).map(
    lambda pairs: "".join(word + gap for word, gap in pairs))


def _units(char: str, coding: int) -> int:
    """What one character takes: septets in GSM-7, UTF-16 code units in UCS-2."""
    if coding == DATA_CODING_GSM7:
        return 2 if char in "€{}^\\[~]|\x0c" else 1
    return 2 if ord(char) > 0xFFFF else 1


def fewest_parts(text: str, coding: int) -> int:
    """The fewest parts ``text`` takes split anywhere between two characters (a reference
    apart from the code under test)."""
    limit = 153 if coding == DATA_CODING_GSM7 else 67
    parts, used = 1, 0
    for char in text:
        if used + _units(char, coding) > limit:
            parts, used = parts + 1, 0
        used += _units(char, coding)
    return parts


BREAK = re.compile(r"[ \n\r]")


@PROPERTY
@given(sentences)
def test_parts_fit_join_to_the_text_and_cut_words_only_when_they_must(text):
    segments = sms_parts(text, 5)
    parts = texts_of(segments)
    coding = segments[0].data_coding
    limit = 153 if coding == DATA_CODING_GSM7 else 67

    assert len(segments) == segment_count(text)
    assert "".join(parts) == text  # each part decoded alone: no character cut
    assert all("\ufffd" not in part for part in parts)
    if len(parts) == 1:
        return
    assert len(parts) == fewest_parts(text, coding)  # as few as the text allows
    assert all(sum(_units(c, coding) for c in part) <= limit for part in parts)
    for index, (part, following) in enumerate(zip(parts, parts[1:], strict=False)):
        rest = "".join(parts[index + 1:])
        left = len(parts) - index - 1
        if BREAK.search(part[-1]) or BREAK.match(following):
            # Ended between words, at the last break that fits.
            first_word = re.match(r"[^ \n\r]*[ \n\r]?", following).group(0)
            if BREAK.search(first_word[-1:] or "x"):
                assert sum(_units(c, coding) for c in part + first_word) > limit
        elif BREAK.search(part):
            # Cut inside a word though it had a break: ending there costs one more SMS.
            cut = max(m.end() for m in BREAK.finditer(part))
            assert fewest_parts(part[cut:] + rest, coding) > left


@PROPERTY
@given(st.text(max_size=600))
def test_any_text_rejoins_whatever_it_holds(text):
    segments = sms_parts(text, 200)
    assert "".join(texts_of(segments)) == text
    assert len(segments) == segment_count(text)
    if len(segments) > 1:
        assert len(segments) == fewest_parts(text, segments[0].data_coding)
