"""What every JSON route reads of its request the same way: the body as one JSON object,
its fields (known ones only, strings where strings are due, the language), and the
``Idempotency-Key`` header that makes a retried POST file once."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, request

from core.platform.errors import InvalidRequest
from core.platform.i18n import pick_language

# An Idempotency-Key: printable ASCII without spaces (a UUID fits), short enough that
# "api:<token name>:<key>" fits a source key (core.voice.models, 200 characters).
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,64}")


def json_object() -> dict[str, Any]:
    """The body, a JSON object (400 ``malformed`` otherwise)."""
    if not request.is_json:
        raise InvalidRequest("send a JSON body with Content-Type: application/json",
                             code="malformed")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON decoder goes: not a usable body
        data = None
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object", code="malformed")
    return data


def idempotency_key() -> str | None:
    """The request's ``Idempotency-Key`` header (None without one); 422 when malformed."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidRequest("Idempotency-Key: 1 to 64 printable ASCII characters, no "
                             "spaces", code="invalid_field", field="Idempotency-Key")
    return key


def string_field(data: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    """The body's ``name``: a string, or None when absent (422 when required)."""
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name} is required", code="missing_field", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string", code="invalid_field", field=name)
    return value


def known_fields(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """422 for a field the route does not take (a typo must not pass unnoticed)."""
    for name in data:
        if name not in allowed:
            raise InvalidRequest(f"{name} is not a known field", code="unexpected_field",
                                 field=name)


def lang_field(data: dict[str, Any]) -> str:
    """The body's ``lang``, or the installation's default language."""
    return pick_language(string_field(data, "lang"),
                         current_app.extensions["core"].config.locale.default_language)
