"""Bearer tokens for the JSON API: ``Authorization: Bearer <token>``, one role each."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import current_app, g, request

from gateway.errors import error_response


def require_role(*roles: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return _unauthorized("a bearer token is required")
            principal = current_app.extensions["core"].tokens.verify(token.strip())
            if principal is None:
                return _unauthorized("the token is not valid")
            if principal.role not in roles:
                return error_response(403, "forbidden",
                                      f"this route needs a {' or '.join(roles)} token")
            g.principal = principal
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _unauthorized(message: str):
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="gateway"'
    return response
