"""The kiosk under Qt's offscreen platform, talking HTTP to a real gateway on loopback."""

from __future__ import annotations

import os
import threading

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from core.access.tokens import create_token  # noqa: E402
from gateway.settings import load_settings  # noqa: E402
from tests.conftest import require_peer  # noqa: E402


def pdf_text(path) -> str:
    """The text of every page of a PDF, as Qt's PDF reader extracts it, spaces collapsed
    (a line break where the text wraps becomes one space)."""
    from PyQt6.QtPdf import QPdfDocument

    document = QPdfDocument(None)
    assert document.load(str(path)) == QPdfDocument.Error.None_, path
    try:
        text = " ".join(document.getAllText(page).text() for page in range(document.pageCount()))
    finally:
        document.close()
    return " ".join(text.split())


def _qt_available() -> bool:
    try:
        from PyQt6 import QtPrintSupport, QtWidgets  # noqa: F401
    except ImportError:  # PyQt6 missing, or libEGL/libxkbcommon... missing on the host
        return False
    return True


@pytest.fixture
def qt(qapp):
    """The QApplication, or a skip (a failure under CI=true) when Qt cannot run here."""
    return qapp


@pytest.fixture(scope="session")
def qapp_cls():
    require_peer(_qt_available(), "PyQt6 with Qt's offscreen platform")
    from PyQt6.QtWidgets import QApplication

    return QApplication


class LiveGateway:
    """The Flask app on a real loopback port (werkzeug's threaded server), stoppable and
    restartable on the same port to play a network outage."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = 0
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None


@pytest.fixture
def gateway(app):
    live = LiveGateway(app)
    live.start()
    yield live
    live.stop()


@pytest.fixture
def kiosk_token(core) -> str:
    return create_token(core.db.write, "kiosk", "hall-1")


@pytest.fixture
def kiosk_settings(gateway, kiosk_token, tmp_path):
    return load_settings(None, var_dir=str(tmp_path), kiosk={
        "gateway_url": gateway.url, "token": kiosk_token, "kiosk_id": "hall-1",
        "technician_pin": "246813", "pdf_dir": str(tmp_path / "receipts"),
        "fullscreen": False, "hide_cursor": False, "idle_seconds": 30})


@pytest.fixture
def kiosk(qt, qtbot, kiosk_settings):
    """The kiosk window, shown (offscreen), its first heartbeat answered."""
    from channels.kiosk.app import build_window

    window = build_window(kiosk_settings, show=False)
    qtbot.addWidget(window)
    window.resize(1080, 1400)
    window.show()
    window.probe()
    qtbot.waitUntil(lambda: window.gateway_reachable is not None, timeout=10_000)
    yield window
    window.shutdown()
