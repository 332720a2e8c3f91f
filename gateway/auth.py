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
            token = bearer_token()
            if not token:
                return _unauthorized("a bearer token is required")
            principal = current_app.extensions["core"].tokens.verify(token)
            if principal is None:
                return _unauthorized("the token is not valid")
            if principal.role not in roles:
                return error_response(403, "forbidden",
                                      f"this route needs a {' or '.join(roles)} token")
            g.principal = principal
            return view(*args, **kwargs)
        wrapper.accepted_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper
    return decorate


def bearer_token() -> str | None:
    """The request's bearer token (``Authorization: Bearer <token>``), "" when the header
    names the scheme with no token, None when it has no bearer token at all."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _unauthorized(message: str):
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="gateway"'
    return response
