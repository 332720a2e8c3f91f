"""The kiosk's own touch widgets: big buttons, a dialer keypad, the technician's corner.

They only show things and emit intents; what an intent does is the flow's business
(channels/kiosk/flow.py).
"""

from __future__ import annotations

from PyQt6.QtCore import QPoint, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QFont, QMouseEvent
from PyQt6.QtWidgets import QGridLayout, QLabel, QPushButton, QSizePolicy, QWidget

from channels.kiosk.layout import CORNER_PX, MIN_TOUCH_PX
from channels.kiosk.texts import shown_digits

TECHNICIAN_HOLD_MS = 3000
DELETE_SIGN = "\u232b"  # ⌫


class TouchButton(QPushButton):
    """A button a finger can hit: at least 64 px each way, named for screen readers."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setMinimumSize(MIN_TOUCH_PX * 2, MIN_TOUCH_PX)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def show_text(self, text: str, spoken: str | None = None) -> None:
        """Show ``text``; a screen reader says ``spoken`` (without the signs) if given."""
        self.setText(text)
        self.setAccessibleName(text if spoken is None else spoken)


class Label(QLabel):
    def __init__(self, name: str, parent: QWidget | None = None, *, scale: float = 1.0) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scale = scale

    def show_text(self, text: str, spoken: str | None = None) -> None:
        self.setText(text)
        self.setAccessibleName(text if spoken is None else spoken)


class Keypad(QWidget):
    """Digits laid out like a phone dialer, left to right in every language.

    1 2 3 / 4 5 6 / 7 8 9 / delete 0 next. Keys show Arabic-Indic digits on Arabic
    screens and always emit the ASCII digit.
    """

    digit = pyqtSignal(str)
    backspace = pyqtSignal()
    submit = pyqtSignal()

    ROWS = ("123", "456", "789")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keypad")
        # A dialer reads 1-2-3 from the left even on a right-to-left screen.
        self.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        grid = QGridLayout(self)
        grid.setSpacing(12)
        grid.setContentsMargins(0, 0, 0, 0)
        self.grid = grid
        self.keys: dict[str, TouchButton] = {}
        for row, digits in enumerate(self.ROWS):
            for column, key in enumerate(digits):
                self._add_digit(grid, key, row, column)
        self.delete = TouchButton("key-delete", self)
        self.delete.clicked.connect(self.backspace)
        grid.addWidget(self.delete, 3, 0)
        self._add_digit(grid, "0", 3, 1)
        self.next = TouchButton("key-next", self)
        self.next.clicked.connect(self.submit)
        grid.addWidget(self.next, 3, 2)

    def _add_digit(self, grid: QGridLayout, key: str, row: int, column: int) -> None:
        button = TouchButton(f"key-{key}", self)
        button.clicked.connect(lambda _checked=False, key=key: self.digit.emit(key))
        grid.addWidget(button, row, column)
        self.keys[key] = button

    def set_language(self, lang: str, delete_text: str, next_text: str,
                     name: str) -> None:
        """Keys and their spoken names in ``lang``; ``name`` is the keypad's own."""
        self.setAccessibleName(name)
        for key, button in self.keys.items():
            button.show_text(shown_digits(key, lang))
        self.delete.show_text(f"{DELETE_SIGN} {delete_text}", delete_text)
        self.next.show_text(next_text)

    def set_sizes(self, height: int, max_width: int, spacing: int, digit_font: QFont,
                  word_font: QFont) -> None:
        """Every key ``height`` px high and equally wide (at most ``max_width``, at least
        what "delete" and "next" need): the columns line up like a dialer's. The words'
        font shrinks if they would not fit ``max_width``."""
        self.grid.setSpacing(spacing)
        words = (self.delete, self.next)
        for button in self.keys.values():
            button.setFont(digit_font)
        word_font = QFont(word_font)
        while True:
            for button in words:
                button.setFont(word_font)
            needed = max(button.sizeHint().width() for button in words)
            if needed <= max_width or word_font.pixelSize() <= 12:
                break
            word_font.setPixelSize(word_font.pixelSize() - 1)
        height = max(height, MIN_TOUCH_PX)
        width = max(needed, min(max_width, round(height * 1.5)))
        for button in (*self.keys.values(), *words):
            button.setFixedSize(width, height)


class CornerHotspot(QWidget):
    """An invisible corner that emits ``held`` after a long press (the technician's way in)."""

    held = pyqtSignal()

    def __init__(self, parent: QWidget, hold_ms: int = TECHNICIAN_HOLD_MS) -> None:
        super().__init__(parent)
        self.setObjectName("technician-corner")
        # Nothing for a screen reader to announce or a Tab key to land on: a citizen
        # has no business there, and a name would tell everyone where the way out is.
        self.setAccessibleName("")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFixedSize(CORNER_PX, CORNER_PX)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(hold_ms)
        self._timer.timeout.connect(self.held)

    def set_hold_ms(self, hold_ms: int) -> None:
        self._timer.setInterval(hold_ms)

    def place(self) -> None:
        self.move(QPoint(0, 0))
        self.raise_()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        self._timer.start()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._timer.stop()
        event.accept()
