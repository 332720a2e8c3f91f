"""`gateway kiosk` as systemd runs it: READY=1, WATCHDOG=1 pings, SIGTERM ends it cleanly."""

from __future__ import annotations

import socket
import time

from tests import processes
from tests.channels.kiosk.conftest import _qt_available
from tests.conftest import require_peer


def _messages(sock: socket.socket, until: str) -> list[str]:
    seen: list[str] = []
    while until not in seen:
        seen.append(sock.recv(4096).decode())  # the socket's timeout ends a hung wait
    return seen


def heartbeat_of(core, kiosk_id: str, timeout: float = 30.0):
    """The gateway's record of ``kiosk_id``'s heartbeat, once it has one."""
    deadline = time.monotonic() + timeout
    while not (seen := [k for k in core.kiosks.all() if k.kiosk_id == kiosk_id]):
        assert time.monotonic() < deadline, f"kiosk {kiosk_id} never reached the gateway"
        time.sleep(0.1)
    return seen[0]


def test_the_kiosk_notifies_systemd_and_stops_on_sigterm(core, gateway, kiosk_token,
                                                          tmp_path):
    require_peer(_qt_available(), "PyQt6 with Qt's offscreen platform")
    address = str(tmp_path / "notify.sock")
    env = processes.environment(
        None, tmp_path, QT_QPA_PLATFORM="offscreen", NOTIFY_SOCKET=address,
        WATCHDOG_USEC="400000", GATEWAY__KIOSK__GATEWAY_URL=gateway.url,
        GATEWAY__KIOSK__TOKEN=kiosk_token, GATEWAY__KIOSK__KIOSK_ID="hall-9",
        GATEWAY__KIOSK__PDF_DIR=str(tmp_path / "receipts"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(60)
        process = processes.start("kiosk", env)
        try:
            assert _messages(sock, "READY=1")[-1] == "READY=1"
            assert "WATCHDOG=1" in _messages(sock, "WATCHDOG=1")
            # Not only alive to systemd: the kiosk reached its gateway with its token.
            beat = heartbeat_of(core, "hall-9")
            assert (beat.token_name, beat.alive) == ("hall-1", True)
            assert beat.version and beat.printer
        finally:
            output = processes.stop(process, timeout=60)
        assert process.returncode == 0, output
        _messages(sock, "STOPPING=1")  # sent on the way out: the socket kept it
    assert "Traceback" not in output
    assert "kiosk hall-9" in output and "kiosk stopped" in output
