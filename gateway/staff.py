"""Staff sign-in shared by the staff pages (phone simulator, message history).

Staff sign in once on ``/simulator/login`` with a ``staff`` API token; the session keeps
the token's id and name, never the token, and every request checks that the token is
still active, so a revoked token ends the session at the next request.
"""

from __future__ import annotations

from flask import Response, current_app, redirect, session, url_for

from core.tokens import is_active
from gateway.portal import page_language

STAFF_ROLE = "staff"
SESSION_KEY = "simulator_staff"


def current_staff() -> dict | None:
    """The signed-in staff member (token id and name), while their token is active."""
    staff = session.get(SESSION_KEY)
    if not isinstance(staff, dict) or not isinstance(staff.get("id"), int):
        return None
    if not is_active(current_app.extensions["core"].db.read, staff["id"], STAFF_ROLE):
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
    """303 to the staff sign-in page, in the page's language."""
    return redirect(url_for("simulator.login", lang=page_language()), code=303)
