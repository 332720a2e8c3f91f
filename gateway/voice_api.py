"""Citizen's Voice over JSON (CONTRACT.md): filing cases, reading and working them with a
user's personal token, and the categories and policies their deadlines come from.

Each route turns the request into a call on ``core.voice`` and its answer into JSON;
what a user may see or do is decided there, on ``g.actor``. "Not found" and "not yours"
are the same 404; a right the user lacks is a 403, a state that does not allow the
action a 409.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from core.platform.errors import InvalidRequest
from gateway.accounts import api_user_required
from gateway.json_requests import idempotency_key, json_object

voice_api = Blueprint("voice_api", __name__, url_prefix="/api/v1")

MAX_PAGE = 100_000


def _voice():
    return current_app.extensions["core"].voice


@voice_api.post("/cases")
@api_user_required(services=("kiosk", "staff"))
def file_case():
    """A kiosk, a staff desk or a user's token files a case for a citizen. With an
    ``Idempotency-Key`` a retried request files once (the first filing's answer again).
    A kiosk's citizen files for themselves: the filing limits apply (429); staff and
    users file for citizens."""
    key = idempotency_key()
    source_key = None
    if key is not None:
        who = g.principal.name if g.actor is None else f"user-{g.actor.login}"
        source_key = f"api:{who}:{key}"
    self_service = g.actor is None and g.principal.role == "kiosk"
    filed = _voice().file_case(json_object(), actor=g.actor, source_key=source_key,
                               self_service=self_service)
    return jsonify(filed.as_dict()), 201


@voice_api.get("/cases")
@api_user_required()
def list_cases():
    unknown = sorted(set(request.args) - {"state", "page"})
    if unknown:
        raise InvalidRequest(f"{unknown[0]} is not a known parameter", code="invalid_field",
                             field=unknown[0])
    state = request.args.get("state")
    page_text = request.args.get("page", "1")
    if not page_text.isascii() or not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
        raise InvalidRequest(f"page: a whole number from 1 to {MAX_PAGE}",
                             code="invalid_field", field="page")
    page = _voice().cases(g.actor, state=state, page=int(page_text))
    return jsonify({"cases": [row.as_dict() for row in page.cases], "page": page.page,
                    "more": page.more})


@voice_api.get("/cases/<tracking>")
@api_user_required()
def get_case(tracking: str):
    return jsonify(_voice().case(g.actor, tracking).as_dict())


@voice_api.post("/cases/<tracking>/actions")
@api_user_required()
def act(tracking: str):
    return jsonify(_voice().act(g.actor, tracking, json_object()).as_dict())


@voice_api.put("/voice/categories/<code>")
@api_user_required("admin", services=("records",))
def put_category(code: str):
    result = _voice().upsert_category(code, json_object(), actor=g.actor)
    return jsonify({"code": result.code, "created": result.created}), \
        (201 if result.created else 200)


@voice_api.put("/voice/policies/<agency>")
@api_user_required("admin")
def put_policy(agency: str):
    view = _voice().set_agency_policy(agency, json_object(), actor=g.actor)
    return jsonify({"agency": view.agency, "type": view.case_type,
                    "acknowledge": view.acknowledge, "answer": view.answer,
                    "since": view.created_at.isoformat()})
