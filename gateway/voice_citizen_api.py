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
from core.voice.actions import CitizenProof
from core.voice.cases import TEXT_MAX
from core.voice.citizen_cases import CitizenView, plain, state_words
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


@voice_citizen_api.post("/cases/<tracking>/citizen")
@require_role("kiosk", "staff")
def citizen_act(tracking: str):
    """The citizen's reply, rating, reopening or withdrawal; the case as they now see it.
    With an ``Idempotency-Key`` a retried request acts once."""
    data = json_object()
    known_fields(data, ("mobile", "action", "text", "rating", "lang"))
    mobile = string_field(data, "mobile", required=True)
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
