"""Errors at the boundary: JSON ``{"error": {"code", "message"}}`` for API clients, a
page in the citizen's language for browsers; never a trace."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from core.platform.errors import (
    Conflict,
    CoreError,
    Forbidden,
    InvalidRequest,
    NotFound,
    TooMany,
)
from core.platform.faults import database_away
from gateway.portal import error_page, unavailable_page

log = logging.getLogger(__name__)

# Seconds a client is asked to wait while the database is away (a restart takes a few).
DATABASE_RETRY_AFTER = 5
STATUS_FOR = {InvalidRequest: 422, Forbidden: 403, NotFound: 404, Conflict: 409,
              TooMany: 429}


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    body: dict = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field
    response = jsonify(body)
    response.status_code = status
    return response


def core_error_response(exc: CoreError, render: Callable[[int], Response], *,
                        invalid: int = 422) -> Response:
    """The answer to a core error in any shape (``render(status)``: ours, Open311's): its
    HTTP status (``invalid`` for bad input: Open311 says 400), and Retry-After when the
    client is told to wait (``TooMany``)."""
    status = invalid if isinstance(exc, InvalidRequest) else next(
        (code for kind, code in STATUS_FOR.items() if isinstance(exc, kind)), 400)
    response = render(status)
    if isinstance(exc, TooMany) and exc.retry_after:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _database_away(exc: Exception) -> Response:
    """The database down or restarting: 503 with Retry-After, for the client to try again
    (a records system's event, a kiosk's inquiry); one line in the log, by type only (a
    driver's message can quote a row), not a bug's traceback."""
    log.warning("%s %s: the database is unavailable (%s); answered 503", request.method,
                request.path, type(exc).__name__)
    if _wants_json():
        response = error_response(503, "unavailable", "the service is unavailable for a "
                                  "moment; try again shortly")
    else:
        response = unavailable_page()
        response.status_code = 503
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == \
        "application/json"


def install(app: Flask) -> None:
    @app.errorhandler(CoreError)
    def _core_error(exc: CoreError):
        return core_error_response(
            exc, lambda status: error_response(status, exc.code, exc.message, exc.field))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not _wants_json():
            return error_page(exc)
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(exc.code or 400, code, exc.description or exc.name)
        # Keep the exception's own headers (Allow on a 405), not its HTML content type.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if database_away(exc):
            return _database_away(exc)
        # Logged with its traceback here; the client sees a plain message, never the trace.
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return unavailable_page()
        return error_response(500, "internal_error", "the gateway could not handle this "
                              "request; it has been logged")
