"""`gateway kiosk` on a real X server (Xvfb) through Qt's xcb platform, as a terminal runs:
its home screen (the two service tiles) drawn on the X server's screen.

The other kiosk tests use Qt's offscreen platform, which loads none of the xcb libraries a
terminal's display needs; a Debian without libxcb-cursor0 (and the others
scripts/system-deps.sh installs) refuses to start with "could not load the Qt platform
plugin xcb". Here the kiosk starts full screen on Xvfb, its first screen is read back
from the X server's own framebuffer (Xvfb ``-fbdir`` keeps the screen as an XWD file),
and SIGTERM ends it cleanly.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from channels.kiosk.home import GREEN as TILE_GREEN
from tests import processes
from tests.conftest import require_peer

WIDTH, HEIGHT = 1080, 1920


def _screen_pixels(framebuffer: Path) -> list[int]:
    """Every pixel of Xvfb's screen 0, from its XWD file (a 32-bit TrueColor screen)."""
    data = framebuffer.read_bytes()
    for order in (">", "<"):  # Xvfb writes the header in the X server's byte order
        fields = struct.unpack(f"{order}25I", data[:100])
        if fields[1] == 7:  # XWD_FILE_VERSION
            break
    else:
        raise AssertionError("not an XWD file")
    header_size, bits_per_pixel, bytes_per_line = fields[0], fields[11], fields[12]
    width, height, colours = fields[4], fields[5], fields[19]
    assert (bits_per_pixel, width, height) == (32, WIDTH, HEIGHT), fields
    start = header_size + 12 * colours
    pixels: list[int] = []
    for row in range(0, height, 8):  # every 8th row and column: enough to see a screen
        line = data[start + row * bytes_per_line:start + row * bytes_per_line + width * 4]
        pixels.extend(struct.unpack(f"<{width}I", line)[::8])
    return pixels


def _tile_share(pixels: list[int]) -> float:
    """The share of the screen in the home tiles' green (channels/kiosk/home.py)."""
    green = TILE_GREEN.rgb() & 0xFFFFFF
    return sum(1 for pixel in pixels if pixel & 0xFFFFFF == green) / len(pixels)


def _blank(pixels: list[int]) -> bool:
    """One colour (give or take a cursor) everywhere."""
    _, most = Counter(pixels).most_common(1)[0]
    return most > 0.995 * len(pixels)


@pytest.fixture
def xvfb(tmp_path):
    """A throwaway Xvfb on a display number it picks itself (``-displayfd``: no clash with
    another test's server); its display name and framebuffer file."""
    binary = shutil.which("Xvfb")
    require_peer(binary is not None, "Xvfb (scripts/system-deps.sh installs xvfb)")
    fbdir = tmp_path / "fb"
    fbdir.mkdir()
    read, write = os.pipe()
    server = subprocess.Popen(
        [binary, "-displayfd", str(write), "-screen", "0", f"{WIDTH}x{HEIGHT}x24",
         "-fbdir", str(fbdir), "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        assert number, f"Xvfb did not start: {server.stderr.read().decode()[-2000:]}"
        yield f":{number}", fbdir / "Xvfb_screen0"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_ready(sock: socket.socket, process: subprocess.Popen, timeout: float = 60) -> None:
    """Until the kiosk says READY=1 (its home screen is up), it dies, or ``timeout``."""
    sock.settimeout(0.5)
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if sock.recv(4096).decode() == "READY=1":
                return
        except TimeoutError:
            continue


def test_the_kiosk_shows_its_first_screen_on_xcb_under_xvfb(gateway, kiosk_token, tmp_path,
                                                             xvfb):
    display, framebuffer = xvfb
    assert _blank(_screen_pixels(framebuffer)), "the screen has something before the kiosk"
    address = str(tmp_path / "notify.sock")
    env = processes.environment(
        None, tmp_path, QT_QPA_PLATFORM="xcb", DISPLAY=display, NOTIFY_SOCKET=address,
        GATEWAY__KIOSK__GATEWAY_URL=gateway.url, GATEWAY__KIOSK__TOKEN=kiosk_token,
        GATEWAY__KIOSK__KIOSK_ID="hall-x", GATEWAY__KIOSK__PDF_DIR=str(tmp_path / "pdf"))
    env.pop("WAYLAND_DISPLAY", None)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        process = processes.start("kiosk", env)
        try:
            _wait_ready(sock, process)
            assert process.poll() is None, processes.stop(process)
            deadline = time.monotonic() + 30
            while _blank(_screen_pixels(framebuffer)):
                assert time.monotonic() < deadline, "the kiosk drew nothing on the X screen"
                time.sleep(0.3)
            # The home: two large service tiles fill much of the screen (not a row of
            # buttons at its bottom edge).
            while _tile_share(_screen_pixels(framebuffer)) < 0.25:
                assert time.monotonic() < deadline, "no home tiles on the X screen"
                time.sleep(0.3)
        finally:
            output = processes.stop(process, timeout=60)
    assert process.returncode == 0, output
    assert "could not load the Qt platform plugin" not in output, output
    assert "Traceback" not in output, output
    assert "kiosk hall-x" in output and "kiosk stopped" in output, output
