"""The kiosk window: renders the flow's state, turns taps into intents, runs the effects.

Network calls and printing run off the GUI thread (channels/kiosk/errands.py), so the
screen never freezes while the gateway thinks or the network is down. A one-second
timer moves the flow's clock (idle wipe, offline back-off). The window cannot be closed,
escaped or Alt+F4'ed; only the technician's maintenance screen (or SIGTERM) ends the app.
The pages are built in channels/kiosk/pages.py, their texts written by
channels/kiosk/captions.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PyQt6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PyQt6.QtGui import QCloseEvent, QGuiApplication, QKeyEvent, QResizeEvent, QScreen
from PyQt6.QtWidgets import QApplication, QWidget

from channels.kiosk.captions import Captions, Kiosk
from channels.kiosk.client import GatewayClient
from channels.kiosk.effects import (
    TECHNICIAN_EXIT,
    ActOnCase,
    AskCaseCode,
    AskMineCode,
    Effect,
    FileCase,
    LoadCatalogue,
    OpenMine,
    PrintCaseReceipt,
    PrintReceipt,
    ProbeGateway,
    Quit,
    SendInquiry,
    ViewCase,
)
from channels.kiosk.errands import Errands
from channels.kiosk.flow import Flow
from channels.kiosk.pages import PageStack
from channels.kiosk.receipt import QtReceiptPrinter
from channels.kiosk.settings import KioskConfig
from channels.kiosk.state import Screen

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
# The entry page shows the number, national ID and PIN screens.
ENTRY_SCREENS = {Screen.NUMBER: "entry", Screen.NATIONAL_ID: "entry", Screen.PIN: "entry",
                 Screen.VOICE_MOBILE: "entry", Screen.FOLLOW_TRACKING: "entry",
                 Screen.FOLLOW_MOBILE: "entry", Screen.VOICE_AGENCY: "voice_choice",
                 Screen.VOICE_CATEGORY: "voice_choice", Screen.VOICE_TEXT: "voice_text",
                 Screen.FOLLOW_REPLY: "voice_text", Screen.MINE_ID: "entry",
                 Screen.MINE_CODE: "entry", Screen.FOLLOW_CODE: "entry"}


VOICE_EFFECTS = (LoadCatalogue, FileCase, ViewCase, AskCaseCode, ActOnCase, AskMineCode,
                 OpenMine)


class _ActivityFilter(QObject):
    """Application-wide: every touch, click or key tells the flow someone is there."""

    def __init__(self, flow: Flow) -> None:
        super().__init__()
        self.flow = flow

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:  # noqa: N802
        if event is not None and event.type() in ACTIVITY_EVENTS:
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
        self._styled: bool | None = None
        self._session = -1
        self._screens_watched = False
        self._watched_screen: QScreen | None = None
        self.errands = Errands(self)
        self._activity = _ActivityFilter(flow)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._activity)
        self.page_stack = PageStack(self, flow, self.intent, config.font_families)
        # The page stack's widgets, by the names the tests and the captions use.
        p = self.page_stack
        self.stack, self.w, self.pages, self.scrolls = p.stack, p.w, p.pages, p.scrolls
        self.keypad, self.corner = p.keypad, p.corner
        self.captions = Captions(p)
        self.tick_timer = QTimer(self)
        self.tick_timer.timeout.connect(self.tick)
        self.tick_timer.start(1000)
        self.heartbeat_timer = QTimer(self)
        self.heartbeat_timer.timeout.connect(self.probe)
        self.heartbeat_timer.start(config.heartbeat_seconds * 1000)
        self.ask_printer()
        self.render()

    # --- intents and effects -----------------------------------------------------

    def intent(self, method: Callable[..., list[Effect]], *args: Any) -> None:
        effects = method(*args)
        self.render()
        self.run(effects)

    def run(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, SendInquiry):
                self.errands.inquire(effect)
            elif isinstance(effect, VOICE_EFFECTS):
                self.errands.voice(effect)
            elif isinstance(effect, ProbeGateway):
                self.probe()
            elif isinstance(effect, PrintReceipt | PrintCaseReceipt):
                self.errands.print(effect)
            elif isinstance(effect, Quit):
                self.quit(TECHNICIAN_EXIT)

    def probe(self) -> None:
        """A heartbeat (channels/kiosk/errands.py)."""
        self.errands.probe()

    def ask_printer(self) -> None:
        """Ask for the printer's state on the printing thread (channels/kiosk/errands.py)."""
        self.errands.ask_printer()

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
        self.errands.shutdown()

    # --- lockdown ----------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 (Qt's name)
        if event is None:
            return
        if self.may_close:
            event.accept()
        else:
            event.ignore()

    def keyPressEvent(self, event: QKeyEvent | None) -> None:  # noqa: N802
        if event is not None:
            event.accept()  # Escape and friends end nowhere

    def resizeEvent(self, event: QResizeEvent | None) -> None:  # noqa: N802
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
        if not isinstance(app, QGuiApplication) or self._screens_watched:
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

    def _screen_resized(self, _geometry: QRect) -> None:
        self.fit_screen()

    def _unwatch_screens(self) -> None:
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication) and self._screens_watched:
            self._screens_watched = False
            with contextlib.suppress(TypeError, RuntimeError):
                app.primaryScreenChanged.disconnect(self._primary_screen_changed)
            self._watch_geometry(None)

    # --- rendering ---------------------------------------------------------------

    @property
    def screen_name(self) -> str:
        return self.flow.state.screen.value

    # Shadows QWidget.render(target, ...), which Qt itself never calls on the Python
    # side: the name is the window's (tests and the bench call it), kept as it was.
    def render(self) -> None:  # type: ignore[override]
        s = self.flow.state
        if self._session != self.flow.session:
            # Wiped (or a new citizen): no test-mode receipt outlives it.
            self._session = self.flow.session
            self.printer.discard()
        direction = (Qt.LayoutDirection.RightToLeft if s.lang == "ar"
                     else Qt.LayoutDirection.LeftToRight)
        app = QApplication.instance()
        if isinstance(app, QGuiApplication) and app.layoutDirection() != direction:
            app.setLayoutDirection(direction)
        self.setLayoutDirection(direction)
        self._style(s.high_contrast)
        page = ENTRY_SCREENS.get(s.screen, s.screen.value)
        self.stack.setCurrentWidget(self.scrolls[page])
        self.captions.write(s, Kiosk(config=self.config, can_print=self.flow.can_print,
                                     test_mode=self.printer.test_mode,
                                     gateway_reachable=self.gateway_reachable,
                                     printer_state=self.printer.last_state))
        self._fit()  # after the texts: the keys are as wide as "delete" needs

    def _style(self, contrast: bool) -> None:
        if self._styled == contrast:
            return
        self._styled = contrast
        self.setStyleSheet(THEMES[contrast])

    def _fit(self) -> None:
        s = self.flow.state
        self.page_stack.fit(self.width(), self.height(), s.large_text, s.lang,
                            s.high_contrast)
