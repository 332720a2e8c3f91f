""""My transactions" for terminals that serve citizens (a kiosk, a staff desk): the
national ID asks for a code, the code gives a proof, the proof gives the list
(CONTRACT.md; ``core.transactions.mine``).

The terminal holds nothing it could reuse for another citizen: the ``ticket`` (the ID's
keyed hash, signed and short-lived) only lets a code be typed for that ID, the ``proof``
(the verified code's id, signed) only reads that citizen's list while the core still
believes the code (``mine.PROOF_LIFETIME``). Both are signed with the gateway's secret
key, so that a terminal cannot make one up. Requests count against the ID (a terminal
serves many citizens, as with inquiries); wrong codes against the ID and the terminal's
token (the origin), as the portal's count against an address.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify
from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.calendar.dates import format_date, local_date
from core.platform.errors import InvalidRequest
from core.platform.i18n import gettext_for
from core.transactions import mine, render
from core.transactions.answer import Name
from core.voice.citizen_cases import state_words
from gateway.auth import require_role
from gateway.json_requests import json_object, known_fields, lang_field, string_field

my_api = Blueprint("my_api", __name__, url_prefix="/api/v1/my-transactions")

TICKET_SECONDS = 10 * 60  # a code lives 5 minutes; a resend may come within the ten
MAX_TOKEN = 400


def _core():
    return current_app.extensions["core"]


def _signer(kind: str) -> URLSafeTimedSerializer:
    secret = current_app.secret_key
    assert secret  # gateway/app.py always sets it (var/secret_key when not configured)
    return URLSafeTimedSerializer(secret, salt=f"my-transactions-{kind}")


def _origin() -> str:
    return f"api:{g.principal.name}"


def _unsigned(kind: str, data: dict[str, Any], max_age: int) -> Any:
    value = string_field(data, kind, required=True) or ""
    try:
        return _signer(kind).loads(value[:MAX_TOKEN], max_age=max_age)
    except BadSignature as exc:
        if kind == "proof":
            raise mine.signed_out() from exc
        raise InvalidRequest("the ticket is not one, or it is too old: ask for a code "
                             "again", code="invalid_field", field="ticket") from exc


@my_api.post("/code")
@require_role("kiosk", "staff")
def ask_code():
    """A code to the mobile on the ID's newest transaction, if it has any; the same
    answer whatever the ID."""
    data = json_object()
    known_fields(data, ("national_id", "lang"))
    typed = string_field(data, "national_id", required=True) or ""
    lang = lang_field(data)
    # A terminal serves a hall of citizens: its requests count against each ID only, as
    # its inquiries do (a shared origin); its wrong codes still count against it.
    asked = _core().mine.request_code(typed[:40], origin=None)
    _ = gettext_for(lang)
    return jsonify({
        "ticket": _signer("ticket").dumps(asked.subject),
        "message": _("If this national ID has transactions, a 6-digit code was sent by "
                     "text message to the mobile registered on them. It works for "
                     "%(minutes)s minutes.") % {"minutes": 5},
    }), 202


@my_api.post("/verify")
@require_role("kiosk", "staff")
def verify():
    """The typed code for the ticket's ID: a proof for the list, or ``wrong_code``."""
    data = json_object()
    known_fields(data, ("ticket", "code"))
    subject = _unsigned("ticket", data, TICKET_SECONDS)
    typed = string_field(data, "code", required=True) or ""
    code_id = _core().mine.verify(str(subject), typed[:40], origin=_origin())
    return jsonify({"proof": _signer("proof").dumps(code_id),
                    "expires_in": int(mine.PROOF_LIFETIME.total_seconds())})


@my_api.post("/list")
@require_role("kiosk", "staff")
def listing():
    """The proven citizen's transactions, newest first, and their cases."""
    data = json_object()
    known_fields(data, ("proof", "lang"))
    code_id = _unsigned("proof", data, int(mine.PROOF_LIFETIME.total_seconds()))
    lang = lang_field(data)
    if not isinstance(code_id, int):
        raise mine.signed_out()
    listed = _core().mine.listing(code_id)
    return jsonify(list_json(listed, lang, _core().config.tz))


def _name(name: Name | None, lang: str) -> str | None:
    return name.in_(lang) if name else None


def list_json(listed: mine.MyList, lang: str, tz) -> dict[str, Any]:
    """The list as JSON, its words and dates in ``lang`` (what a kiosk shows)."""
    transactions = []
    for line in listed.transactions:
        transactions.append({
            "number": line.number, "subject": line.subject, "status": line.status,
            "stage": render.status_label(line.view(), lang),
            "registered_at": line.registered_at.isoformat(),
            "registered_on": format_date(local_date(line.registered_at, tz), lang),
            "department": _name(line.department, lang),
            "outgoing_number": line.outgoing_number,
            "destination_agency": _name(line.destination_agency, lang)})
    cases = [{"tracking": case.tracking, "type": case.type, "state": case.state,
              "state_text": state_words(case.state, lang),
              "received_at": case.received_at.isoformat(),
              "received_on": format_date(local_date(case.received_at, tz), lang)}
             for case in listed.cases]
    return {"transactions": transactions, "more": listed.more, "cases": cases}
