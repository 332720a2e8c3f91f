"""Citizen's Voice for terminals that serve citizens (a kiosk, a staff desk): the agencies
and categories to choose from, and a citizen's own case: what it says, proved by its
tracking number and mobile, and their reply, rating, reopening or withdrawal, proved by
a one-time code sent to the case's own mobile (CONTRACT.md).

The portal's rule holds here too (``core.voice.citizen_access``): the pair is enough to
READ, not to ACT. A pair read over a shoulder, or typed by whoever holds a terminal's
token, must not withdraw or rate a stranger's case. The terminal asks for a code
(``/code``: the same lookup, counted, then an SMS to the case's mobile, never to one the
request names) and gets a ``ticket`` (the code's id and the tracking number, signed with
the gateway's secret so that no terminal makes one up); the typed code with the ticket
(``/verify``, or with the act itself) gives a ``proof`` (signed too) that the core
believes for that one case for ``codes.PROOF_LIFETIME``.

Each lookup is counted against the terminal's token and the tracking number
(``core.voice.lookups``): "not found" and "not yours" are the same 404, byte for byte,
and too many of them are a 429 until the window passes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, jsonify
from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.identity.digits import normalize_digits
from core.identity.phones import InvalidMobile, normalize_mobile
from core.messaging.codes import LIFETIME, PROOF_LIFETIME
from core.platform.errors import InvalidRequest, NotFound
from core.platform.i18n import gettext_for
from core.voice.actions import CitizenProof
from core.voice.cases import TEXT_MAX
from core.voice.citizen_cases import CitizenView, plain, state_words
from core.voice.tracking import parse_tracking
from gateway.auth import require_role
from gateway.json_requests import (
    idempotency_key,
    json_object,
    known_fields,
    lang_field,
    string_field,
)

voice_citizen_api = Blueprint("voice_citizen_api", __name__, url_prefix="/api/v1")

CITIZEN_ACTIONS = ("citizen_reply", "rate", "reopen", "withdraw")
TICKET_SECONDS = 10 * 60  # a code lives 5 minutes; a resend may come within the ten
MAX_TOKEN = 400


def _voice():
    return current_app.extensions["core"].voice


@voice_citizen_api.get("/voice/catalogue")
@require_role("kiosk", "staff")
def catalogue():
    """The agencies and their active categories, in both languages (what a kiosk offers)."""
    voice = _voice()
    by_agency: dict[str, list[dict[str, Any]]] = {}
    for row in voice.category_rows():
        if row.active:
            by_agency.setdefault(row.agency, []).append(
                {"code": row.code, "name_ar": row.name_ar, "name_en": row.name_en,
                 "types": list(row.types)})
    agencies = [{"code": agency.code, "name_ar": agency.name_ar, "name_en": agency.name_en,
                 "categories": by_agency.get(agency.code, [])}
                for agency in voice.agencies()]
    return jsonify({"agencies": agencies,
                    "emirate": current_app.extensions["core"].config.voice.emirate_agency})


def _place() -> str:
    return f"api:{g.principal.name}"


@voice_citizen_api.post("/cases/<tracking>/citizen/view")
@require_role("kiosk", "staff")
def citizen_view(tracking: str):
    """The case as its citizen sees it, proved by their ``mobile``."""
    data = json_object()
    known_fields(data, ("mobile", "lang"))
    mobile = string_field(data, "mobile", required=True)
    lang = lang_field(data)
    view = _voice().citizen_view(tracking, CitizenProof(mobile=mobile), place=_place())
    return jsonify(view_json(view, lang))


def _signer(kind: str) -> URLSafeTimedSerializer:
    secret = current_app.secret_key
    assert secret  # gateway/app.py always sets it (var/secret_key when not configured)
    return URLSafeTimedSerializer(secret, salt=f"voice-citizen-{kind}")


def _signed_code(data: dict[str, Any], kind: str, tracking: str, max_age: int) -> int:
    """The code id a signed ``ticket`` or ``proof`` carries for the case ``tracking``.
    One made up, too old, or signed for another case: 422 ``invalid_field`` on it (a
    terminal cannot move a code from one case to another)."""
    value = string_field(data, kind, required=True) or ""
    try:
        held = _signer(kind).loads(value[:MAX_TOKEN], max_age=max_age)
    except BadSignature:
        held = None
    if not (isinstance(held, list) and len(held) == 2 and isinstance(held[0], int)
            and held[1] == parse_tracking(tracking)):
        raise InvalidRequest(f"the {kind} is not one, or it is too old, or for another "
                             "case: ask for a code again", code="invalid_field", field=kind)
    return held[0]


def _verified(tracking: str, data: dict[str, Any]) -> int:
    """The typed ``code`` for the ``ticket``: the verified code's id (``wrong_code``,
    ``code_expired``, ``code_dead``, ``too_many_codes`` as the portal's)."""
    code_id = _signed_code(data, "ticket", tracking, TICKET_SECONDS)
    typed = string_field(data, "code", required=True) or ""
    _voice().citizens.confirm(code_id, typed[:40], origin=_place())
    return code_id


def _proof(code_id: int, tracking: str) -> str:
    return _signer("proof").dumps([code_id, parse_tracking(tracking)])


@voice_citizen_api.post("/cases/<tracking>/citizen/code")
@require_role("kiosk", "staff")
def citizen_code(tracking: str):
    """A one-time code to the case's own mobile, to act on it: the same lookup (and
    refusal) as the view, then the SMS; the ``ticket`` to send the typed code with."""
    data = json_object()
    known_fields(data, ("mobile", "lang"))
    mobile = string_field(data, "mobile", required=True) or ""
    lang = lang_field(data)
    sent = _voice().citizens.send_code(tracking, mobile, lang=lang, origin=_place())
    _ = gettext_for(lang)
    minutes = int(LIFETIME.total_seconds() // 60)
    return jsonify({
        "ticket": _signer("ticket").dumps([sent.code_id, parse_tracking(tracking)]),
        "expires_in": int(LIFETIME.total_seconds()),
        "message": _("A 6-digit code was sent by text message to the mobile of this case. "
                     "It works for %(minutes)s minutes.") % {"minutes": minutes},
    }), 202


@voice_citizen_api.post("/cases/<tracking>/citizen/verify")
@require_role("kiosk", "staff")
def citizen_verify(tracking: str):
    """The typed code for the ticket: a ``proof`` to act on this case for a while."""
    data = json_object()
    known_fields(data, ("ticket", "code"))
    code_id = _verified(tracking, data)
    return jsonify({"proof": _proof(code_id, tracking),
                    "expires_in": int(PROOF_LIFETIME.total_seconds())})


@voice_citizen_api.post("/cases/<tracking>/citizen")
@require_role("kiosk", "staff")
def citizen_act(tracking: str):
    """The citizen's reply, rating, reopening or withdrawal, proved by a code sent to the
    case's mobile (a ``proof``, or the ``ticket`` and the typed ``code``); the case as
    they now see it. With an ``Idempotency-Key`` a retried request acts once."""
    data = json_object()
    known_fields(data, ("mobile", "action", "text", "rating", "lang", "ticket", "code",
                        "proof"))
    mobile = string_field(data, "mobile")
    action = string_field(data, "action", required=True)
    if action not in CITIZEN_ACTIONS:
        raise InvalidRequest(f"action: one of {', '.join(CITIZEN_ACTIONS)}",
                             code="invalid_field", field="action")
    text = string_field(data, "text")
    if text is not None and not 1 <= len(text) <= TEXT_MAX:
        raise InvalidRequest(f"text: 1 to {TEXT_MAX} characters", code="invalid_field",
                             field="text")
    rating = data.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int)
                               or not 1 <= rating <= 5):
        raise InvalidRequest("rating: 1 to 5", code="invalid_field", field="rating")
    lang = lang_field(data)
    key = idempotency_key()
    if data.get("proof") is not None:
        code_id = _signed_code(data, "proof", tracking, int(PROOF_LIFETIME.total_seconds()))
    elif data.get("ticket") is not None or data.get("code") is not None:
        code_id = _verified(tracking, data)
    else:
        raise InvalidRequest("acting on a case needs the code sent to its mobile: ask for "
                             "one (POST .../citizen/code), then send the ticket and the "
                             "code, or a proof", code="code_required", field="code")
    voice = _voice()
    proven = voice.citizens.proven(code_id, tracking)
    if proven is None or (mobile is not None and not _same_mobile(mobile, proven.mobile)):
        raise NotFound("no such case", code="unknown_case", field="tracking")
    voice.citizens.act_once(code_id, tracking, action, text=text, rating=rating,
                            source_key=f"api:{g.principal.name}:{key}" if key else None)
    return jsonify(view_json(voice.citizens.view(code_id, tracking), lang))


def _same_mobile(typed: str, proven: str) -> bool:
    try:
        return normalize_mobile(normalize_digits(typed)) == proven
    except InvalidMobile:
        return False


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def view_json(view: CitizenView, lang: str) -> dict[str, Any]:
    """The citizen's view as JSON, its words in ``lang`` (nothing of the agency's staff)."""
    return {
        "tracking": view.tracking, "type": view.type, "state": view.state,
        "state_text": state_words(view.state, lang),
        "agency": view.agency(lang), "category": view.category(lang),
        "text": view.text, "received_at": view.received_at.isoformat(),
        "answer_due": _iso(view.answer_due), "question": view.question,
        "answer": view.answer, "rating": view.rating,
        "reopen_until": view.reopen_until.isoformat() if view.reopen_until else None,
        "may_reply": view.may_reply, "may_rate": view.may_rate,
        "may_reopen": view.may_reopen, "may_withdraw": view.may_withdraw,
        "history": [{"at": step.at.isoformat(), "what": step.what,
                     "words": plain(step, view.type, lang), "text": step.text,
                     "rating": step.rating} for step in view.history],
    }
