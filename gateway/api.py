"""The JSON API: lifecycle events and reference data from the records system, inquiries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, jsonify

from core.calendar.dates import format_date, local_date
from core.platform.errors import InvalidRequest
from core.platform.i18n import pick_language
from core.transactions.answer import Answer, Outcome, TransactionView
from core.transactions.inquiry import InquiryRequest
from core.transactions.render import screen_text, stage_label, status_label
from gateway.auth import require_role
from gateway.json_requests import json_object

api = Blueprint("api", __name__, url_prefix="/api/v1")


def _core():
    return current_app.extensions["core"]


@api.post("/events")
@require_role("records")
def post_event():
    outcome = _core().record_event(json_object())
    body = {"event_id": outcome.event_id, "transaction": outcome.number,
            "status": outcome.status, "duplicate": outcome.duplicate,
            "notifications": outcome.notifications}
    return jsonify(body), (200 if outcome.duplicate else 201)


def _upsert(kind: str, code: str):
    result = getattr(_core(), f"upsert_{kind}")(code, json_object())
    return jsonify({"code": result.code, "created": result.created}), \
        (201 if result.created else 200)


@api.put("/departments/<code>")
@require_role("records")
def put_department(code: str):
    return _upsert("department", code)


@api.put("/employees/<code>")
@require_role("records")
def put_employee(code: str):
    return _upsert("employee", code)


@api.put("/agencies/<code>")
@require_role("records")
def put_agency(code: str):
    return _upsert("agency", code)


@api.post("/inquiries")
@require_role("kiosk", "staff")
def post_inquiry():
    data = json_object()
    number, national_id, lang = data.get("number"), data.get("national_id"), data.get("lang")
    for name, value in (("number", number), ("national_id", national_id), ("lang", lang)):
        if value is not None and not isinstance(value, str):
            raise InvalidRequest(f"{name} must be a string", code="invalid_field", field=name)
    if not number:
        raise InvalidRequest("number is required", code="missing_field", field="number")
    if not national_id:
        raise InvalidRequest("national_id is required", code="missing_field",
                             field="national_id")
    core = _core()
    lang = pick_language(lang, core.config.locale.default_language)
    channel = "kiosk" if g.principal.role == "kiosk" else "api"
    # The origin is the terminal: a kiosk (or staff desk) serves a queue, so the core
    # counts it only in pairs with what is typed (this ID at this kiosk), never alone.
    answer = core.inquire(InquiryRequest(
        channel=channel, number_text=number, national_id=national_id, lang=lang,
        origin=g.principal.name))
    if answer.transaction is None:
        return _without_transaction(answer, lang)
    return jsonify(answer_json(answer, lang, core.config.tz))


def _without_transaction(answer: Answer, lang: str) -> Response:
    """The answer that shows no transaction (not found, invalid, refused): one body per
    outcome and language whoever asks, encoded once per app. A flood of failed inquiries
    pays for no JSON encoding; "not found" and "not yours" are one cached answer."""
    cached: dict[tuple[Outcome, bool, str], tuple[bytes, int]] = \
        current_app.extensions.setdefault("inquiry_bodies", {})
    key = (answer.outcome, answer.id_mistyped, lang)
    if key not in cached:
        body = answer_json(answer, lang, _core().config.tz)
        status = 200
        if answer.outcome is Outcome.RATE_LIMITED:
            body["error"] = {"code": "rate_limited",
                             "message": "too many failed inquiries; wait and retry"}
            status = 429
        cached[key] = jsonify(body).get_data(), status
    data, status = cached[key]
    return current_app.response_class(data, status=status, mimetype="application/json")


def answer_json(answer: Answer, lang: str, tz: ZoneInfo) -> dict[str, Any]:
    """The inquiry answer as JSON; not-found carries nothing that tells why."""
    body: dict[str, Any] = {"found": answer.found, "text": screen_text(answer, lang, tz)}
    if answer.transaction is not None:
        body["transaction"] = _transaction_json(answer.transaction, lang, tz)
    return body


def _when(moment: datetime | None, lang: str, tz: ZoneInfo) -> dict[str, str] | None:
    if moment is None:
        return None
    day = local_date(moment, tz)
    return {"at": moment.isoformat(), "date": day.isoformat(), "display": format_date(day, lang)}


def _transaction_json(view: TransactionView, lang: str, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "number": view.number,
        "status": view.status,
        "status_text": status_label(view, lang),
        "subject": view.subject,
        "registered": _when(view.registered_at, lang, tz),
        "department": view.department.in_(lang) if view.department else None,
        "outgoing_number": view.outgoing_number,
        "destination_agency": (view.destination_agency.in_(lang)
                               if view.destination_agency else None),
        "issued": _when(view.issued_at, lang, tz),
        "reply_expected": view.reply_expected,
        "reply_received": _when(view.reply_received_at, lang, tz),
        "closed": _when(view.closed_at, lang, tz),
        "timeline": [{"stage": stage.type, "text": stage_label(stage, lang),
                      **(_when(stage.occurred_at, lang, tz) or {})}
                     for stage in view.timeline],
    }
