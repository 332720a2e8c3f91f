"""The window's pages: the language bar, the page stack and every page's labels, buttons
and keypad, arranged for portrait or landscape and sized to the window.

Taps become intents through the ``intent`` callable the window passes in; what the
labels say is channels/kiosk/captions.py's business.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import (
    QBoxLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QScrollArea,
    QScroller,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from channels.kiosk.effects import Effect
from channels.kiosk.flow import Flow
from channels.kiosk.layout import CORNER_PX, EDGE_PX, Metrics, metrics
from channels.kiosk.voice_pages import VoicePages
from channels.kiosk.widgets import CornerHotspot, Keypad, Label, TouchButton

Intent = Callable[[], list[Effect]]
# The labels written bold, whatever the size.
BOLD = frozenset({"title", "status", "offline_title", "offline_title_other", "still_there",
                  "rate_limited_title", "emirate", "voice_title", "choice_prompt",
                  "confirm_title", "filed_title", "tracking_number", "case_tracking",
                  "case_heading"})


class PageStack:
    """Builds the window's widgets once (``w`` names every label and button) and fits
    them to the window again whenever its size, the text size or the language changes."""

    def __init__(self, window: QWidget, flow: Flow, intent: Callable[..., None],
                 font_families: tuple[str, ...] = ()) -> None:
        self.window, self.flow, self.intent = window, flow, intent
        self.font_families = font_families
        self.stack = QStackedWidget(window)
        layout = QVBoxLayout(window)
        # The top margin holds the technician's corner; it covers no button.
        layout.setContentsMargins(EDGE_PX, CORNER_PX, EDGE_PX, EDGE_PX)
        self.w: dict[str, QWidget] = {}
        self.pages: dict[str, QWidget] = {}
        self.scrolls: dict[str, QScrollArea] = {}
        self._columns: list[QVBoxLayout] = []
        self._bilingual: list[tuple[QGridLayout, tuple[str, str]]] = []
        self._button_rows: list[QBoxLayout] = []
        self._fitted: tuple | None = None
        # The language button is on every screen, at the top, where it is expected.
        bar = QHBoxLayout()
        bar.addStretch(1)
        language = TouchButton("language", window)
        language.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        language.setMinimumWidth(220)
        language.clicked.connect(lambda: self.intent(self.flow.switch_language))
        bar.addWidget(language)
        self.w["language"] = language
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        # The home's tiles and Citizen's Voice's pages (channels/kiosk/voice_pages.py).
        self.voice = VoicePages(self)
        self._entry_page()
        self._page("waiting", [("waiting", 1.4)], [])
        self._page("result", [("status", 1.8), ("answer", 1.2), ("result_notice", 1.0)],
                   [("print", flow.print_receipt), ("try_again", flow.start),
                    ("done", flow.finish)])
        self._page("receipt", [("receipt_message", 1.4)], [("receipt_done", flow.finish)])
        self._page("offline", [("retry_in", 1.0), ("last_reached", 0.9)],
                   [("retry_now", flow.retry_now), ("offline_home", flow.finish)],
                   both_languages=("offline_title", "offline_body"))
        self._page("rate_limited", [("rate_limited_title", 1.6), ("rate_limited_body", 1.2)],
                   [("rate_limited_done", flow.finish)])
        self._page("error", [], [("error_done", flow.finish)],
                   both_languages=("error_title", "error_body"))
        self._page("still_there", [("still_there", 1.8), ("still_there_body", 1.2)],
                   [("still_here", flow.still_here)])
        self._page("maintenance", [("maintenance", 1.6), ("gateway_state", 1.0),
                                   ("version", 1.0), ("kiosk_id", 1.0), ("printer", 1.0)],
                   [("exit", flow.exit_app), ("maintenance_back", flow.finish)])
        self.corner = CornerHotspot(window)
        self.corner.held.connect(lambda: self.intent(self.flow.technician))
        self.corner.place()

    # --- building ------------------------------------------------------------------

    def _new_page(self, name: str) -> QWidget:
        """An empty page in a scroll area of its own: the pages are sized to fit the
        screen, and a text too long for it scrolls instead of pushing a button off it
        (or the window past the screen's edge)."""
        scroll = QScrollArea(self.stack)
        scroll.setObjectName(f"scroll-{name}")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        page = QWidget()
        page.setObjectName(f"page-{name}")
        scroll.setWidget(page)
        # The kiosk's background shows through; a finger drags the page if it scrolls.
        page.setAutoFillBackground(False)
        viewport = scroll.viewport()
        assert viewport is not None  # a scroll area always has one
        viewport.setAutoFillBackground(False)
        QScroller.grabGesture(viewport, QScroller.ScrollerGestureType.TouchGesture)
        self.stack.addWidget(scroll)
        self.pages[name] = page
        self.scrolls[name] = scroll
        return page

    def _label(self, name: str, page: QWidget, scale: float) -> Label:
        label = Label(name, page, scale=scale)
        self.w[name] = label
        return label

    def _button(self, name: str, page: QWidget, intent: Intent) -> TouchButton:
        button = TouchButton(name, page)
        button.clicked.connect(lambda _checked=False, intent=intent: self.intent(intent))
        self.w[name] = button
        return button

    def _page(self, name: str, labels: list[tuple[str, float]],
              buttons: list[tuple[str, Intent]],
              both_languages: tuple[str, str] | None = None) -> QWidget:
        """Labels, then the buttons at the bottom. ``both_languages`` names a title and a
        body said in both languages at once (the ``_other`` labels in the other one):
        one language under the other in portrait, side by side in landscape."""
        page = self._new_page(name)
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        self._columns.append(column)
        if both_languages is not None:
            grid = QGridLayout()
            column.addLayout(grid)
            title, body = both_languages
            for label_name, scale in ((title, 1.6), (f"{title}_other", 1.6),
                                      (body, 1.2), (f"{body}_other", 1.2)):
                self._label(label_name, page, scale)
            self._bilingual.append((grid, both_languages))
            self._arrange_bilingual(grid, both_languages, landscape=False)
        for label_name, scale in labels:
            column.addWidget(self._label(label_name, page, scale))
        column.addStretch(1)
        # One under the other in portrait, side by side in landscape (see fit).
        row = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        column.addLayout(row)
        self._button_rows.append(row)
        for button_name, intent in buttons:
            row.addWidget(self._button(button_name, page, intent))
        return page

    def _entry_page(self) -> None:
        """The number, ID and PIN page: prompt, what was typed and a hint, the keypad and
        "back"; the keypad under the prompt in portrait, beside it in landscape."""
        page = self._new_page("entry")
        self._entry_row = QBoxLayout(QBoxLayout.Direction.TopToBottom, page)
        self._entry_row.setContentsMargins(0, 0, 0, 0)
        self._entry_side = QWidget(page)
        self._entry_side.setObjectName("entry-side")
        side = QVBoxLayout(self._entry_side)
        side.setContentsMargins(0, 0, 0, 0)
        self._side = side
        self._columns.append(side)
        for label_name, scale in (("prompt", 1.4), ("value", 2.0), ("notice", 1.0)):
            side.addWidget(self._label(label_name, self._entry_side, scale))
        side.addStretch(1)
        self.keypad = Keypad(page)
        self.keypad.digit.connect(lambda key: self.intent(self.flow.digit, key))
        self.keypad.backspace.connect(lambda: self.intent(self.flow.backspace))
        self.keypad.submit.connect(lambda: self.intent(self.flow.next))
        self._button("back", page, self.flow.back)
        self._arrange_entry(landscape=False)

    # --- arranging -----------------------------------------------------------------

    def _arrange_bilingual(self, grid: QGridLayout, names: tuple[str, str],
                           landscape: bool) -> None:
        title, body = names
        for label_name in (title, f"{title}_other", body, f"{body}_other"):
            grid.removeWidget(self.w[label_name])
        if landscape:  # the screen's language on the side it is read from
            places = ((title, 0, 0), (body, 1, 0), (f"{title}_other", 0, 1),
                      (f"{body}_other", 1, 1))
        else:
            places = ((title, 0, 0), (f"{title}_other", 1, 0), (body, 2, 0),
                      (f"{body}_other", 3, 0))
        for label_name, row, column in places:
            grid.addWidget(self.w[label_name], row, column, Qt.AlignmentFlag.AlignTop)
        for column in (0, 1):
            grid.setColumnStretch(column, 1 if landscape or column == 0 else 0)

    def _arrange_entry(self, landscape: bool) -> None:
        row, side, back = self._entry_row, self._side, self.w["back"]
        while row.count():  # widget items and the stretch; the widgets stay on the page
            row.takeAt(0)
        side.removeWidget(back)
        if landscape:
            # The keypad on the far side from where the prompt is read (Arabic: left).
            row.setDirection(QBoxLayout.Direction.LeftToRight)
            side.addWidget(back)
            row.addWidget(self._entry_side, 1)
            row.addWidget(self.keypad, 0, Qt.AlignmentFlag.AlignCenter)
        else:
            row.setDirection(QBoxLayout.Direction.TopToBottom)
            row.addWidget(self._entry_side)
            row.addWidget(self.keypad, 0, Qt.AlignmentFlag.AlignHCenter)
            row.addStretch(1)
            row.addWidget(back)

    # --- sizing --------------------------------------------------------------------

    def fit(self, width: int, height: int, large_text: bool, lang: str,
            contrast: bool = False) -> None:
        """Size text, keys and buttons to the window (channels/kiosk/layout.py), again
        when the window, the text size, the language or the contrast changes."""
        wanted = (width, height, large_text, lang, contrast)
        if self._fitted == wanted:
            return
        self._fitted = wanted
        m: Metrics = metrics(width, height, large_text)
        self.metrics = m
        window_layout = self.window.layout()
        assert window_layout is not None  # set in __init__
        window_layout.setSpacing(m.spacing)
        for name, widget in self.w.items():
            font = self.font()
            scale: float = getattr(widget, "scale", 1.0)
            # What was typed is as big as the keys' digits, however short the screen.
            font.setPixelSize(max(m.scaled(scale), m.digit_px) if name == "value"
                              else m.scaled(scale))
            font.setBold(name in BOLD)
            widget.setFont(font)
            if isinstance(widget, TouchButton):
                widget.setFixedHeight(m.button_px)
        for column in self._columns:
            column.setSpacing(m.spacing)
        direction = (QBoxLayout.Direction.LeftToRight if m.landscape
                     else QBoxLayout.Direction.TopToBottom)
        for row in self._button_rows:
            row.setDirection(direction)
            row.setSpacing(m.spacing)
        self._entry_row.setSpacing(m.spacing * 2 if m.landscape else m.spacing)
        digits, words = self.font(), self.font()
        digits.setPixelSize(m.digit_px)
        words.setPixelSize(m.text_px)
        self.keypad.set_sizes(m.key_px, m.key_width_px, m.spacing, digits, words)
        self._arrange_entry(m.landscape)
        for grid, names in self._bilingual:
            grid.setSpacing(m.spacing)
            grid.setHorizontalSpacing(m.spacing * 3)
            self._arrange_bilingual(grid, names, m.landscape)
        self.voice.fit(m, self.font(), contrast)

    def font(self) -> QFont:
        """A font of the bundled families, in their fallback order."""
        font = QFont()
        if self.font_families:
            font.setFamilies(list(self.font_families))
        return font
