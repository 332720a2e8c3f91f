"""The bundled fonts cover every character the screens show, whatever the host has."""

from __future__ import annotations

import unicodedata

from PyQt6.QtGui import QFontDatabase, QRawFont
from PyQt6.QtWidgets import QApplication

from channels.kiosk.app import FONT_DIR, FONT_FILES, load_fonts
from channels.kiosk.captions import FOUND_SIGN, NOT_FOUND_SIGN, OTHER_LANGUAGE
from channels.kiosk.texts import MASK_DOT, shown_digits, texts
from channels.kiosk.widgets import DELETE_SIGN

FAMILIES = ("Noto Naskh Arabic", "Noto Sans", "Noto Sans Symbols2")


def screen_characters() -> set[str]:
    """Every character a screen can show: its texts in both languages, the digits as
    each writes them, the language button, the signs and the ID mask."""
    shown = [*OTHER_LANGUAGE.values(), FOUND_SIGN, NOT_FOUND_SIGN, DELETE_SIGN, MASK_DOT,
             "0123456789-:.", "hall-1 0.1.0 ready: none error: pdf (test mode) missing"]
    for lang in ("ar", "en"):
        shown += texts(lang).values()
        shown.append(shown_digits("0123456789", lang))
    # Line breaks and the bidi embeddings (format characters) are not drawn.
    return {c for text in shown for c in text
            if unicodedata.category(c) not in ("Cc", "Cf")}


def test_load_fonts_registers_the_bundled_families_as_the_app_font(qt):
    families = load_fonts()
    assert families == FAMILIES
    assert set(families) <= set(QFontDatabase.families())
    assert QApplication.font().families()[:len(families)] == list(families)


def test_every_character_on_screen_is_in_a_bundled_font(qt):
    fonts = {name: QRawFont(str(FONT_DIR / name), 20) for name in FONT_FILES}
    assert all(font.isValid() for font in fonts.values()), fonts
    missing = sorted(c for c in screen_characters()
                     if not any(font.supportsCharacter(c) for font in fonts.values()))
    assert missing == [], [f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in missing]


def test_the_fonts_are_small_and_licensed():
    assert sum((FONT_DIR / name).stat().st_size for name in FONT_FILES) < 4_000_000
    licence = (FONT_DIR / "OFL.txt").read_text()
    assert "SIL Open Font License" in licence
    assert all(family in licence for family in FAMILIES)


def test_the_window_draws_with_the_bundled_families(kiosk):
    assert kiosk.w["start"].font().families()[:3] == list(FAMILIES)
    assert kiosk.keypad.keys["1"].font().families()[:3] == list(FAMILIES)
