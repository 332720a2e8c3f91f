"""systemd's notify protocol in a few lines: READY=1, WATCHDOG=1, STOPPING=1.

Under ``Type=notify`` and ``WatchdogSec=``, systemd passes ``NOTIFY_SOCKET`` (a unix
datagram socket, ``@`` for the abstract namespace) and ``WATCHDOG_USEC``. The kiosk pings
from a Qt timer on the GUI thread, so a frozen event loop stops the pings and systemd
restarts the app. Outside systemd every call does nothing.
"""

from __future__ import annotations

import os
import socket


def notify(message: str, environ: dict[str, str] | None = None) -> bool:
    """Send one notification; False when not under systemd or the socket is gone."""
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True


def ping_interval_ms(environ: dict[str, str] | None = None) -> int | None:
    """Half of systemd's watchdog period, in milliseconds; None when there is none."""
    value = (environ if environ is not None else os.environ).get("WATCHDOG_USEC", "")
    try:
        usec = int(value)
    except ValueError:
        return None
    return max(usec // 2000, 100) if usec > 0 else None
