"""The pages of the home screen and of Citizen's Voice: the emblem and the three service
tiles, the Citizen's Voice menu, the choice of agency or category, the keyboard page,
the confirmation, the tracking number, and the case as its citizen follows it.

Built once into the window's page stack (channels/kiosk/pages.py) and fitted with it;
the agency and category buttons are made anew when the choices change. What the labels
say is channels/kiosk/voice_captions.py's business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PyQt6.QtCore import QSize, Qt
from PyQt6.QtGui import QFont, QPaintEvent, QPalette
from PyQt6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QStyleOptionButton,
    QStylePainter,
    QVBoxLayout,
    QWidget,
)

from channels.kiosk.flow import Flow
from channels.kiosk.home import Emblem, Tile
from channels.kiosk.keyboard import Keyboard
from channels.kiosk.layout import MIN_TOUCH_PX, Metrics
from channels.kiosk.widgets import Label, TouchButton


class PageStack(Protocol):
    """What these pages use of the window's page stack (channels/kiosk/pages.py)."""

    window: QWidget
    flow: Flow
    intent: Callable[..., None]
    w: dict[str, QWidget]
    _columns: list[QVBoxLayout]
    _button_rows: list[QBoxLayout]

    def _new_page(self, name: str) -> QWidget: ...

    def _label(self, name: str, page: QWidget, scale: float) -> Label: ...

    def _button(self, name: str, page: QWidget, intent: Callable) -> TouchButton: ...

    def _page(self, name: str, labels: list[tuple[str, float]],
              buttons: list[tuple[str, Callable]],
              both_languages: tuple[str, str] | None = None) -> QWidget: ...


class ChoiceButton(QPushButton):
    """A big button whose words wrap (an agency's or a category's name can be long):
    painted as a button without text, then the words inside it, wrapped."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumSize(MIN_TOUCH_PX * 2, MIN_TOUCH_PX)

    def show_text(self, text: str) -> None:
        self.setText(text)
        self.setAccessibleName(text)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name; the words wrap to any width)
        return self.minimumSize()

    def paintEvent(self, _event: QPaintEvent | None) -> None:  # noqa: N802
        painter = QStylePainter(self)
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = ""
        painter.drawControl(QStyle.ControlElement.CE_PushButton, option)
        painter.setPen(self.palette().color(QPalette.ColorRole.ButtonText))
        flags = int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap)
        painter.drawText(self.rect().adjusted(12, 4, -12, -4), flags, self.text())
        painter.end()


class TypedLabel(Label):
    """What is typed, in a box of fixed height: its end (where the caret is), as much of
    it as the box shows, an ellipsis before."""

    def __init__(self, name: str, parent: QWidget | None = None, *, scale: float = 1.0) -> None:
        super().__init__(name, parent, scale=scale)
        self.full = ""

    def show_text(self, text: str, spoken: str | None = None) -> None:
        self.full = text
        self.setAccessibleName(text if spoken is None else spoken)
        self._fit_text()

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_text()

    def _fit_text(self) -> None:
        text = self.full
        self.setText(text)
        cut = 0
        while (self.height() > 0 and self.heightForWidth(self.width()) > self.height()
               and cut < len(self.full)):
            cut += max(1, (len(self.full) - cut) // 8)
            text = "…" + self.full[cut:]
            self.setText(text)


class VoicePages:
    """Builds the home and Citizen's Voice pages into ``pages`` (its ``w`` names them)."""

    def __init__(self, pages: PageStack) -> None:
        self.p = pages
        self.flow = pages.flow
        self.choice_buttons: list[ChoiceButton] = []
        self.choices_shown: tuple = ()
        self._home()
        self._menu()
        self._choice()
        self._text()
        self._confirm()
        self._filed()
        self._case()
        self._mine()

    # --- helpers -------------------------------------------------------------------

    def _tile(self, name: str, sign: str, page: QWidget, intent) -> Tile:  # noqa: ANN001
        tile = Tile(name, sign, page)
        tile.clicked.connect(lambda _checked=False: self.p.intent(intent))
        self.p.w[name] = tile  # fitted with the rest (its own fonts: ``fit``)
        return tile

    # --- home ----------------------------------------------------------------------

    def _home(self) -> None:
        """The emblem and the emirate's name, a welcome, the two services as large tiles
        side by side, and the reading aids (large text, high contrast) under them."""
        p, flow = self.p, self.flow
        page = p._new_page("home")
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        p._columns.append(column)
        header = QHBoxLayout()
        header.addStretch(1)
        self.emblem = Emblem(page)
        header.addWidget(self.emblem)
        header.addWidget(p._label("emirate", page, 1.6))
        header.addStretch(1)
        column.addLayout(header)
        column.addWidget(p._label("home_welcome", page, 1.1))
        tiles = QHBoxLayout()
        self.tiles = {"start": self._tile("start", "status", page, flow.start),
                      "mine": self._tile("mine", "list", page, flow.open_mine),
                      "voice": self._tile("voice", "voice", page, flow.open_voice)}
        for tile in self.tiles.values():
            tiles.addWidget(tile, 1)
        self.tiles_row = tiles
        column.addLayout(tiles, 1)
        aids = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        aids.addWidget(p._button("large_text", page, flow.toggle_large_text))
        aids.addWidget(p._button("high_contrast", page, flow.toggle_high_contrast))
        p._button_rows.append(aids)
        column.addLayout(aids)

    # --- Citizen's Voice -----------------------------------------------------------

    def _menu(self) -> None:
        p, flow = self.p, self.flow
        page = p._new_page("voice")
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        p._columns.append(column)
        column.addWidget(p._label("voice_title", page, 1.8))
        column.addWidget(p._label("voice_intro", page, 1.1))
        column.addWidget(p._label("voice_notice", page, 1.0))
        row = QHBoxLayout()
        self.menu_tiles = {
            "file_complaint": self._tile("file_complaint", "voice", page,
                                         lambda: flow.choose_type("complaint")),
            "file_suggestion": self._tile("file_suggestion", "idea", page,
                                          lambda: flow.choose_type("suggestion")),
            "follow_case": self._tile("follow_case", "status", page, flow.follow)}
        for tile in self.menu_tiles.values():
            row.addWidget(tile, 1)
        column.addLayout(row, 1)
        column.addWidget(p._button("voice_home", page, flow.finish))

    def _choice(self) -> None:
        """The agency or the category: a prompt and a grid of wrapping buttons."""
        p = self.p
        page = p._new_page("voice_choice")
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        p._columns.append(column)
        column.addWidget(p._label("choice_prompt", page, 1.6))
        self.choice_page = page
        self.choice_grid = QGridLayout()
        column.addLayout(self.choice_grid)
        column.addStretch(1)
        column.addWidget(p._button("choice_back", page, self.flow.back))

    def show_choices(self, choices: tuple[tuple[str, str], ...], metrics: Metrics | None,
                     font: QFont) -> None:
        """The buttons for ``choices`` ((object name, text) each), rebuilt when they
        change; two columns in portrait, three in landscape."""
        if choices != self.choices_shown:
            self.choices_shown = choices
            for button in self.choice_buttons:
                self.choice_grid.removeWidget(button)
                button.hide()
                button.setParent(None)
                button.deleteLater()
            self.choice_buttons = []
            for name, text in choices:
                button = ChoiceButton(name, self.choice_page)
                button.show_text(text)
                intent = self._choice_intent(name)
                button.clicked.connect(lambda _checked=False, i=intent: self.p.intent(*i))
                self.choice_buttons.append(button)
        columns = 3 if metrics is not None and metrics.landscape else 2
        for index, button in enumerate(self.choice_buttons):
            self.choice_grid.addWidget(button, index // columns, index % columns)
            button.show()  # made after its page was shown
            button.setFont(font)
            if metrics is not None:
                button.setFixedHeight(round(metrics.button_px * 1.5))
                self.choice_grid.setSpacing(metrics.spacing)

    def _choice_intent(self, name: str) -> tuple:
        kind, _, code = name.partition("-")
        method = self.flow.choose_agency if kind == "agency" else self.flow.choose_category
        return (method, "" if code == "none" else code)

    def _text(self) -> None:
        """The keyboard page (the case's text, or the reply to a question): back and next
        beside what is typed, the count or a hint under it, the keyboard below."""
        p, flow = self.p, self.flow
        page = p._new_page("voice_text")
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        p._columns.append(column)
        # The prompt and the count: one row above what is typed in portrait; in
        # landscape one over the other beside it (the height goes to the keys).
        self.heading = QWidget(page)
        self.heading.setObjectName("text-heading")
        heading = QBoxLayout(QBoxLayout.Direction.LeftToRight, self.heading)
        heading.setContentsMargins(0, 0, 0, 0)
        prompt = p._label("text_prompt", self.heading, 1.3)
        count = p._label("text_notice", self.heading, 1.0)
        heading.addWidget(prompt, 1)
        heading.addWidget(count, 1)
        self.heading_row = heading
        self.text_column = column
        column.addWidget(self.heading)
        top = QHBoxLayout()
        back = p._button("text_back", page, flow.back)
        nxt = p._button("text_next", page, flow.next)
        for button in (back, nxt):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        typed = TypedLabel("typed", page, scale=1.2)
        p.w["typed"] = typed
        typed.setAlignment(Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter)
        typed.setFrameShape(QLabel.Shape.Box)
        typed.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        typed.setTextFormat(Qt.TextFormat.PlainText)
        top.addWidget(back, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(typed, 1)
        top.addWidget(nxt, 0, Qt.AlignmentFlag.AlignTop)
        self.text_row = top
        column.addLayout(top)
        self.keyboard = Keyboard(page)
        self.keyboard.typed.connect(lambda key: p.intent(flow.type_key, key))
        self.keyboard.delete.connect(lambda: p.intent(flow.delete_key))
        self.keyboard.switch_language.connect(lambda: p.intent(flow.switch_keyboard))
        self.keyboard.switch_digits.connect(lambda: p.intent(flow.toggle_digits))
        column.addWidget(self.keyboard, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(1)

    def _confirm(self) -> None:
        self.p._page("voice_confirm", [("confirm_title", 1.6), ("confirm_summary", 1.1),
                                       ("confirm_notice", 1.0)],
                     [("send", self.flow.send_case), ("confirm_back", self.flow.back)])
        summary = self.p.w["confirm_summary"]
        assert isinstance(summary, Label)
        summary.setTextFormat(Qt.TextFormat.PlainText)

    def _filed(self) -> None:
        self.p._page("voice_filed", [("filed_title", 1.6), ("tracking_label", 1.0),
                                     ("tracking_number", 3.0), ("filed_body", 1.1),
                                     ("filed_notice", 1.0)],
                     [("filed_print", self.flow.print_case_receipt),
                      ("filed_done", self.flow.finish)])
        # Digits in groups: left to right on an Arabic screen too.
        self.p.w["tracking_number"].setLayoutDirection(Qt.LayoutDirection.LeftToRight)

    def _case(self) -> None:
        """The followed case: its tracking number and state, the question or the answer,
        what happened; beside it in landscape (under it in portrait) the rating buttons
        1-5, reply, reopen and done."""
        p, flow = self.p, self.flow
        page = p._new_page("follow_case")
        self.case_row = QBoxLayout(QBoxLayout.Direction.TopToBottom, page)
        self.case_row.setContentsMargins(0, 0, 0, 0)
        info, actions = QWidget(page), QWidget(page)
        info.setObjectName("case-info")
        actions.setObjectName("case-actions")
        info_column, action_column = QVBoxLayout(info), QVBoxLayout(actions)
        for column in (info_column, action_column):
            column.setContentsMargins(0, 0, 0, 0)
            p._columns.append(column)
        for name, scale in (("case_tracking", 1.5), ("case_heading", 1.3),
                            ("case_notice", 1.1), ("case_question", 1.2),
                            ("case_answer", 1.2), ("case_history", 1.0)):
            label = p._label(name, info, scale)
            info_column.addWidget(label)
            if name in ("case_question", "case_answer", "case_history"):
                # What the agency wrote, as plain text, read from the top.
                label.setTextFormat(Qt.TextFormat.PlainText)
                label.setAlignment(Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignTop)
        info_column.addStretch(1)
        # Digits in groups: left to right on an Arabic screen too.
        p.w["case_tracking"].setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        action_column.addWidget(p._label("rate_prompt", actions, 1.0))
        self.ratings = QWidget(actions)
        self.ratings.setObjectName("ratings")
        row = QHBoxLayout(self.ratings)
        row.setContentsMargins(0, 0, 0, 0)
        # 1 to 5 from the left, like the keypad's digits, in both languages.
        self.ratings.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        for rating in range(1, 6):
            button = p._button(f"rate-{rating}", self.ratings,
                               lambda r=rating: flow.rate(r))
            button.setMinimumWidth(MIN_TOUCH_PX)  # five in a row on a narrow screen
            row.addWidget(button)
        action_column.addWidget(self.ratings)
        action_column.addStretch(1)
        for name, intent in (("case_reply", flow.start_reply), ("case_reopen", flow.reopen),
                             ("case_done", flow.finish)):
            action_column.addWidget(p._button(name, actions, intent))
        self.case_row.addWidget(info, 1)
        self.case_row.addWidget(actions, 1)

    def _mine(self) -> None:
        """"My transactions": the list, large and plain, scrolled by a finger (the page
        is in its scroll area), and "done" (channels/kiosk/mine.py)."""
        self.p._page("mine_list", [("mine_heading", 1.6), ("mine_body", 1.2),
                                   ("mine_cases", 1.1)],
                     [("mine_done", self.flow.finish)])
        for name in ("mine_body", "mine_cases"):
            label = self.p.w[name]
            assert isinstance(label, Label)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setAlignment(Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignTop)

    def _arrange_heading(self, landscape: bool) -> None:
        prompt, count = self.p.w["text_prompt"], self.p.w["text_notice"]
        assert isinstance(prompt, Label) and isinstance(count, Label)
        self.text_column.removeWidget(self.heading)
        self.text_row.removeWidget(self.heading)
        if landscape:
            self.heading_row.setDirection(QBoxLayout.Direction.TopToBottom)
            self.text_row.insertWidget(1, self.heading, 1)
            for label in (prompt, count):
                label.setAlignment(Qt.AlignmentFlag.AlignLeading
                                   | Qt.AlignmentFlag.AlignVCenter)
        else:
            self.heading_row.setDirection(QBoxLayout.Direction.LeftToRight)
            self.text_column.insertWidget(0, self.heading)
            prompt.setAlignment(Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter)
            count.setAlignment(Qt.AlignmentFlag.AlignTrailing | Qt.AlignmentFlag.AlignVCenter)

    # --- sizing --------------------------------------------------------------------

    def fit(self, m: Metrics, font: QFont, contrast: bool) -> None:
        """Tiles, keyboard and choice buttons sized to the window's metrics."""
        p = self.p
        title, line = QFont(font), QFont(font)
        title.setPixelSize(m.scaled(1.6))
        title.setBold(True)
        line.setPixelSize(m.text_px)
        for tile in self.menu_tiles.values():
            tile.set_fonts(title, line, contrast)
        # Three services side by side: on a portrait screen their titles are smaller, so
        # that "Transaction status" still fits its tile's width.
        home_title = QFont(title)
        if not m.landscape:
            home_title.setPixelSize(m.scaled(1.15))
        for tile in self.tiles.values():
            tile.set_fonts(home_title, line, contrast)
        side = max(64, min(m.button_px * 2, 120))
        self.emblem.setFixedSize(side, side)
        self.tiles_row.setSpacing(m.spacing * 2)
        keys, words = QFont(font), QFont(font)
        keys.setPixelSize(round(m.text_px * 1.3))
        words.setPixelSize(max(12, round(m.text_px * 0.9)))
        width = p.window.width() - 2 * 24
        # Five rows of keys under the prompt and what is typed: what is left of the page.
        page_height = p.window.height() - 40 - 24 - m.button_px - m.spacing
        key_px = min(m.key_px, (page_height - 3.2 * m.button_px - 6 * m.spacing) / 5)
        self.keyboard.set_sizes(min(width, 1400), round(key_px), m.spacing, keys, words)
        for name in ("text_back", "text_next"):
            button = p.w[name]
            button.setFixedWidth(max(MIN_TOUCH_PX * 2, button.sizeHint().width()))
        self.text_row.setSpacing(m.spacing)
        self.case_row.setDirection(QBoxLayout.Direction.LeftToRight if m.landscape
                                   else QBoxLayout.Direction.TopToBottom)
        self.case_row.setSpacing(m.spacing * 2)
        choice = QFont(font)
        choice.setPixelSize(m.text_px)
        self.show_choices(self.choices_shown, m, choice)
        for rating in range(1, 6):
            rate = p.w[f"rate-{rating}"]
            rate.setFixedHeight(m.button_px)
            assert isinstance(rate, TouchButton)
        self.ratings.layout().setSpacing(m.spacing)  # type: ignore[union-attr]
        typed = p.w["typed"]
        assert isinstance(typed, TypedLabel)
        lines = 1.8 if m.landscape else 2.9
        typed.setFixedHeight(max(m.button_px, round(m.scaled(1.2) * lines)))
        self.heading_row.setSpacing(m.spacing)
        self._arrange_heading(m.landscape)
