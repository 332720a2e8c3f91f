"""Tracking numbers: what a citizen reads out, types on a keypad and sends by SMS.

The format: exactly ten ASCII digits, the first always ``7``, then eight random digits,
then a Damm check digit over the first nine ("7 4821 0936 5"). Damm catches every
single-digit error and every swap of two adjacent digits, the two mistakes people make
reading a number out or keying it in, and unlike Luhn or Verhoeff it needs no weights.

How a message is told apart from the numbers the gateway already reads:

* a transaction number is 4 to 20 digits (``core.identity.digits``) of any shape; a
  national ID is ten digits starting with 1 or 2; a Saudi mobile ten digits starting 05
  (or 9665… / +9665…);
* a tracking number is a message whose digits (Arabic-Indic accepted, spaces and dashes
  between groups ignored) are exactly ten, start with 7 and pass the check digit:
  ``parse_tracking`` says so. Of all ten-digit strings one in a hundred has that
  shape (one in ten starts with 7, and one in ten of those passes the check), so a
  transaction number is rarely of it; a channel that finds
  no case under such a number may still answer it as a transaction number.

Random, not sequential: a citizen's number tells nothing about anyone else's case, and
guessing one is a 1 in 10^8 shot (a lookup by SMS also needs the citizen's mobile).
"""

from __future__ import annotations

import re
import secrets

from core.identity.digits import normalize_digits

PREFIX = "7"
LENGTH = 10
RANDOM_DIGITS = LENGTH - len(PREFIX) - 1

# The Damm algorithm's totally anti-symmetric quasigroup of order 10 (Damm, 2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

# What may sit between digit groups as typed: spaces (NBSP too), dashes, invisible marks.
_NOISE_RE = re.compile(r"[\s\-\u2010-\u2015\u200e\u200f\u061c\u0640]+")
_SHAPE_RE = re.compile(rf"{PREFIX}[0-9]{{{LENGTH - 1}}}")


def damm_digit(digits: str) -> int:
    """The Damm check digit of ASCII ``digits`` (0 for a string that already ends with
    its check digit)."""
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][ord(digit) - 48]
    return interim


def new_tracking() -> str:
    """A fresh random tracking number (the caller retries on the rare collision)."""
    body = PREFIX + f"{secrets.randbelow(10 ** RANDOM_DIGITS):0{RANDOM_DIGITS}d}"
    return body + str(damm_digit(body))


def is_tracking(text: str) -> bool:
    """Whether ``text`` is exactly a tracking number: ten ASCII digits, 7 first, and the
    check digit right."""
    return bool(_SHAPE_RE.fullmatch(text)) and damm_digit(text) == 0


def parse_tracking(text: str) -> str | None:
    """The tracking number in ``text`` as typed or spoken back ("٧٤٨٢-١٠٩٣-٦٥",
    "7482 1093 65"), or None when the text is anything else (a transaction number,
    a national ID, a mobile, a mistyped tracking number)."""
    clean = _NOISE_RE.sub("", normalize_digits(text.strip()))
    return clean if is_tracking(clean) else None
