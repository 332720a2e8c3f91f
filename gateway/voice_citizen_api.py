"""Citizen's Voice for terminals that serve citizens (a kiosk, a staff desk): the agencies
and categories to choose from, and a citizen's own case, proved by their mobile: what
it says, and their reply, rating, reopening or withdrawal (CONTRACT.md).

Each lookup is counted against the terminal's token and the tracking number
(``core.voice.lookups``): "not found" and "not yours" are the same 404, byte for byte,
and too many of them are a 429 until the window passes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, jsonify

from core.platform.errors import InvalidRequest
from core.platform.i18n import pick_language
from core.voice.actions import CitizenProof
from core.voice.cases import TEXT_MAX
from core.voice.citizen_cases import CitizenView, plain, state_words
from gateway.auth import require_role
from gateway.json_requests import idempotency_key, json_object

voice_citizen_api = Blueprint("voice_citizen_api", __name__, url_prefix="/api/v1")

CITIZEN_ACTIONS = ("citizen_reply", "rate", "reopen", "withdraw")


def _voice():
    return current_app.extensions["core"].voice


def _string(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required", code="missing_field", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string", code="invalid_field", field=name)
    return value


def _known(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for name in data:
        if name not in allowed:
            raise InvalidRequest(f"{name} is not a known field", code="unexpected_field",
                                 field=name)


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


def _lang(data: dict[str, Any]) -> str:
    return pick_language(_string(data, "lang"),
                         current_app.extensions["core"].config.locale.default_language)


@voice_citizen_api.post("/cases/<tracking>/citizen/view")
@require_role("kiosk", "staff")
def citizen_view(tracking: str):
    """The case as its citizen sees it, proved by their ``mobile``."""
    data = json_object()
    _known(data, ("mobile", "lang"))
    mobile = _string(data, "mobile", required=True)
    lang = _lang(data)
    view = _voice().citizen_view(tracking, CitizenProof(mobile=mobile), place=_place())
    return jsonify(view_json(view, lang))


@voice_citizen_api.post("/cases/<tracking>/citizen")
@require_role("kiosk", "staff")
def citizen_act(tracking: str):
    """The citizen's reply, rating, reopening or withdrawal; the case as they now see it.
    With an ``Idempotency-Key`` a retried request acts once."""
    data = json_object()
    _known(data, ("mobile", "action", "text", "rating", "lang"))
    mobile = _string(data, "mobile", required=True)
    action = _string(data, "action", required=True)
    if action not in CITIZEN_ACTIONS:
        raise InvalidRequest(f"action: one of {', '.join(CITIZEN_ACTIONS)}",
                             code="invalid_field", field="action")
    text = _string(data, "text")
    if text is not None and not 1 <= len(text) <= TEXT_MAX:
        raise InvalidRequest(f"text: 1 to {TEXT_MAX} characters", code="invalid_field",
                             field="text")
    rating = data.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int)
                               or not 1 <= rating <= 5):
        raise InvalidRequest("rating: 1 to 5", code="invalid_field", field="rating")
    lang = _lang(data)
    key = idempotency_key()
    source_key = f"api:{g.principal.name}:{key}" if key else None
    proof = CitizenProof(mobile=mobile)
    voice = _voice()
    voice.citizen_act(tracking, action, proof, text=text, rating=rating,
                      source_key=source_key, place=_place())
    return jsonify(view_json(voice.citizen_view(tracking, proof), lang))


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
