"""Staff sign-in shared by the staff pages (phone simulator, message history, overdue).

Staff sign in once on ``/simulator/login`` with a ``staff`` API token; the session keeps
the token's id and name, never the token, and every request checks that the token is
still active, so a revoked token ends the session at the next request. A script reads
the same pages with the token itself, ``Authorization: Bearer <token>``, and no session
(a revoked token stops working within the token cache's 30 s, as on the API); a bad or
non-staff token gets a 401 or 403, not the sign-in page.
"""

from __future__ import annotations

from flask import Response, current_app, redirect, request, session, url_for

from core.access.tokens import Principal
from gateway.errors import error_response
from gateway.portal import page_language

STAFF_ROLE = "staff"
SESSION_KEY = "simulator_staff"


def current_staff() -> dict | None:
    """The staff member (token id and name) signed in, or whose ``staff`` bearer token
    the request carries, while their token is active."""
    if _bearer() is not None:
        principal = _bearer_principal()
        if principal is None or principal.role != STAFF_ROLE:
            return None
        return {"id": principal.token_id, "name": principal.name}
    staff = session.get(SESSION_KEY)
    if not isinstance(staff, dict) or not isinstance(staff.get("id"), int):
        return None
    if not current_app.extensions["core"].tokens.is_active(staff["id"], STAFF_ROLE):
        session.pop(SESSION_KEY, None)
        return None
    return staff


def sign_in(token_id: int, name: str) -> None:
    """Start a staff session (a fresh one: nothing from before survives)."""
    session.clear()
    session[SESSION_KEY] = {"id": token_id, "name": name}


def sign_out() -> None:
    session.pop(SESSION_KEY, None)


def to_login() -> Response:
    """303 to the staff sign-in page, in the page's language; to a request with a bearer
    token, the JSON error saying what is wrong with it."""
    if _bearer() is not None:
        principal = _bearer_principal()
        if principal is None:
            response = error_response(401, "unauthorized", "the token is not valid")
            response.headers["WWW-Authenticate"] = 'Bearer realm="gateway"'
            return response
        return error_response(403, "forbidden", "this page needs a staff token")
    return redirect(url_for("simulator.login", lang=page_language()), code=303)


def _bearer() -> str | None:
    """The bearer token of the request, if its Authorization header has one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _bearer_principal() -> Principal | None:
    return current_app.extensions["core"].tokens.verify(_bearer())
