"""Staff users on the web: who is acting, and the guards every staff page and API route
puts in front of itself.

- Pages: ``user_required(*roles)``. The browser's cookie carries only a random session
  id; the session lives in the database (``core.access.sessions``) and is checked on each
  request, so signing out, ``gateway.staff_idle_minutes`` without a request,
  ``gateway.staff_session_hours`` after sign-in, disabling the account, an admin's reset
  or a password change elsewhere end it for good. A visitor not signed in goes to
  ``/login?next=…`` in the page's language; one who must choose a new password goes to
  ``/account/password`` first; a role the page does not admit gets a 403 page.
- JSON routes: ``api_user_required(*roles, services=(...))``. A personal token
  (``gateway users token``) acts as its user (``g.actor``), checked against the account
  on each request; a route may also admit service tokens (``kiosk``, ``staff``,
  ``records``: ``g.principal``, ``g.actor`` None). Errors are ``{"error": {"code",
  "message"}}``: 401 without a valid token, 403 when its role may not.

What a role may do to which agency's case is decided by the core, on ``g.actor``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode, urlsplit

from flask import (
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from core.access.actors import USER_ROLES, Actor
from core.access.sessions import UserSession
from core.access.tokens import USER_ROLE
from gateway.auth import bearer_token
from gateway.errors import error_response
from gateway.portal import page_language
from gateway.staff import USER_SESSION_KEY
from gateway.staff import sign_out as end_staff_sessions

SESSION_KEY = USER_SESSION_KEY
MAX_NEXT = 500
# Where a signed-in user lands when no page asked for the sign-in: Citizen's Voice, which
# sends each role on to its own home (an admin to the staff accounts).
HOME = "/voice/"


# --- who is acting --------------------------------------------------------------------


def current_actor() -> Actor | None:
    """The staff user acting on this request: the personal token's user on a JSON route
    guarded by ``api_user_required``, else the signed-in user of the browser's session
    (None while they still have to choose a new password)."""
    actor = g.get("actor")
    if actor is not None:
        return actor
    signed_in = user_session()
    if signed_in is None or signed_in.must_change_password:
        return None
    return signed_in.actor


def user_session() -> UserSession | None:
    """The browser's open staff-user session, checked once per request."""
    if "user_session" not in g:
        g.user_session = _check_session()
    return g.user_session


def _check_session() -> UserSession | None:
    held = session.get(SESSION_KEY)
    if not isinstance(held, dict) or not isinstance(held.get("sid"), str) \
            or len(held["sid"]) > 100:
        return None
    gateway = current_app.config["SETTINGS"].gateway
    found = current_app.extensions["core"].staff_sessions.check_user(
        held["sid"], idle=timedelta(minutes=gateway.staff_idle_minutes),
        lifetime=timedelta(hours=gateway.staff_session_hours))
    if found is None:
        session.pop(SESSION_KEY, None)
    return found


def session_id() -> str | None:
    """The clear id of the browser's staff-user session (to keep it on a password
    change), or None."""
    held = session.get(SESSION_KEY)
    return held.get("sid") if isinstance(held, dict) else None


def sign_in(user_id: int) -> None:
    """Start a fresh session: whatever this browser held before is ended on the server
    (a copy of its old cookie is refused) and forgotten here."""
    sign_out()
    sid = current_app.extensions["core"].staff_sessions.open_for_user(user_id)
    session[SESSION_KEY] = {"sid": sid}
    g.pop("user_session", None)


def sign_out() -> None:
    """End the session on the server (its cookie, wherever copied, is refused) and here,
    with the phone simulator's session the same cookie may hold."""
    end_staff_sessions()
    g.pop("user_session", None)


# --- pages ------------------------------------------------------------------------------


def user_required(*roles: str) -> Callable:
    """Guard a staff page: signed in (else to the sign-in page, then back here), the
    password chosen, and one of ``roles`` (none given: any staff user)."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            signed_in = user_session()
            if signed_in is None:
                return to_login()
            if signed_in.must_change_password:
                return redirect(url_for("accounts.password_form", lang=page_language(),
                                        next=_here()), code=303)
            if roles and signed_in.actor.role not in roles:
                return forbidden_page()
            g.actor = signed_in.actor
            return view(*args, **kwargs)
        return wrapper
    return decorate


def to_login() -> BaseResponse:
    """303 to the sign-in page in the page's language, coming back here after it."""
    return redirect(url_for("accounts.login_form", lang=page_language(), next=_here()),
                    code=303)


def forbidden_page() -> Response:
    """The 403 page in the page's language: signed in, but not in a role this page
    admits."""
    response = current_app.make_response(render_template("account_forbidden.html"))
    response.status_code = 403
    return response


def _here() -> str:
    """This request's path and query (without the language: the sign-in keeps its own)."""
    query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "lang"])
    path = request.path + (f"?{query}" if query else "")
    return path if request.method == "GET" else request.path


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site's address
    (``//evil``, ``/\\evil``, ``https://evil``, ``javascript:``) nor a control character;
    anything else is the home page."""
    if not value or len(value) > MAX_NEXT or not value.startswith("/") \
            or value.startswith(("//", "/\\")):
        return HOME
    if any(ord(char) < 0x20 or char in "\\\x7f" for char in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    return value


# --- JSON routes ------------------------------------------------------------------------


def api_user_required(*roles: str, services: tuple[str, ...] = ()) -> Callable:
    """Guard a JSON route: a personal token of a user with one of ``roles`` (none given:
    any user) sets ``g.actor``; a service token with a role in ``services`` sets
    ``g.principal`` (and ``g.actor`` None)."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            token = bearer_token()
            if not token:
                return _unauthorized("a bearer token is required")
            core = current_app.extensions["core"]
            principal = core.tokens.verify(token)
            if principal is None:
                return _unauthorized("the token is not valid")
            if principal.role == USER_ROLE:
                actor = core.users.actor_for_token(principal)
                if actor is None:
                    return _unauthorized("the token is not valid")
                if roles and actor.role not in roles:
                    return error_response(403, "forbidden", "this route needs a user with "
                                          f"the role {' or '.join(roles)}")
                g.actor, g.principal = actor, None
            elif principal.role in services:
                g.actor, g.principal = None, principal
            else:
                wanted = [f"a {role} user's" for role in roles] or ["a user's"]
                wanted += [f"a {service}" for service in services]
                return error_response(403, "forbidden",
                                      f"this route needs {' or '.join(wanted)} token")
            return view(*args, **kwargs)
        # What the route accepts, for the OpenAPI description's ``x-roles`` to be checked
        # against (tests/gateway/test_openapi.py).
        accepted = frozenset(roles or USER_ROLES) | frozenset(services)
        wrapper.accepted_roles = accepted  # type: ignore[attr-defined]
        return wrapper
    return decorate


def _unauthorized(message: str) -> Response:
    response = error_response(401, "unauthorized", message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="gateway"'
    return response
