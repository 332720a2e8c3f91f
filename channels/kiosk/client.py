"""The kiosk's side of the HTTP API: inquiries and heartbeats, with the standard library.

The terminal has no database and no copy of the gateway: it sends what was typed to
``POST /api/v1/inquiries`` with its kiosk token and shows the answer. urllib's and the
socket's errors become ``GatewayUnavailable`` (try again later) or ``GatewayRefused``
(the gateway answered but will not serve this kiosk) here, at the boundary.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.kiosk.flow import Reply


class GatewayUnavailable(Exception):
    """No answer from the gateway: network down, timeout, or a 5xx."""


class GatewayRefused(Exception):
    """The gateway answered with a 4xx other than rate limiting (bad or revoked token)."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"HTTP {status} {code}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Heartbeat:
    kiosk_id: str
    version: str
    last_inquiry_at: datetime | None
    printer: str

    def json(self) -> dict[str, Any]:
        return {"kiosk_id": self.kiosk_id, "version": self.version,
                "last_inquiry_at": (self.last_inquiry_at.isoformat()
                                    if self.last_inquiry_at else None),
                "printer": self.printer}


class GatewayClient:
    """Talks to one gateway with one kiosk token; safe to use from a worker thread."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def inquire(self, number: str, national_id: str, lang: str) -> Reply:
        status, body = self._post("/api/v1/inquiries",
                                  {"number": number, "national_id": national_id,
                                   "lang": lang}, ok=(200, 429))
        transaction = body.get("transaction") or {}
        return Reply(found=bool(body.get("found")), text=str(body.get("text", "")),
                     number=str(transaction.get("number", "")),
                     status_text=str(transaction.get("status_text", "")),
                     rate_limited=status == 429)

    def heartbeat(self, beat: Heartbeat) -> None:
        self._post("/api/v1/kiosks/heartbeat", beat.json(), ok=(200,))

    def _post(self, path: str, payload: dict[str, Any],
              ok: tuple[int, ...]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            self.base_url + path, data=json.dumps(payload).encode(), method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json",
                     "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                status, body = exc.code, _json(exc.read())
            if status in ok:
                return status, body
            if status >= 500:
                raise GatewayUnavailable(f"HTTP {status}") from exc
            code = str((body.get("error") or {}).get("code", "refused"))
            raise GatewayRefused(status, code) from exc
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError,
                ValueError) as exc:
            raise GatewayUnavailable(str(exc)) from exc


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
