"""The kiosk's HTTP client against real loopback servers playing what sits between a
kiosk and its gateway: a captive portal, a proxy, a redirect to another host."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from channels.kiosk.client import (
    GatewayClient,
    GatewayRefused,
    GatewayUnavailable,
    Heartbeat,
    insecure_url,
)

BEAT = Heartbeat(kiosk_id="hall-1", version="0.1.0", last_inquiry_at=None, printer="none")
HTML = ("text/html", b"<html><body>Welcome to the airport Wi-Fi</body></html>")


@contextmanager
def serving(status: int, content_type: str, body: bytes,
            headers: dict[str, str] | None = None) -> Iterator[tuple[str, list[dict]]]:
    """A loopback HTTP server answering every POST with this response; the requests'
    headers are kept."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(dict(self.headers))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def inquire(url: str):
    return GatewayClient(url, "gw_secret", timeout=5).inquire("4471234", "1234567897", "ar")


@pytest.mark.parametrize(("status", "content_type", "body"), [
    (200, *HTML),  # a captive portal's page
    (429, *HTML),  # a proxy's rate limit
    (200, "application/json", b'{"found": "false", "text": "x"}'),  # not a boolean
    (200, "application/json", b'["found", false]'),
    (200, "text/plain", b'{"found": false, "text": "x"}'),
    (429, "application/json", b'{"found": false}'),  # a 429 without the gateway's code
])
def test_anything_but_the_gateways_json_answer_is_unavailable(status, content_type, body):
    with serving(status, content_type, body) as (url, _seen), \
            pytest.raises(GatewayUnavailable):
        inquire(url)


def test_the_gateways_own_answers_are_read():
    found = json.dumps({"found": True, "text": "Registered",
                        "transaction": {"number": "4471234", "status_text": "Registered"}})
    with serving(200, "application/json; charset=utf-8", found.encode()) as (url, _seen):
        reply = inquire(url)
    assert (reply.found, reply.number, reply.rate_limited) == (True, "4471234", False)
    limited = json.dumps({"found": False, "text": "Too many",
                          "error": {"code": "rate_limited", "message": "wait"}})
    with serving(429, "application/json", limited.encode()) as (url, _seen):
        reply = inquire(url)
    assert reply.rate_limited and not reply.found


@pytest.mark.parametrize(("status", "content_type", "body"), [
    (429, "application/json", b'{"error": {"code": "rate_limited"}}'),
    (429, *HTML), (200, *HTML),
])
def test_a_heartbeat_answered_by_anything_but_the_gateway_is_unavailable(status,
                                                                         content_type, body):
    with serving(status, content_type, body) as (url, _seen), \
            pytest.raises(GatewayUnavailable):
        GatewayClient(url, "gw_secret", timeout=5).heartbeat(BEAT)


def test_a_redirect_is_not_followed_and_the_token_stays_home(caplog):
    elsewhere_answer = b'{"found": false, "text": ""}'
    with serving(200, "application/json", elsewhere_answer) as (elsewhere, taken):
        moved = {"Location": elsewhere + "/steal"}
        with serving(302, "text/html", b"", moved) as (url, _seen), \
                pytest.raises(GatewayRefused) as refused:
            inquire(url)
    assert refused.value.code == "redirect" and taken == []
    assert "redirect" in caplog.text and elsewhere in caplog.text


@pytest.mark.parametrize(("url", "insecure"), [
    ("http://127.0.0.1:8080", False), ("http://localhost:8080", False),
    ("http://[::1]:8080", False), ("https://gateway.example", False),
    ("http://gateway.example", True), ("http://10.0.0.5:8080", True),
])
def test_plain_http_to_another_machine_is_flagged(url, insecure):
    assert insecure_url(url) is insecure


def test_the_systemd_unit_does_not_restart_a_technician_exit():
    from channels.kiosk.effects import TECHNICIAN_EXIT

    unit = (Path(__file__).resolve().parents[3] / "channels" / "kiosk"
            / "gateway-kiosk.service").read_text()
    assert f"RestartPreventExitStatus={TECHNICIAN_EXIT}" in unit
