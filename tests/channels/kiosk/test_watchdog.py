"""systemd's notify protocol against a real unix datagram socket."""

from __future__ import annotations

import socket

from channels.kiosk.watchdog import notify, ping_interval_ms


def test_notify_sends_one_datagram_to_the_socket(tmp_path):
    address = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        assert notify("WATCHDOG=1", {"NOTIFY_SOCKET": address})
        assert sock.recv(100) == b"WATCHDOG=1"


def test_outside_systemd_nothing_is_sent():
    assert notify("READY=1", {}) is False
    assert notify("READY=1", {"NOTIFY_SOCKET": "/nonexistent/socket"}) is False


def test_pings_come_at_half_the_watchdog_period():
    assert ping_interval_ms({"WATCHDOG_USEC": "30000000"}) == 15_000
    assert ping_interval_ms({}) is None and ping_interval_ms({"WATCHDOG_USEC": "x"}) is None
