"""``gateway kiosk``: the composition root of the kiosk terminal.

Builds the flow, the HTTP client, the printer and the window from the ``kiosk``
settings, loads the bundled fonts (Arabic, Latin, symbols), hides the pointer, goes full
screen, pings systemd's watchdog and quits cleanly on SIGTERM. It needs no database: the terminal
only talks HTTP to the gateway, and starts even when the network is not up yet.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from importlib import metadata
from pathlib import Path

from channels.kiosk.settings import KioskConfiguration
from core.platform.settings import REPO_ROOT

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# In fallback order: Arabic first, Latin for English and punctuation, then the symbols
# the screens show (the ID mask, the found/not-found signs, the delete key).
FONT_FILES = ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf",
              "NotoSans-Regular.ttf", "NotoSans-Bold.ttf", "NotoSansSymbols2-Regular.ttf")

log = logging.getLogger("gateway.kiosk")


def version() -> str:
    try:
        return metadata.version("transaction-gateway")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def kiosk_id(settings: KioskConfiguration) -> str:
    return settings.kiosk.kiosk_id or socket.gethostname()[:64]


def load_fonts() -> tuple[str, ...]:
    """Register the bundled fonts and make them the application's font, in fallback
    order; their families (empty if none could be loaded)."""
    from PyQt6.QtGui import QFontDatabase, QGuiApplication

    families: list[str] = []
    for name in FONT_FILES:
        font_id = QFontDatabase.addApplicationFont(str(FONT_DIR / name))
        if font_id < 0:
            log.warning("the bundled font %s could not be loaded from %s", name, FONT_DIR)
            continue
        families += [family for family in QFontDatabase.applicationFontFamilies(font_id)
                     if family not in families]
    app = QGuiApplication.instance()
    if app is not None and families:
        font = app.font()
        font.setFamilies(families)
        app.setFont(font)
    return tuple(families)


def hide_cursor(app, hide: bool) -> None:
    """Blank the pointer over the whole app when ``kiosk.hide_cursor`` says so (a touch
    screen has no use for it); once, however often it is called."""
    from PyQt6.QtCore import Qt

    if hide and app.overrideCursor() is None:
        app.setOverrideCursor(Qt.CursorShape.BlankCursor)


def build_window(settings: KioskConfiguration, *, show: bool = True):
    """The kiosk window wired to its gateway, printer and flow (a QApplication must exist)."""
    from channels.kiosk.client import GatewayClient
    from channels.kiosk.flow import Flow
    from channels.kiosk.receipt import QtReceiptPrinter
    from channels.kiosk.settings import KioskConfig
    from channels.kiosk.window import KioskWindow

    k = settings.kiosk
    families = load_fonts()
    pdf_dir = Path(k.pdf_dir) if k.pdf_dir else None
    if pdf_dir is not None and not pdf_dir.is_absolute():
        pdf_dir = REPO_ROOT / pdf_dir
    printer = QtReceiptPrinter(k.printer, pdf_dir, families)
    if printer.test_mode:
        log.warning("no printer: receipts are PDF files in %s (test mode)", pdf_dir)
    flow = Flow(idle_seconds=k.idle_seconds, default_lang=settings.locale.default_language,
                large_text=k.large_text, high_contrast=k.high_contrast,
                technician_pin=k.technician_pin, can_print=printer.available)
    client = GatewayClient(k.gateway_url, k.token, timeout=k.request_timeout_seconds)
    config = KioskConfig(kiosk_id=kiosk_id(settings), version=version(),
                         heartbeat_seconds=k.heartbeat_seconds, tz=settings.tz,
                         font_families=families)
    window = KioskWindow(config, flow, client, printer)
    if show:
        if k.fullscreen:
            window.fit_screen()
            window.watch_screens()
        else:
            window.resize(1080, 1920 // 2)
            window.show()
    return window


def run(settings: KioskConfiguration) -> int:
    """Start the kiosk and run until the technician exits or SIGTERM; the exit status."""
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from channels.kiosk import watchdog
    from channels.kiosk.client import insecure_url

    if not settings.kiosk.token:
        log.error("kiosk.token is not set (GATEWAY__KIOSK__TOKEN): the kiosk will show "
                  "'out of service' until it is")
    if insecure_url(settings.kiosk.gateway_url):
        log.warning("kiosk.gateway_url %s is plain http to another machine: the kiosk "
                    "token and what citizens type cross the network unencrypted; use "
                    "https://", settings.kiosk.gateway_url)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("gateway-kiosk")
    window = build_window(settings)
    hide_cursor(app, settings.kiosk.hide_cursor)

    def stop(signum, _frame) -> None:
        log.info("signal %s: the kiosk stops", signum)
        # Quit from inside the event loop: a quit before exec() starts would be lost.
        QTimer.singleShot(0, window.quit)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Python runs signal handlers between bytecodes: a short timer gives it the chance
    # while Qt's event loop (C++) waits.
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    interval = watchdog.ping_interval_ms()
    pinger = QTimer()
    if interval:
        pinger.timeout.connect(lambda: watchdog.notify("WATCHDOG=1"))
        pinger.start(interval)
    window.probe()  # the first heartbeat at once: an unreachable gateway shows at start

    def ready() -> None:
        watchdog.notify("READY=1")
        log.info("kiosk %s %s on the home screen, gateway %s", window.config.kiosk_id,
                 window.config.version, settings.kiosk.gateway_url)

    QTimer.singleShot(0, ready)  # once the event loop runs and the home screen is up
    status = app.exec()
    watchdog.notify("STOPPING=1")
    window.shutdown()
    log.info("kiosk stopped")
    return status
