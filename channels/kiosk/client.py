"""The kiosk's side of the HTTP API: inquiries and heartbeats, with the standard library.

The terminal has no database and no copy of the gateway: it sends what was typed to
``POST /api/v1/inquiries`` with its kiosk token and shows the answer. urllib's and the
socket's errors become ``GatewayUnavailable`` (try again later) or ``GatewayRefused``
(the gateway answered but will not serve this kiosk) here, at the boundary.

Only the gateway's own answers count: a response that is not an ``application/json``
object of the expected shape (a captive portal's 200 page, a proxy's 429 page) means
the gateway was not reached. Redirects are never followed: the token would go to
whatever host the redirect names, so a 3xx is a configuration error (a wrong
``gateway_url``), refused and logged.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.kiosk.state import (
    Acted,
    Agency,
    CaseView,
    Catalogue,
    Category,
    MineCase,
    MineList,
    MineTransaction,
    Refusal,
    Reply,
    Step,
)

log = logging.getLogger("gateway.kiosk")


class GatewayUnavailable(Exception):
    """No answer from the gateway: network down, timeout, a 5xx, or a response that is
    not the gateway's (an HTML page from a captive portal or a proxy)."""


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
    # Wrong technician PINs typed since the app started (a guessing attempt shows).
    pin_failures: int = 0

    def json(self) -> dict[str, Any]:
        return {"kiosk_id": self.kiosk_id, "version": self.version,
                "last_inquiry_at": (self.last_inquiry_at.isoformat()
                                    if self.last_inquiry_at else None),
                "printer": self.printer, "pin_failures": self.pin_failures}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx stays an HTTPError: the bearer token never follows it to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001
        return None


def insecure_url(url: str) -> bool:
    """Whether the token would cross a network in clear: http:// to a non-loopback host."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


class GatewayClient:
    """Talks to one gateway with one kiosk token; safe to use from a worker thread."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def inquire(self, number: str, national_id: str, lang: str) -> Reply:
        status, body = self._post("/api/v1/inquiries",
                                  {"number": number, "national_id": national_id,
                                   "lang": lang}, ok=(200, 429))
        if not isinstance(body.get("found"), bool):
            raise GatewayUnavailable(f"HTTP {status}: not the gateway's answer")
        if status == 429 and (body.get("error") or {}).get("code") != "rate_limited":
            raise GatewayUnavailable("HTTP 429 from something other than the gateway")
        transaction = body.get("transaction") or {}
        if not isinstance(transaction, dict):
            raise GatewayUnavailable(f"HTTP {status}: not the gateway's answer")
        return Reply(found=body["found"], text=str(body.get("text", "")),
                     number=str(transaction.get("number", "")),
                     status_text=str(transaction.get("status_text", "")),
                     rate_limited=status == 429)

    def heartbeat(self, beat: Heartbeat) -> None:
        _status, body = self._post("/api/v1/kiosks/heartbeat", beat.json(), ok=(200,))
        if body.get("kiosk_id") != beat.kiosk_id:
            raise GatewayUnavailable("the heartbeat's answer is not the gateway's")

    # --- Citizen's Voice --------------------------------------------------------------

    def catalogue(self) -> Catalogue | Refusal:
        """The agencies and categories to choose from."""
        status, body = self._request("GET", "/api/v1/voice/catalogue", None, ok=(200,))
        try:
            agencies = tuple(
                Agency(str(a["code"]), str(a["name_ar"]), str(a["name_en"]), tuple(
                    Category(str(c["code"]), str(c["name_ar"]), str(c["name_en"]),
                             tuple(str(t) for t in c["types"]))
                    for c in a["categories"]))
                for a in body["agencies"])
            return Catalogue(agencies, str(body["emirate"]))
        except (KeyError, TypeError) as exc:
            raise GatewayUnavailable(f"HTTP {status}: not the gateway's catalogue") from exc

    def file_case(self, case_type: str, agency: str, category: str, text: str,
                  mobile: str, lang: str, key: str) -> str | Refusal:
        """File a case with the attempt's Idempotency-Key; its tracking number."""
        payload = {"type": case_type, "text": text, "agency": agency or None,
                   "category": category or None, "channel": "kiosk", "lang": lang,
                   "citizen": {"mobile": mobile}}
        status, body = self._request("POST", "/api/v1/cases", payload,
                                     ok=VOICE_ANSWERS, key=key)
        refusal = _refusal(status, body)
        if refusal is not None:
            return refusal
        if status != 201 or not isinstance(body.get("tracking"), str):
            raise GatewayUnavailable(f"HTTP {status}: not the gateway's answer")
        return body["tracking"]

    def view_case(self, tracking: str, mobile: str, lang: str) -> CaseView | Refusal:
        status, body = self._request(
            "POST", f"/api/v1/cases/{urllib.parse.quote(tracking, safe='')}/citizen/view",
            {"mobile": mobile, "lang": lang}, ok=VOICE_ANSWERS)
        return _refusal(status, body) or _case_view(status, body)

    def ask_case_code(self, tracking: str, mobile: str, lang: str) -> str | Refusal:
        """A code to the case's own mobile, to act on it: the gateway's ticket, or the
        refusal of a lookup (the pair does not match, too many)."""
        status, body = self._request(
            "POST", f"/api/v1/cases/{urllib.parse.quote(tracking, safe='')}/citizen/code",
            {"mobile": mobile, "lang": lang}, ok=VOICE_ANSWERS)
        refusal = _refusal(status, body)
        if refusal is not None:
            return refusal
        ticket = body.get("ticket")
        if status != 202 or not isinstance(ticket, str):
            raise GatewayUnavailable(f"HTTP {status}: not the gateway's answer")
        return ticket

    def act_on_case(self, tracking: str, action: str, lang: str, key: str,
                    text: str | None = None, rating: int | None = None, *,
                    ticket: str = "", code: str = "", proof: str = ""
                    ) -> Acted | Refusal:
        """The act, proved by ``proof``, or first by the typed ``code`` for ``ticket``
        (two requests: the proof it gives is returned for the visit's next act)."""
        path = f"/api/v1/cases/{urllib.parse.quote(tracking, safe='')}/citizen"
        if not proof:
            status, body = self._request("POST", f"{path}/verify",
                                         {"ticket": ticket, "code": code}, ok=VOICE_ANSWERS)
            refusal = _refusal(status, body)
            if refusal is not None:
                return refusal
            proof = body.get("proof") or ""
            if not isinstance(proof, str) or not proof:
                raise GatewayUnavailable(f"HTTP {status}: not the gateway's answer")
        payload: dict[str, Any] = {"proof": proof, "action": action, "lang": lang}
        if text is not None:
            payload["text"] = text
        if rating is not None:
            payload["rating"] = rating
        status, body = self._request("POST", path, payload, ok=VOICE_ANSWERS, key=key)
        refusal = _refusal(status, body)
        return refusal or Acted(_case_view(status, body), proof)

    # --- "my transactions" ----------------------------------------------------------

    def ask_mine_code(self, national_id: str, lang: str) -> str | Refusal:
        """Ask for a code for ``national_id``: the gateway's ticket (the same answer
        whatever the ID), or a refusal (too many, an ID that is not one)."""
        status, body = self._request("POST", "/api/v1/my-transactions/code",
                                     {"national_id": national_id, "lang": lang},
                                     ok=MINE_ANSWERS)
        refusal = _mine_refusal(status, body)
        if refusal is not None:
            return refusal
        ticket = body.get("ticket")
        if not isinstance(ticket, str):
            raise GatewayUnavailable(f"HTTP {status}: not the gateway's answer")
        return ticket

    def open_mine(self, ticket: str, code: str, lang: str) -> MineList | Refusal:
        """The code for ``ticket``, then the list its proof reads (two requests; the
        proof is never kept)."""
        status, body = self._request("POST", "/api/v1/my-transactions/verify",
                                     {"ticket": ticket, "code": code}, ok=MINE_ANSWERS)
        refusal = _mine_refusal(status, body)
        if refusal is not None:
            return refusal
        proof = body.get("proof")
        if not isinstance(proof, str):
            raise GatewayUnavailable(f"HTTP {status}: not the gateway's answer")
        status, body = self._request("POST", "/api/v1/my-transactions/list",
                                     {"proof": proof, "lang": lang}, ok=MINE_ANSWERS)
        return _mine_refusal(status, body) or _mine_list(status, body)

    def _post(self, path: str, payload: dict[str, Any],
              ok: tuple[int, ...]) -> tuple[int, dict[str, Any]]:
        return self._request("POST", path, payload, ok=ok)

    def _request(self, method: str, path: str, payload: dict[str, Any] | None,
                 ok: tuple[int, ...], key: str | None = None) -> tuple[int, dict[str, Any]]:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token}"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(
            self.base_url + path, method=method, headers=headers,
            data=json.dumps(payload).encode() if payload is not None else None)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, _json(response)
        except urllib.error.HTTPError as exc:
            with exc:
                status, body = exc.code, _json(exc)
            if status in ok and body:
                return status, body
            if 300 <= status < 400:
                log.error("kiosk.gateway_url %s answers with a redirect (HTTP %s to %s): "
                          "not followed; set gateway_url to the address it names if you "
                          "trust it", self.base_url, status, exc.headers.get("Location"))
                raise GatewayRefused(status, "redirect") from exc
            if status >= 500 or status == 429 or not body:
                raise GatewayUnavailable(f"HTTP {status}") from exc
            code = str((body.get("error") or {}).get("code", "refused"))
            raise GatewayRefused(status, code) from exc
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError,
                ValueError) as exc:
            raise GatewayUnavailable(str(exc)) from exc


# The gateway's own refusals of a Citizen's Voice request, told to the citizen; the
# others (401, 403, 5xx) are about the kiosk or the gateway.
VOICE_ANSWERS = (200, 201, 404, 409, 422, 429)
VOICE_REFUSALS = {404: ("unknown_case", "unknown_agency", "unknown_category", "code_dead"),
                  409: ("wrong_state", "reopen_window", "already_rated"),
                  429: ("too_many_cases", "too_many_lookups", "too_many_codes",
                        "code_cooldown")}


def _refusal(status: int, body: dict[str, Any]) -> Refusal | None:
    """A refusal the citizen is told of; None for a success. A 4xx body that is not
    the gateway's error (a proxy's page) means the gateway was not reached."""
    if status < 400:
        return None
    error = body.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        raise GatewayUnavailable(f"HTTP {status}: not the gateway's answer")
    code = str(error["code"])
    if status == 422 and error.get("field") in ("ticket", "proof"):
        return Refusal("proof_expired")  # too old (or not one): a new code is asked for
    if status == 422 or code in VOICE_REFUSALS.get(status, ()):
        return Refusal(code)
    raise GatewayUnavailable(f"HTTP {status} {code}: not the gateway's answer")


# "My transactions": what the gateway answers, and the refusals told to the citizen.
MINE_ANSWERS = (200, 202, 404, 422, 429)


def _mine_refusal(status: int, body: dict[str, Any]) -> Refusal | None:
    if status < 400:
        return None
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    if not isinstance(code, str):
        raise GatewayUnavailable(f"HTTP {status}: not the gateway's answer")
    return Refusal(code)


def _mine_list(status: int, body: dict[str, Any]) -> MineList:
    try:
        return MineList(
            transactions=tuple(MineTransaction(
                number=str(t["number"]), subject=str(t["subject"]), stage=str(t["stage"]),
                registered_on=str(t["registered_on"]), department=_text(t["department"]),
                outgoing_number=_text(t["outgoing_number"]),
                destination_agency=_text(t["destination_agency"]))
                for t in body["transactions"]),
            more=int(body["more"]),
            cases=tuple(MineCase(str(c["tracking"]), str(c["type"]), str(c["state_text"]),
                                 str(c["received_on"])) for c in body["cases"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise GatewayUnavailable(f"HTTP {status}: not the gateway's list") from exc


def _case_view(status: int, body: dict[str, Any]) -> CaseView:
    try:
        return CaseView(
            tracking=str(body["tracking"]), case_type=str(body["type"]),
            state=str(body["state"]), state_text=str(body["state_text"]),
            agency=str(body["agency"]), category=_text(body["category"]),
            question=_text(body["question"]), answer=_text(body["answer"]),
            rating=body["rating"] if isinstance(body["rating"], int) else None,
            reopen_until=_text(body["reopen_until"]),
            may_reply=body["may_reply"] is True, may_rate=body["may_rate"] is True,
            may_reopen=body["may_reopen"] is True,
            history=tuple(Step(str(step["words"]), _text(step["text"]))
                          for step in body["history"]))
    except (KeyError, TypeError) as exc:
        raise GatewayUnavailable(f"HTTP {status}: not the gateway's case") from exc


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _json(response) -> dict[str, Any]:  # noqa: ANN001 (a response or an HTTPError)
    """The body as a JSON object; {} when it is not one (not from the gateway)."""
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
    raw = response.read()
    if content_type.lower() != "application/json":
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
