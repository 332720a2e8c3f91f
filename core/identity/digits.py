"""Digit normalization and transaction-number extraction from citizen free text."""

from __future__ import annotations

import re

__all__ = [
    "normalize_digits",
    "extract_transaction_number",
    "extract_transaction_numbers",
]

MIN_NUMBER_LENGTH = 4
MAX_NUMBER_LENGTH = 20

# Arabic-Indic (U+0660-0669) and Extended Arabic-Indic / Persian (U+06F0-06F9) -> ASCII.
_DIGIT_TABLE = str.maketrans(
    "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
    "\u06f0\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6\u06f7\u06f8\u06f9",
    "01234567890123456789",
)

# Invisible characters removed before parsing: LRM, RLM, Arabic letter mark, tatweel,
# zero-width space/joiners and BOM.
_INVISIBLE_TABLE = str.maketrans("", "", "\u200e\u200f\u061c\u0640\u200b\u200c\u200d\ufeff")

# Leading keywords a citizen may type before the number ("استعلام 4471234", "status: 4471234").
# Arabic keywords may carry the definite article ("المعاملة"); several may follow each
# other ("رقم المعاملة", "status no"). A keyword must not be followed by another letter.
_KEYWORDS = (
    "استعلام",
    "استعلم",
    "حالة",
    "معاملة",
    "رقم",
    "inquiry",
    "status",
    "number",
    "query",
    "txn",
    "no",
)
_KEYWORD = r"(?:(?:ال)?(?:{})(?![^\W\d_]))".format("|".join(_KEYWORDS))
_KEYWORDS_RE = re.compile(rf"^[\W_]*(?:{_KEYWORD}[\s:#]*)+", re.IGNORECASE)

# Separators tolerated *inside* a number. "Weak" ones (whitespace incl. NBSP, commas, Arabic
# thousands separator) may also separate two different numbers; "strong" ones (dashes, dot,
# slash, Arabic decimal separator and full stop) always join.
_WEAK_SEP = r"\s,\u060c\u066c"
_STRONG_SEP = r"\-./\u066b\u06d4\u2010-\u2015"
_SEP = f"[{_WEAK_SEP}{_STRONG_SEP}]+"
# Whole remaining text: optional punctuation, digit groups joined by separators, punctuation.
_NUMBER_BODY_RE = re.compile(rf"[\W_]*([0-9]+(?:{_SEP}[0-9]+)*)[\W_]*")
_GROUP_SPLIT_RE = re.compile(rf"({_SEP})")
_STRONG_SEP_RE = re.compile(f"[{_STRONG_SEP}]")

# Contiguous ASCII digit runs of 4..20 digits, not part of a longer run.
_DIGIT_RUN_RE = re.compile(rf"(?<![0-9])[0-9]{{{MIN_NUMBER_LENGTH},{MAX_NUMBER_LENGTH}}}(?![0-9])")


def normalize_digits(text: str) -> str:
    """Map Arabic-Indic and Persian digits to ASCII 0-9; everything else is kept."""
    return text.translate(_DIGIT_TABLE)


def extract_transaction_number(text: str) -> str | None:
    """Return the single transaction number in short free text, digits only, or None.

    Rule:
      1. Digits are normalized to ASCII; LRM/RLM/ALM, tatweel and zero-width marks removed.
      2. Optional leading keyword(s) are stripped (case-insensitive): استعلام, استعلم, حالة,
         معاملة, رقم (Arabic ones optionally with "ال"), status, query, inquiry, txn, no,
         number, each optionally followed by ':' or '#'.
      3. What remains must be only digit groups, separators between them (whitespace, NBSP,
         commas, '-', '.', '/', Arabic comma/full stop) and punctuation around them.
         Any other word or letter -> None.
      4. Groups are joined into one number, except that two groups of >= 4 digits separated
         only by whitespace/commas are two different numbers -> None ("4471234 5551234").
      5. The joined number must have 4..20 digits.
    """
    cleaned = normalize_digits(text).translate(_INVISIBLE_TABLE)
    cleaned = _KEYWORDS_RE.sub("", cleaned, count=1)
    match = _NUMBER_BODY_RE.fullmatch(cleaned)
    if match is None:
        return None
    parts = _GROUP_SPLIT_RE.split(match.group(1))
    groups = parts[0::2]
    separators = parts[1::2]
    for left, sep, right in zip(groups, separators, groups[1:], strict=False):
        if (
            not _STRONG_SEP_RE.search(sep)
            and len(left) >= MIN_NUMBER_LENGTH
            and len(right) >= MIN_NUMBER_LENGTH
        ):
            return None
    number = "".join(groups)
    if not MIN_NUMBER_LENGTH <= len(number) <= MAX_NUMBER_LENGTH:
        return None
    return number


def extract_transaction_numbers(text: str) -> list[str]:
    """Return distinct contiguous runs of 4..20 digits in order of first appearance.

    Meant for long text (e-mail bodies). Digits are normalized first; separators are NOT
    joined, and runs longer than 20 digits are ignored entirely.
    """
    seen: dict[str, None] = {}
    for run in _DIGIT_RUN_RE.findall(normalize_digits(text)):
        seen.setdefault(run, None)
    return list(seen)
