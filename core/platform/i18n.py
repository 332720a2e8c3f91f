"""Arabic and English texts from gettext catalogs (Babel's .po files, compiled on load).

English is the source language (the msgids); Arabic lives in
``core/locale/ar/LC_MESSAGES/messages.po`` with Arabic's six plural forms.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("ar", "en")
DEFAULT_LANGUAGE = "ar"


def pick_language(value: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """A supported language code from user input ('AR', 'en-US', None...)."""
    if value:
        short = value.strip().lower()[:2]
        if short in LANGUAGES:
            return short
    return default


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog for ``lang``; English (the msgids) needs none."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == "en" or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(lang: str) -> Callable[[str], str]:
    return translations(pick_language(lang)).gettext


def ngettext_for(lang: str) -> Callable[[str, str, int], str]:
    return translations(pick_language(lang)).ngettext
