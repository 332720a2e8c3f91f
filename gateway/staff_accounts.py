"""The staff user's own pages (sign in, sign out, choose a password, their account) and
``GET /api/v1/me``: who a personal token acts as.

Signing in answers alike whatever is wrong (no such login, a wrong password, a disabled
or locked account: ``core.access.users``); only an address refused for its many failures
is told so, which says nothing about any account. Every form carries its CSRF token;
``next`` leads back to a page of this site only (``gateway.accounts.safe_next``).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError

from core.access.actors import ADMIN
from core.platform.errors import CoreError
from core.platform.i18n import gettext_for
from gateway.accounts import (
    api_user_required,
    current_actor,
    safe_next,
    session_id,
    sign_in,
    sign_out,
    to_login,
    user_session,
)
from gateway.portal import check_csrf, page_language

accounts = Blueprint("accounts", __name__)
accounts_api = Blueprint("accounts_api", __name__, url_prefix="/api/v1")

MAX_LOGIN_CHARS = 64
MAX_PASSWORD_CHARS = 256


def role_names(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {"coordinator": _("Agency coordinator"), "specialist": _("Agency specialist"),
            "agency_leader": _("Agency leader"), "leadership": _("Emirate leadership"),
            "admin": _("Administrator")}


def _messages(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {
        "login_missing": _("Enter your login."),
        "password_missing": _("Enter your password."),
        "refused": _("The login or the password is not right, or this account cannot "
                     "sign in now. After several wrong passwords an account is locked "
                     "for a while; an administrator can reset it."),
        "throttled": _("Too many failed sign-ins came from your network. Wait a quarter "
                       "of an hour and try again."),
        "expired": _("The form expired before it was sent. Please try again."),
        "current_password": _("Enter your current password."),
        "password_wrong": _("The current password is not right."),
        "password_short": _("The new password needs at least 12 characters."),
        "password_long": _("The new password may have at most 256 characters."),
        "password_is_login": _("The new password must not be your login."),
        "password_unchanged": _("The new password must differ from the current one."),
        "confirm": _("The two new passwords are not the same."),
        "locked": _("The account is locked for a while after too many wrong passwords."),
    }


accounts.before_request(check_csrf)


@accounts.errorhandler(CSRFError)
def _csrf_failed(_exc: CSRFError):
    notice = _messages(page_language())["expired"]
    if request.endpoint == "accounts.change_password" and user_session() is not None:
        return _password_page({}, status=400, notice=notice)
    if request.endpoint == "accounts.logout" and user_session() is not None:
        return _page("account_home.html", status=400, notice=notice, **_home_context())
    return _login_page({}, status=400, notice=notice)


# --- signing in and out ---------------------------------------------------------------


@accounts.get("/login")
def login_form():
    signed_in = user_session()
    if signed_in is not None and not signed_in.must_change_password:
        return redirect(_next_url(), code=303)
    return _login_page({})


@accounts.post("/login")
def login():
    lang = page_language()
    messages = _messages(lang)
    login_text = request.form.get("login", "").strip()[:MAX_LOGIN_CHARS]
    password = request.form.get("password", "")[:MAX_PASSWORD_CHARS]
    errors: dict[str, str] = {}
    if not login_text:
        errors["login"] = messages["login_missing"]
    if not password:
        errors["password"] = messages["password_missing"]
    if errors:
        return _login_page(errors, status=422, login=login_text)
    result = current_app.extensions["core"].users.sign_in(
        login_text, password, origin=request.remote_addr)
    if result.throttled:
        response = _login_page({"login": messages["throttled"]}, status=429,
                               login=login_text)
        response.headers["Retry-After"] = str(
            current_app.extensions["core"].config.inquiry.failure_window_seconds)
        return response
    if result.actor is None:
        return _login_page({"login": messages["refused"]}, status=422, login=login_text)
    sign_in(result.actor.user_id)
    current_app.logger.info("staff user %s signed in", result.actor.user_id)
    if result.must_change_password:
        return redirect(_url("accounts.password_form", next=_next_value()), code=303)
    return redirect(_next_url(), code=303)


@accounts.post("/logout")
def logout():
    sign_out()
    return redirect(_url("accounts.login_form"), code=303)


# --- the account and its password ---------------------------------------------------------


@accounts.get("/account")
def home():
    if current_actor() is None:
        return _guard()
    return _page("account_home.html", **_home_context())


@accounts.get("/account/password")
def password_form():
    if user_session() is None:
        return to_login()
    return _password_page({})


@accounts.post("/account/password")
def change_password():
    signed_in = user_session()
    if signed_in is None:
        return to_login()
    messages = _messages(page_language())
    current = request.form.get("current_password", "")[:MAX_PASSWORD_CHARS]
    new = request.form.get("new_password", "")[:MAX_PASSWORD_CHARS + 1]
    confirm = request.form.get("confirm_password", "")[:MAX_PASSWORD_CHARS + 1]
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = messages["current_password"]
    elif new != confirm:
        errors["confirm_password"] = messages["confirm"]
    else:
        try:
            current_app.extensions["core"].users.change_password(
                signed_in.actor.user_id, current, new, keep_session=session_id(),
                origin=request.remote_addr)
        except CoreError as exc:
            field = exc.field if exc.field in ("current_password", "new_password") \
                else "current_password"
            errors[field] = messages.get(exc.code, exc.message)
    if errors:
        return _password_page(errors, status=422)
    return redirect(_next_url(), code=303)


# --- the API: who a token acts as ----------------------------------------------------------


@accounts_api.get("/me")
@api_user_required()
def me():
    """The user a personal token acts as (an agency's system checks its token with it)."""
    actor = g.actor
    users = current_app.extensions["core"].users
    return jsonify({"login": actor.login, "name": actor.name, "role": actor.role,
                    "agency": users.agency_code(actor.agency_id),
                    "department": users.department_code(actor.department_id)})


# --- inside ------------------------------------------------------------------------------


def _guard():
    """Where a visitor without a usable session goes: sign in, or choose a password."""
    signed_in = user_session()
    if signed_in is None:
        return to_login()
    return redirect(_url("accounts.password_form", next=request.path), code=303)


def _home_context() -> dict:
    actor = current_actor()
    assert actor is not None
    users = current_app.extensions["core"].users
    return {"actor": actor, "role_name": role_names(page_language())[actor.role],
            "agency": users.agency_code(actor.agency_id), "is_admin": actor.role == ADMIN}


def _next_value() -> str | None:
    value = request.values.get("next")
    return value if value and safe_next(value) == value else None


def _next_url() -> str:
    """``next`` when it is a page of this site (in the page's language), else home."""
    target = safe_next(request.values.get("next"))
    if "lang=" in target:
        return target
    return target + ("&" if "?" in target else "?") + f"lang={page_language()}"


def _url(endpoint: str, **values) -> str:
    return url_for(endpoint, lang=page_language(), **values)


def _login_page(errors: dict[str, str], status: int = 200, login: str = "",
                notice: str | None = None) -> Response:
    return _page("account_login.html", status=status, errors=errors, login=login,
                 next=_next_value(), notice=notice)


def _password_page(errors: dict[str, str], status: int = 200,
                   notice: str | None = None) -> Response:
    signed_in = user_session()
    forced = signed_in is not None and signed_in.must_change_password
    return _page("account_password.html", status=status, errors=errors, forced=forced,
                 next=_next_value(), notice=notice,
                 actor=signed_in.actor if signed_in else None)


def _page(template: str, status: int = 200, **context) -> Response:
    response = current_app.make_response(render_template(template, **context))
    response.status_code = status
    return response
