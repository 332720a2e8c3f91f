"""Open311 GeoReport v2 at ``/open311/v2/`` (wiki.open311.org/GeoReport_v2), so that the
city's other systems and third-party apps that speak the open standard work unchanged.

Each route turns the request into a call on ``core.voice.open311`` and renders its answer
in the format the path ends with (``.json`` or ``.xml``), with the specification's field
names; errors too are the specification's: ``[{"code": 400, "description": "..."}]`` or
``<errors><error><code>400</code><description>…</description></error></errors>``, with
the same HTTP status. What is published, and what a POST needs (an ``api_key`` that is a
kiosk or staff token), is the core's and the README's "Open311".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from core.platform.errors import CoreError
from core.voice.open311 import parse_query
from gateway.errors import core_error_response
from gateway.json_requests import idempotency_key

open311 = Blueprint("open311", __name__, url_prefix="/open311/v2")

FORMATS = ("json", "xml")
# Roles whose token is a valid api_key for a POST.
POSTING_ROLES = ("kiosk", "staff")
_JSON_MARKUP = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
class Open311Error(Exception):
    """An error to answer in the specification's shape."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _endpoint():
    return current_app.extensions["core"].voice.open311


def _lang() -> str:
    # Not in the specification: names in Arabic unless ?lang=en asks for English.
    return "en" if request.args.get("lang") == "en" else "ar"


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, "the format is .json or .xml")
    return fmt


def _checked(fmt: str) -> str:
    fmt = _format(fmt)
    _endpoint().check_jurisdiction(request.values.get("jurisdiction_id"))
    return fmt


@open311.get("/services.<fmt>")
def services(fmt: str) -> Response:
    fmt = _checked(fmt)
    rows = [asdict(service) for service in _endpoint().services(_lang())]
    return _render(fmt, "services", "service", rows)


@open311.get("/services/<service_code>.<fmt>")
def service_definition(service_code: str, fmt: str) -> Response:
    """A service's definition: no attributes to fill in (every service says
    ``metadata`` false; answered for clients that ask anyway)."""
    fmt = _checked(fmt)
    if not any(service.service_code == service_code
               for service in _endpoint().services(_lang())):
        raise Open311Error(404, f"no service {service_code[:64]}")
    if fmt == "json":
        return _render_one({"service_code": service_code, "attributes": []})
    top = ElementTree.Element("service_definition")
    ElementTree.SubElement(top, "service_code").text = service_code
    ElementTree.SubElement(top, "attributes")
    return Response(ElementTree.tostring(top, encoding="utf-8", xml_declaration=True),
                    content_type="text/xml; charset=utf-8")


@open311.get("/requests.<fmt>")
def list_requests(fmt: str) -> Response:
    fmt = _checked(fmt)
    found = _endpoint().requests(parse_query(request.args), _lang())
    return _render(fmt, "service_requests", "request", [_request_row(row) for row in found])


@open311.get("/requests/<request_id>.<fmt>")
def one_request(request_id: str, fmt: str) -> Response:
    fmt = _checked(fmt)
    found = _endpoint().request(request_id, _lang())
    return _render(fmt, "service_requests", "request", [_request_row(found)])


@open311.post("/requests.<fmt>")
def post_request(fmt: str) -> Response:
    fmt = _checked(fmt)
    api_key = (request.values.get("api_key") or "").strip()
    if not api_key:
        raise Open311Error(403, "api_key is required to post a request")
    principal = current_app.extensions["core"].tokens.verify(api_key)
    if principal is None or principal.role not in POSTING_ROLES:
        raise Open311Error(403, "api_key is not valid")
    posted = _endpoint().file(request.form, token_name=principal.name,
                              idempotency_key=idempotency_key())
    row = {"service_request_id": posted.service_request_id,
           "service_notice": posted.service_notice, "account_id": posted.account_id}
    return _render(fmt, "service_requests", "request", [row],
                   status=200 if posted.replayed else 201)


@open311.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest: str) -> Response:
    """Anything else under /open311/v2/ (tokens, discovery): the specification's 404."""
    raise Open311Error(404, "no such resource: services, requests or requests/<id>")


def _request_row(found: Any) -> dict[str, Any]:
    row = asdict(found)
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        moment = row[name]
        row[name] = moment.isoformat(timespec="seconds") if isinstance(moment, datetime) \
            else None
    return row


# --- rendering ----------------------------------------------------------------------------


def _render(fmt: str, root: str, item: str, rows: Iterable[dict[str, Any]], *,
            status: int = 200) -> Response:
    if fmt == "json":
        # "<", ">" and "&" as \u escapes (the same string to any JSON parser): a
        # citizen's text can never be read as markup, whatever shows the body.
        body = json.dumps(list(rows), ensure_ascii=False).translate(_JSON_MARKUP)
        return Response(body, status=status, mimetype="application/json")
    return Response(_xml(root, item, rows), status=status,
                    content_type="text/xml; charset=utf-8")


def _render_one(row: dict[str, Any]) -> Response:
    """One JSON object (a service definition), escaped as ``_render``'s."""
    body = json.dumps(row, ensure_ascii=False).translate(_JSON_MARKUP)
    return Response(body, mimetype="application/json")


def _xml(root: str, item: str, rows: Iterable[dict[str, Any]]) -> bytes:
    """The rows as ``<root><item><field>value</field>…</item>…</root>``: ElementTree
    escapes ``<``, ``&`` and ``>`` in text (so ``]]>`` too); the core drops the control
    characters XML 1.0 cannot carry."""
    top = ElementTree.Element(root)
    for row in rows:
        element = ElementTree.SubElement(top, item)
        for name, value in row.items():
            child = ElementTree.SubElement(element, name)
            if value is None:
                continue
            child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)


def _error(status: int, description: str) -> Response:
    fmt = "xml" if request.path.endswith(".xml") else "json"
    return _render(fmt, "errors", "error", [{"code": status, "description": description}],
                   status=status)


@open311.errorhandler(Open311Error)
def _open311_error(exc: Open311Error) -> Response:
    return _error(exc.status, exc.description)


@open311.errorhandler(CoreError)
def _core_error(exc: CoreError) -> Response:
    return core_error_response(exc, lambda status: _error(status, exc.message), invalid=400)


@open311.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    response = _error(exc.code or 400, exc.description or exc.name)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
