"""Staff sign-in shared by the staff pages (phone simulator, message history, overdue).

Staff sign in once on ``/simulator/login`` with a ``staff`` API token; the cookie keeps
only a random session id, and the session itself lives in the database
(``core.access.sessions``): every request checks it, so signing out ends it for good (a
copied cookie is refused from then on), as do ``gateway.staff_idle_minutes`` without a
request, ``gateway.staff_session_hours`` after sign-in, and revoking the token. A script
reads the same pages with the token itself, ``Authorization: Bearer <token>``, and no
session (a revoked token stops working within the token cache's 30 s, as on the API); a
bad or non-staff token gets a 401 or 403, not the sign-in page.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, redirect, session, url_for

from core.access.tokens import Principal
from gateway.auth import bearer_token
from gateway.errors import error_response
from gateway.portal import page_language

STAFF_ROLE = "staff"
SESSION_KEY = "simulator_staff"
# Where gateway.accounts keeps a staff user's session id in the same cookie.
USER_SESSION_KEY = "staff_user"


def current_staff() -> dict | None:
    """The staff member (token id and name) signed in, or whose ``staff`` bearer token
    the request carries, while their session or token is valid."""
    if bearer_token() is not None:
        principal = _bearer_principal()
        if principal is None or principal.role != STAFF_ROLE:
            return None
        return {"id": principal.token_id, "name": principal.name}
    staff = session.get(SESSION_KEY)
    if not isinstance(staff, dict) or not isinstance(staff.get("sid"), str) \
            or len(staff["sid"]) > 100:
        return None
    gateway = current_app.config["SETTINGS"].gateway
    principal = current_app.extensions["core"].staff_sessions.check(
        staff["sid"], STAFF_ROLE, idle=timedelta(minutes=gateway.staff_idle_minutes),
        lifetime=timedelta(hours=gateway.staff_session_hours))
    if principal is None:
        session.pop(SESSION_KEY, None)
        return None
    return {"id": principal.token_id, "name": principal.name}


def sign_in(token_id: int, name: str) -> None:
    """Start a staff session (a fresh one: nothing from before survives, and the session
    this browser held is ended on the server, so a copy of its cookie is refused)."""
    sign_out()
    session_id = current_app.extensions["core"].staff_sessions.open(token_id)
    session[SESSION_KEY] = {"sid": session_id, "name": name}


def sign_out() -> None:
    """End the session on the server (its cookie, wherever copied, is refused) and here;
    a staff user's session held by the same cookie (``gateway.accounts``) ends too, as
    the cookie is cleared."""
    for key in (SESSION_KEY, USER_SESSION_KEY):
        held = session.pop(key, None)
        if isinstance(held, dict) and isinstance(held.get("sid"), str):
            current_app.extensions["core"].staff_sessions.end(held["sid"])
    session.clear()


def to_login() -> Response:
    """303 to the staff sign-in page, in the page's language; to a request with a bearer
    token, the JSON error saying what is wrong with it."""
    if bearer_token() is not None:
        principal = _bearer_principal()
        if principal is None:
            response = error_response(401, "unauthorized", "the token is not valid")
            response.headers["WWW-Authenticate"] = 'Bearer realm="gateway"'
            return response
        return error_response(403, "forbidden", "this page needs a staff token")
    return redirect(url_for("simulator.login", lang=page_language()), code=303)


def _bearer_principal() -> Principal | None:
    return current_app.extensions["core"].tokens.verify(bearer_token())
