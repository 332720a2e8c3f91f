"""The kiosk window: renders the flow's state, turns taps into intents, runs the effects.

Network calls run on a worker thread and come back through a Qt signal, so the screen
never freezes while the gateway thinks or the network is down. A one-second timer moves
the flow's clock (idle wipe, offline back-off). The window cannot be closed, escaped or
Alt+F4'ed; only the technician's maintenance screen (or SIGTERM) ends the app.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from PyQt6.QtCore import QEvent, QObject, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QFont, QGuiApplication, QKeyEvent, QScreen
from PyQt6.QtWidgets import (
    QApplication,
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

from channels.kiosk.client import GatewayClient, GatewayRefused, GatewayUnavailable, Heartbeat
from channels.kiosk.flow import (
    TECHNICIAN_EXIT,
    Effect,
    Flow,
    PrintReceipt,
    ProbeGateway,
    Quit,
    Reply,
    Screen,
    SendInquiry,
)
from channels.kiosk.layout import CORNER_PX, EDGE_PX, Metrics, metrics
from channels.kiosk.receipt import PrinterError, QtReceiptPrinter, receipt_for
from channels.kiosk.texts import clock_time, masked, shown_digits, texts
from channels.kiosk.widgets import CornerHotspot, Keypad, Label, TouchButton

log = logging.getLogger("gateway.kiosk")

# The language button names the language it switches to, in that language.
OTHER_LANGUAGE = {"ar": "English", "en": "العربية"}
# Found / not found is said in words with a sign, never by colour alone.
FOUND_SIGN, NOT_FOUND_SIGN = "\u2714", "\u2716"  # ✔ ✖
ACTIVITY_EVENTS = frozenset({QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin,
                             QEvent.Type.KeyPress})

THEMES = {
    False: ("QWidget#kiosk { background: #f6f4ee; color: #1b1b1b; }"
            "QLabel { color: #1b1b1b; }"
            "QPushButton { background: #0b5d3b; color: white; border: 2px solid #08402a;"
            " border-radius: 10px; padding: 4px 16px; }"
            "QPushButton:pressed { background: #08402a; }"
            "QScrollBar:vertical { width: 28px; }"),
    True: ("QWidget#kiosk { background: black; color: white; }"
           "QLabel { color: white; }"
           "QPushButton { background: #ffeb3b; color: black; border: 4px solid white;"
           " border-radius: 10px; padding: 4px 16px; }"
           "QPushButton:pressed { background: white; }"
           "QScrollBar:vertical { width: 28px; }"),
}


@dataclass(frozen=True)
class KioskConfig:
    kiosk_id: str
    version: str
    heartbeat_seconds: int = 60
    tz: ZoneInfo = ZoneInfo("Asia/Riyadh")
    # The bundled fonts in fallback order (channels/kiosk/app.py load_fonts).
    font_families: tuple[str, ...] = ()


def embedded(text: str, lang: str) -> str:
    """``text`` as a run of its own direction inside a paragraph of the other language
    (so an Arabic sentence's full stop stays at its end on an English screen)."""
    return ("\u202b" if lang == "ar" else "\u202a") + text + "\u202c"


class _Bridge(QObject):
    """Carries a worker thread's outcome to the GUI thread (a queued signal)."""

    done = pyqtSignal(str, object)


class _ActivityFilter(QObject):
    """Application-wide: every touch, click or key tells the flow someone is there."""

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in ACTIVITY_EVENTS:
            self.flow.touch()
        return False


class KioskWindow(QWidget):
    def __init__(self, config: KioskConfig, flow: Flow, client: GatewayClient,
                 printer: QtReceiptPrinter, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        super().__init__()
        self.setObjectName("kiosk")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.config, self.flow, self.client, self.printer = config, flow, client, printer
        self.clock = clock
        self.may_close = False
        self.last_inquiry_at: datetime | None = None
        self.gateway_reachable: bool | None = None
        self._probing = False
        # A query of the printer's state is queued or running on the printing thread.
        self._asking_printer = False
        self._screens_watched = False
        self._watched_screen: QScreen | None = None
        self._workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kiosk-net")
        self._printing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-print")
        self._bridge = _Bridge()
        self._bridge.done.connect(self._on_done)
        self._activity = _ActivityFilter(flow)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._activity)
        self._build()
        self.tick_timer = QTimer(self)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start(1000)
        self.heartbeat_timer = QTimer(self)
        self.heartbeat_timer.timeout.connect(self.probe)
        self.heartbeat_timer.start(config.heartbeat_seconds * 1000)
        self.ask_printer()
        self.render()

    # --- building the screens ----------------------------------------------------

    def _build(self) -> None:
        self.stack = QStackedWidget(self)
        layout = QVBoxLayout(self)
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
        language = TouchButton("language", self)
        language.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        language.setMinimumWidth(220)
        language.clicked.connect(lambda: self.intent(self.flow.switch_language))
        bar.addWidget(language)
        self.w["language"] = language
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        self._page("home", [("title", 2.0), ("welcome", 1.2)],
                   [("start", self.flow.start),
                    ("large_text", self.flow.toggle_large_text),
                    ("high_contrast", self.flow.toggle_high_contrast)])
        self._entry_page()
        self._page("waiting", [("waiting", 1.4)], [])
        self._page("result", [("status", 1.8), ("answer", 1.2), ("result_notice", 1.0)],
                   [("print", self.flow.print_receipt), ("try_again", self.flow.start),
                    ("done", self.flow.finish)])
        self._page("receipt", [("receipt_message", 1.4)], [("receipt_done", self.flow.finish)])
        self._page("offline", [("retry_in", 1.0), ("last_reached", 0.9)],
                   [("retry_now", self.flow.retry_now), ("offline_home", self.flow.finish)],
                   both_languages=("offline_title", "offline_body"))
        self._page("rate_limited", [("rate_limited_title", 1.6), ("rate_limited_body", 1.2)],
                   [("rate_limited_done", self.flow.finish)])
        self._page("error", [], [("error_done", self.flow.finish)],
                   both_languages=("error_title", "error_body"))
        self._page("still_there", [("still_there", 1.8), ("still_there_body", 1.2)],
                   [("still_here", self.flow.still_here)])
        self._page("maintenance", [("maintenance", 1.6), ("gateway_state", 1.0),
                                   ("version", 1.0), ("kiosk_id", 1.0), ("printer", 1.0)],
                   [("exit", self.flow.exit_app), ("maintenance_back", self.flow.finish)])
        self.corner = CornerHotspot(self)
        self.corner.held.connect(lambda: self.intent(self.flow.technician))
        self.corner.place()

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
        scroll.viewport().setAutoFillBackground(False)
        QScroller.grabGesture(scroll.viewport(), QScroller.ScrollerGestureType.TouchGesture)
        self.stack.addWidget(scroll)
        self.pages[name] = page
        self.scrolls[name] = scroll
        return page

    def _label(self, name: str, page: QWidget, scale: float) -> Label:
        label = Label(name, page, scale=scale)
        self.w[name] = label
        return label

    def _button(self, name: str, page: QWidget,
                intent: Callable[[], list[Effect]]) -> TouchButton:
        button = TouchButton(name, page)
        button.clicked.connect(lambda _checked=False, intent=intent: self.intent(intent))
        self.w[name] = button
        return button

    def _page(self, name: str, labels: list[tuple[str, float]],
              buttons: list[tuple[str, Callable[[], list[Effect]]]],
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
        # One under the other in portrait, side by side in landscape (see _fit).
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
        row, side, back = self._entry_row, self._entry_side.layout(), self.w["back"]
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

    # --- intents and effects -----------------------------------------------------

    def intent(self, method: Callable[..., list[Effect]], *args) -> None:
        effects = method(*args)
        self.render()
        self.run(effects)

    def run(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SendInquiry):
                self._in_background("inquiry", self.client.inquire, effect.number,
                                    effect.national_id, effect.lang)
            elif isinstance(effect, ProbeGateway):
                self.probe()
            elif isinstance(effect, PrintReceipt):
                self._print(effect)
            elif isinstance(effect, Quit):
                self.quit(TECHNICIAN_EXIT)

    def _in_background(self, kind: str, call: Callable, *args) -> None:
        def work() -> None:
            try:
                outcome: object = call(*args)
            except (GatewayUnavailable, GatewayRefused) as exc:
                outcome = exc
            except Exception as exc:  # a bug must not leave the screen waiting forever
                log.exception("kiosk %s failed", kind)
                outcome = GatewayUnavailable(str(exc))
            self._bridge.done.emit(kind, outcome)

        self._workers.submit(work)

    def probe(self) -> None:
        """Heartbeat: tells the gateway we live, and us whether it answers. It carries the
        printer's last known state and never waits on CUPS (which can hang): the state
        is asked anew on the printing thread, for the next heartbeat."""
        if self._probing:
            return
        self._probing = True
        beat = Heartbeat(kiosk_id=self.config.kiosk_id, version=self.config.version,
                         last_inquiry_at=self.last_inquiry_at,
                         printer=self.printer.last_state,
                         pin_failures=self.flow.pin_failures)
        self._in_background("probe", self.client.heartbeat, beat)
        self.ask_printer()

    def ask_printer(self) -> None:
        """Ask CUPS for the queue's state on the printing thread, after any job before it
        (QPrinterInfo is never asked from two threads at once). One query at a time: a
        hung CUPS does not pile them up."""
        if self._asking_printer:
            return
        self._asking_printer = True

        def work() -> None:
            try:
                self.printer.state()
            except Exception:  # a bug: the state stays as last known, the kiosk goes on
                log.exception("kiosk printer state failed")
            self._bridge.done.emit("printer", None)

        self._printing.submit(work)

    def _on_done(self, kind: str, outcome: object) -> None:
        if kind == "print":
            self._printed(*outcome)
            return
        if kind == "printer":  # the maintenance screen shows it
            self._asking_printer = False
            self.render()
            return
        now = self.clock()
        if kind == "probe":
            self._probing = False
        if isinstance(outcome, GatewayUnavailable):
            log.warning("gateway not reachable (%s): %s", kind, outcome)
            self.gateway_reachable = False
            effects = self.flow.unreachable()
        elif isinstance(outcome, GatewayRefused):
            log.error("gateway refused the kiosk (%s): %s", kind, outcome)
            self.gateway_reachable = True
            # A refused heartbeat, token or redirect is about the kiosk, not one request:
            # out of service until a heartbeat succeeds.
            sticky = (kind == "probe" or outcome.status in (401, 403)
                      or 300 <= outcome.status < 400)
            effects = self.flow.refused(outcome.code, sticky=sticky)
        else:
            self.gateway_reachable = True
            if kind == "inquiry" and isinstance(outcome, Reply):
                self.last_inquiry_at = now
                effects = self.flow.answered(outcome, now)
            else:
                effects = self.flow.reached(now)
        self.render()
        self.run(effects)

    def _print(self, effect: PrintReceipt) -> None:
        """Print on the printer's own thread: a CUPS that hangs holds that thread, never
        the screen (nor the network's workers). A job whose citizen's screen was wiped
        while it waited its turn is dropped there, never printed."""
        receipt = receipt_for(effect.reply, effect.lang, self.config.kiosk_id,
                              self.clock().astimezone(self.config.tz))
        session = effect.session

        def work() -> None:
            # Read across threads: the GUI thread bumps the int, this one only reads it.
            if not self.flow.current(session):
                log.info("receipt dropped: the screen was wiped before its turn")
                return
            try:
                outcome: object = self.printer.print(receipt)
            except PrinterError as exc:
                outcome = exc
            except Exception as exc:  # a bug must not leave the screen waiting forever
                log.exception("kiosk receipt failed")
                outcome = PrinterError(str(exc))
            self._bridge.done.emit("print", (session, outcome))

        self._printing.submit(work)

    def _printed(self, session: int, outcome: object) -> None:
        problem = ""
        if isinstance(outcome, PrinterError):
            log.warning("receipt not printed: %s", outcome)
            problem = "printer_problem"
        elif outcome is not None:  # a test-mode PDF
            if not self.flow.current(session):  # wiped while it was written
                outcome.unlink(missing_ok=True)
            else:
                self.printer.keep(outcome)
        # Told only to the citizen who asked (flow.printed ignores another session's).
        self.flow.printed(session, problem)
        self.ask_printer()  # the job may have found the queue stopped
        self.render()

    def tick(self) -> None:
        effects = self.flow.tick()
        self.render()
        self.run(effects)

    def quit(self, status: int = 0) -> None:
        """Leave the app: 0 on SIGTERM, ``TECHNICIAN_EXIT`` when the technician chose to
        (the systemd unit does not restart on that one)."""
        self.may_close = True
        self.shutdown()
        QApplication.exit(status)

    def shutdown(self) -> None:
        self._unwatch_screens()
        self.tick_timer.stop()
        self.heartbeat_timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self._activity)
        self._workers.shutdown(wait=False, cancel_futures=True)
        self._printing.shutdown(wait=False, cancel_futures=True)

    # --- lockdown ----------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        if self.may_close:
            event.accept()
        else:
            event.ignore()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        event.accept()  # Escape and friends end nowhere

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()
        self.corner.place()

    def fit_screen(self) -> None:
        """Cover the primary screen (``watch_screens`` calls it again when screens change)."""
        self.setWindowFlags(Qt.WindowType.FramelessWindowHint
                            | Qt.WindowType.WindowStaysOnTopHint)
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            self.setGeometry(screen.geometry())
        self.showFullScreen()

    def watch_screens(self) -> None:
        """Re-fit whenever the primary screen's geometry changes, or another screen
        becomes the primary one (a monitor swapped, rotated or re-plugged)."""
        app = QGuiApplication.instance()
        if app is None or self._screens_watched:
            return
        self._screens_watched = True
        app.primaryScreenChanged.connect(self._primary_screen_changed)
        self._watch_geometry(QGuiApplication.primaryScreen())

    def _watch_geometry(self, screen: QScreen | None) -> None:
        if self._watched_screen is not None:
            # Not connected any more, or that screen is gone.
            with contextlib.suppress(TypeError, RuntimeError):
                self._watched_screen.geometryChanged.disconnect(self._screen_resized)
        self._watched_screen = screen
        if screen is not None:
            screen.geometryChanged.connect(self._screen_resized)

    def _primary_screen_changed(self, screen: QScreen | None) -> None:
        self._watch_geometry(screen)
        self.fit_screen()

    def _screen_resized(self, _geometry) -> None:
        self.fit_screen()

    def _unwatch_screens(self) -> None:
        app = QGuiApplication.instance()
        if app is not None and self._screens_watched:
            self._screens_watched = False
            with contextlib.suppress(TypeError, RuntimeError):
                app.primaryScreenChanged.disconnect(self._primary_screen_changed)
            self._watch_geometry(None)

    # --- rendering ---------------------------------------------------------------

    @property
    def screen_name(self) -> str:
        return self.flow.state.screen.value

    def render(self) -> None:
        s = self.flow.state
        if s.reply is None:  # wiped (or a new citizen): no test-mode receipt outlives it
            self.printer.discard()
        t = texts(s.lang)
        direction = (Qt.LayoutDirection.RightToLeft if s.lang == "ar"
                     else Qt.LayoutDirection.LeftToRight)
        app = QApplication.instance()
        if app is not None and app.layoutDirection() != direction:
            app.setLayoutDirection(direction)
        self.setLayoutDirection(direction)
        self._style(s.large_text, s.high_contrast)
        page = {Screen.NUMBER: "entry", Screen.NATIONAL_ID: "entry",
                Screen.PIN: "entry"}.get(s.screen, s.screen.value)
        self.stack.setCurrentWidget(self.scrolls[page])
        self._render_home(t, s)
        self._render_entry(t, s)
        self._render_answer(t, s)
        self._render_offline(t, s)
        self._render_maintenance(t)
        self._fit()  # after the texts: the keys are as wide as "delete" needs

    def _style(self, large: bool, contrast: bool) -> None:
        if getattr(self, "_styled", None) == contrast:
            return
        self._styled = contrast
        self.setStyleSheet(THEMES[contrast])

    def _fit(self) -> None:
        """Size text, keys and buttons to the window (channels/kiosk/layout.py), again
        when the window, the text size or the language changes."""
        s = self.flow.state
        wanted = (self.width(), self.height(), s.large_text, s.lang)
        if self._fitted == wanted:
            return
        self._fitted = wanted
        m: Metrics = metrics(self.width(), self.height(), s.large_text)
        self.metrics = m
        self.layout().setSpacing(m.spacing)
        for name, widget in self.w.items():
            font = self._font()
            # What was typed is as big as the keys' digits, however short the screen.
            font.setPixelSize(max(m.scaled(widget.scale), m.digit_px) if name == "value"
                              else m.scaled(getattr(widget, "scale", 1.0)))
            font.setBold(name in ("title", "status", "offline_title", "offline_title_other",
                                 "still_there", "rate_limited_title"))
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
        digits, words = self._font(), self._font()
        digits.setPixelSize(m.digit_px)
        words.setPixelSize(m.text_px)
        self.keypad.set_sizes(m.key_px, m.key_width_px, m.spacing, digits, words)
        self._arrange_entry(m.landscape)
        for grid, names in self._bilingual:
            grid.setSpacing(m.spacing)
            grid.setHorizontalSpacing(m.spacing * 3)
            self._arrange_bilingual(grid, names, m.landscape)

    def _font(self) -> QFont:
        font = QFont()
        if self.config.font_families:
            font.setFamilies(list(self.config.font_families))
        return font

    def _set(self, name: str, text: str, spoken: str | None = None) -> None:
        self.w[name].show_text(text, spoken)  # type: ignore[attr-defined]

    def _render_home(self, t: dict[str, str], s) -> None:
        self._set("title", t["title"])
        self._set("welcome", t["welcome"])
        self._set("start", t["start"])
        # The language button is written in the language it switches to.
        self._set("language", OTHER_LANGUAGE[s.lang])
        on, off = t["on"], t["off"]
        self._set("large_text", f"{t['large_text']}: {on if s.large_text else off}")
        self._set("high_contrast", f"{t['high_contrast']}: {on if s.high_contrast else off}")

    def _render_entry(self, t: dict[str, str], s) -> None:
        self.keypad.set_language(s.lang, t["delete"], t["next"], t["keypad"])
        self._set("back", t["back"])
        if s.screen is Screen.NATIONAL_ID:
            prompt, value = t["id_prompt"], masked(s.national_id)
        elif s.screen is Screen.PIN:
            prompt, value = t["pin_prompt"], masked(s.pin)
        else:
            prompt, value = t["number_prompt"], shown_digits(s.number, s.lang)
        self._set("prompt", prompt)
        self._set("value", value or " ")
        self._set("notice", t.get(s.notice, "") if s.notice else "")

    def _render_answer(self, t: dict[str, str], s) -> None:
        self._set("waiting", t["waiting"])
        reply = s.reply
        if reply is not None:
            # Said in words with a sign, never by colour alone.
            word = t["status_heading"] if reply.found else t["not_found_heading"]
            sign = FOUND_SIGN if reply.found else NOT_FOUND_SIGN
            self._set("status", f"{sign} {word}", word)  # the word is what is said
            self._set("answer", shown_digits(reply.text, s.lang))
        else:
            self._set("status", "")
            self._set("answer", "")
        found = reply is not None and reply.found
        self.w["print"].setVisible(found and self.flow.can_print)
        self._set("result_notice", t.get(s.notice, "") if s.notice else "")
        self.w["try_again"].setVisible(not found)
        self._set("print", t["print"])
        self._set("try_again", t["try_again"])
        self._set("done", t["done"])
        done = t["printing_saved"] if self.printer.test_mode else t["printing_done"]
        self._set("receipt_message", done if s.printed
                  else t.get(s.notice, "") if s.notice else t["waiting"])
        self._set("receipt_done", t["done"])
        self._set("still_there", t["still_there"])
        self._set("still_there_body", t["still_there_body"].format(
            seconds=shown_digits(str(s.still_there_left), s.lang)))
        self._set("still_here", t["still_here"])

    def _render_offline(self, t: dict[str, str], s) -> None:
        # Both languages at once: whoever stands there can read it.
        other_lang = "en" if s.lang == "ar" else "ar"
        other = {key: embedded(text, other_lang) for key, text in texts(other_lang).items()}
        self._set("offline_title", t["offline_title"])
        self._set("offline_title_other", other["offline_title"])
        self._set("offline_body", t["offline_body"])
        self._set("offline_body_other", other["offline_body"])
        self._set("retry_in", t["retry_in"].format(
            seconds=shown_digits(str(s.retry_in), s.lang)) if s.retry_in else t["waiting"])
        if s.last_reached is not None:
            reached = t["last_reached"].format(
                time=clock_time(s.last_reached.astimezone(self.config.tz), s.lang))
        else:
            reached = t["never_reached"]
        self._set("last_reached", reached)
        self._set("retry_now", t["retry_now"])
        self._set("offline_home", t["cancel"])
        self._set("rate_limited_title", t["rate_limited_title"])
        self._set("rate_limited_body",
                  f"{t['rate_limited_body']}\n\n{other['rate_limited_body']}")
        self._set("rate_limited_done", t["done"])
        self._set("error_title", t["error_title"])
        self._set("error_title_other", other["error_title"])
        self._set("error_body", t["offline_body"])
        self._set("error_body_other", other["offline_body"])
        self._set("error_done", t["done"])

    def _render_maintenance(self, t: dict[str, str]) -> None:
        # Technicians' details (version, kiosk id, the printer's state) are ASCII: each in
        # a left-to-right run of its own, or "pdf (test mode): /tmp/x" comes out
        # scrambled on an Arabic screen.
        self._set("maintenance", t["maintenance"])
        self._set("gateway_state", t["gateway_reachable"] if self.gateway_reachable
                  else t["gateway_unreachable"])
        self._set("version", t["version"].format(version=embedded(self.config.version, "en")))
        self._set("kiosk_id", t["kiosk_id"].format(
            kiosk_id=embedded(self.config.kiosk_id, "en")))
        # As the printing thread last found it (the probe run as the screen opens asks
        # anew, and the screen is drawn again when the answer is in).
        self._set("printer", t["printer"].format(state=embedded(self.printer.last_state, "en")))
        self._set("exit", t["exit"])
        self._set("maintenance_back", t["back"])
