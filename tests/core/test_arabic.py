"""Arabic folded for matching: the spellings of one word become one."""

import pytest

from core.identity.arabic import fold, starts_with_word, written_in

KEYWORDS = (fold("شكوى"), fold("بلاغ"), "complaint", fold("my transactions"))


@pytest.mark.parametrize(("typed", "folded"), [
    ("شَكْوَى", "شكوي"),  # diacritics, alef maqsura
    ("شكـــوى", "شكوي"),  # tatweel
    ("أإآٱ", "اااا"),  # alef forms
    ("مدرسة", "مدرسه"),  # ta marbuta
    ("مسؤول رئيس", "مسوول رييس"),  # hamza on waw and ya
    ("ﺷﻜﻮﻯ", "شكوي"),  # presentation forms (old phones)
    ("\u200fشكوى\u200e", "شكوي"),  # direction marks
    ("  COMPLAINT \n  ١٢٣ ", "complaint 123"),  # case, spaces, Arabic-Indic digits
])
def test_fold_makes_the_spellings_of_a_word_one(typed, folded):
    assert fold(typed) == folded


@pytest.mark.parametrize(("text", "found"), [
    ("  شَكْـوَى: الشارع مكسور", ("شكوي", "الشارع مكسور")),
    ("شكوىـ الشارع", ("شكوي", "الشارع")),
    ("Complaint  the road is broken", ("complaint", "the road is broken")),
    ("my  transactions", ("my transactions", "")),
    ("بلاغ", ("بلاغ", "")),
])
def test_a_keyword_is_found_and_the_rest_kept_as_written(text, found):
    assert starts_with_word(text, KEYWORDS) == found


@pytest.mark.parametrize("text", ["شكواي", "complaints about", "4471234", "", "   ",
                                  "my transactionsx", "ال شكوى"])
def test_a_longer_word_or_another_start_is_no_keyword(text):
    assert starts_with_word(text, KEYWORDS) is None


def test_a_text_is_arabic_when_any_arabic_letter_is_written():
    assert written_in("The street شارع") == "ar"
    assert written_in("The street 12") == "en"
    assert written_in("١٢٣") == "ar"  # Arabic-Indic digits are in the Arabic block
