"""The kiosk's own on-screen keyboard: Arabic letters as on a Saudi phone, English QWERTY,
a page of digits and signs, with space, delete, a language key and a digits key.

A public terminal cannot rely on the system's input method (there is none under a
kiosk's X session, and a Qt virtual keyboard plugin would be one more thing to install
and lock down), so the keys are ours: big, and emitting only what they show. The
Arabic rows are the standard Arabic phone keyboard's (the PC Arabic layout's letters,
ض at the top right), read right to left; the English and digit rows left to right.

Which page shows is the flow's state (``State.keyboard``, ``keyboard_digits``), so
the idle wipe resets it too; Shift is the widget's own, for one letter.
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import QGridLayout, QWidget

from channels.kiosk.widgets import DELETE_SIGN, TouchButton

ARABIC_ROWS = ("ضصثقفغعهخحج", "شسيبلاتنمكط", "ذءؤرىةوزظد", "أإآئ،.؟!")
ENGLISH_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", ",.?!'-")
DIGIT_ROWS = ("1234567890", "-/:()\"@#%+", "،.؟!,?")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SHIFT_SIGN = "\u21e7"  # ⇧
COLUMNS = 11  # the longest row: every key is 1/11 of the keyboard's width
# Keys narrower than a 64 px touch target only on a narrow portrait screen (720 px:
# 58 px wide, still 64 px high).
MIN_KEY_WIDTH = 48


def rows_for(layout: str, digits: bool) -> tuple[str, ...]:
    """The character rows of a page: ``layout`` "ar" or "en", or its digits' page (the
    digits as the layout's language writes them)."""
    if digits:
        first = DIGIT_ROWS[0].translate(ARABIC_INDIC) if layout == "ar" else DIGIT_ROWS[0]
        return (first, *DIGIT_ROWS[1:])
    return ARABIC_ROWS if layout == "ar" else ENGLISH_ROWS


class Keyboard(QWidget):
    """Emits ``typed`` with a key's character, ``delete``, ``switch_language`` and
    ``switch_digits``; ``show_layout`` draws the page the flow asks for."""

    typed = pyqtSignal(str)
    delete = pyqtSignal()
    switch_language = pyqtSignal()
    switch_digits = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keyboard")
        # The theme's padding is for words; a letter key needs all its width.
        self.setStyleSheet("QPushButton { padding: 0px; }")
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.layout_name = ""
        self.digits = False
        self.shifted = False
        self.keys: dict[str, TouchButton] = {}  # by the character they type
        self.key_px = 64
        self.key_width = 64
        self.font_ = QFont()
        self.words_font = QFont()
        self.shift = self._special("kb-shift", self._toggle_shift)
        self.language = self._special("kb-language", self.switch_language.emit)
        self.digits_key = self._special("kb-digits", self.switch_digits.emit)
        self.space = self._special("kb-space", lambda: self.typed.emit(" "))
        self.backspace = self._special("kb-delete", self.delete.emit)

    def _special(self, name: str, slot) -> TouchButton:  # noqa: ANN001 (a callable)
        button = TouchButton(name, self)
        button.setMinimumSize(MIN_KEY_WIDTH, 64)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _toggle_shift(self) -> None:
        self.shifted = not self.shifted
        self._caps()

    def _caps(self) -> None:
        for char, button in self.keys.items():
            button.setText(char.upper() if self.shifted else char)

    def show_layout(self, layout: str, digits: bool, words: dict[str, str]) -> None:
        """Lay out the page of ``layout`` ("ar", "en"), or its digits; ``words`` are the
        special keys' captions (space, delete, the other language, digits or letters)."""
        if (layout, digits) != (self.layout_name, self.digits):
            self.layout_name, self.digits = layout, digits
            self.shifted = False
            self._build(rows_for(layout, digits))
        self.setAccessibleName(words["keyboard"])
        self.language.show_text(words["other_language"])
        self.digits_key.show_text(words["letters"] if digits else words["digits"])
        self.space.show_text(words["space"])
        self.shift.show_text(SHIFT_SIGN, words["shift"])
        self.backspace.show_text(DELETE_SIGN, words["delete"])
        self.shift.setVisible(layout == "en" and not digits)

    def _build(self, rows: tuple[str, ...]) -> None:
        for button in self.keys.values():
            self.grid.removeWidget(button)
            button.hide()  # gone now, not at the next turn of the event loop
            button.setParent(None)
            button.deleteLater()
        self.keys = {}
        for special in (self.shift, self.language, self.digits_key, self.space,
                        self.backspace):
            self.grid.removeWidget(special)
        # Arabic rows start at the right, as on the phone; the others at the left.
        self.setLayoutDirection(Qt.LayoutDirection.RightToLeft if self.layout_name == "ar"
                                and not self.digits else Qt.LayoutDirection.LeftToRight)
        for row, chars in enumerate(rows):
            offset = (COLUMNS - len(chars)) // 2  # shorter rows centred
            for column, char in enumerate(chars):
                button = TouchButton(f"kb-{char}", self)
                button.setMinimumSize(MIN_KEY_WIDTH, 64)
                button.setText(char)
                button.setAccessibleName(char)
                button.clicked.connect(
                    lambda _checked=False, char=char: self._type(char))
                self.grid.addWidget(button, row, offset + column)
                button.show()  # made after the keyboard was shown
                self.keys[char] = button
        bottom = len(rows)
        if self.layout_name == "en" and not self.digits:
            self.grid.addWidget(self.shift, 2, 0)
        self.grid.addWidget(self.language, bottom, 0, 1, 2)
        self.grid.addWidget(self.digits_key, bottom, 2, 1, 2)
        self.grid.addWidget(self.space, bottom, 4, 1, 5)
        self.grid.addWidget(self.backspace, bottom, 9, 1, 2)
        self._size()

    def _type(self, char: str) -> None:
        if self.shifted:
            char = char.upper()
            self.shifted = False
            self._caps()
        self.typed.emit(char)

    def set_sizes(self, width: int, key_px: int, spacing: int, font: QFont,
                  words_font: QFont) -> None:
        """Keys 1/11 of ``width`` wide (less the spacing) and ``key_px`` high."""
        spacing = max(3, spacing // 2)
        self.grid.setSpacing(spacing)
        self.key_width = max(MIN_KEY_WIDTH, (width - (COLUMNS - 1) * spacing) // COLUMNS)
        self.key_px = max(64, key_px)
        self.font_, self.words_font = font, words_font
        self._size()

    def _size(self) -> None:
        for button in self.keys.values():
            button.setFont(self.font_)
            button.setFixedSize(self.key_width, self.key_px)
        for special in (self.shift, self.language, self.digits_key, self.space,
                        self.backspace):
            special.setFont(self.words_font)
            special.setFixedHeight(self.key_px)
            special.setMinimumWidth(self.key_width)
        self.shift.setFixedWidth(self.key_width)
        self.backspace.setFont(self.font_)
        self.grid.activate()  # the new page's keys placed now, not at the next event
