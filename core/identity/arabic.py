"""Arabic text folded for matching: the spellings one word is typed in become one.

People type the same word many ways: with or without diacritics (tashkeel), stretched
with tatweel (ـ), alef with or without hamza or madda (أ إ آ ٱ → ا), ya or alef maqsura
at a word's end (ى → ي), ta marbuta or ha (ة → ه), hamza on waw or ya (ؤ → و, ئ → ي),
Persian and Urdu forms of kaf and ya from other keyboards (ک → ك, ی → ي), presentation
forms from old phones (NFKC), and Arabic-Indic digits. ``fold`` makes them one, for
keywords (an SMS starting with "شكوى" however typed) and for the similarity of cases
(``core.voice.similar``). It is for matching only: what a citizen wrote is stored as
written.
"""

from __future__ import annotations

import re
import unicodedata

# Diacritics (harakat, tanween, shadda, sukun, dagger alef, Quranic marks), tatweel and
# the invisible marks a phone's keyboard or a copy-paste leaves (LRM, RLM, ALM, ZW*).
_DROP = ("\u0610\u0611\u0612\u0613\u0614\u0615\u0616\u0617\u0618\u0619\u061a"
         "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0653\u0654\u0655\u0656"
         "\u0657\u0658\u0659\u065a\u065b\u065c\u065d\u065e\u065f\u0670"
         "\u06d6\u06d7\u06d8\u06d9\u06da\u06db\u06dc\u06df\u06e0\u06e1\u06e2\u06e3\u06e4"
         "\u06e7\u06e8\u06ea\u06eb\u06ec\u06ed"
         "\u0640\u200b\u200c\u200d\u200e\u200f\u061c\ufeff")
_LETTERS = {
    "\u0623": "\u0627", "\u0625": "\u0627", "\u0622": "\u0627", "\u0671": "\u0627",  # alef
    "\u0649": "\u064a",  # alef maqsura → ya
    "\u0629": "\u0647",  # ta marbuta → ha
    "\u0624": "\u0648",  # waw with hamza → waw
    "\u0626": "\u064a",  # ya with hamza → ya
    "\u06a9": "\u0643",  # keheh (Persian kaf) → kaf
    "\u06cc": "\u064a", "\u06d2": "\u064a",  # Farsi ya, ya barree → ya
}
# Arabic-Indic and Eastern Arabic-Indic digits → ASCII.
_DIGITS = {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)}}
_TABLE = str.maketrans({**{ord(c): None for c in _DROP},
                        **{ord(k): v for k, v in _LETTERS.items()}, **_DIGITS})
_SPACE = re.compile(r"\s+")
_ARABIC_BLOCK = re.compile(r"[\u0600-\u06ff]")
# The most characters a keyword may take as typed (with its diacritics and tatweel).
KEYWORD_SPAN = 64


def written_in(text: str) -> str:
    """The language a citizen's text is in, as a case keeps it and a voice reads it:
    "ar" when anything of the Arabic block is in it (a letter, an Arabic-Indic digit),
    else "en"."""
    return "ar" if _ARABIC_BLOCK.search(text) else "en"


def fold(text: str) -> str:
    """``text`` folded for matching: NFKC, lower case (Latin), the Arabic spellings above
    made one, runs of white space one space, no space at either end."""
    folded = unicodedata.normalize("NFKC", text).translate(_TABLE).casefold()
    return _SPACE.sub(" ", folded).strip()


def starts_with_word(text: str, words: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``words`` (folded already) that ``text`` starts with as a whole word,
    and the text after it as written (its separator dropped): ``("شكوى", "الشارع ...")``
    for "  شَكْوَى: الشارع ..."; None when it starts with none of them."""
    stripped = text.lstrip()
    # Walk the original so that what follows is returned as the citizen wrote it; a
    # keyword is short, so the walk ends within its first characters whatever the text.
    for index in range(min(len(stripped), KEYWORD_SPAN)):
        folded_prefix = fold(stripped[:index + 1])
        if not folded_prefix:
            continue
        for word in words:
            if folded_prefix == word:
                rest = stripped[index + 1:]
                if not rest or not _continues_word(rest):
                    return word, rest.lstrip(" \t\r\n:،,.-—–\u0640").strip()
        if not any(word.startswith(folded_prefix) for word in words):
            return None
    return None


def _continues_word(rest: str) -> bool:
    """Whether ``rest`` goes on with the same word (a letter or a mark, not a space)."""
    for char in rest:
        if char in _DROP:
            continue  # a diacritic or tatweel within the word
        return char.isalnum()
    return False
