"""``/admin/users``: the admin's page of staff accounts (``gateway users`` on the web).

Lists every account with its role, agency and state; creates one (its initial password
shown once, on the answer to the form); resets a password (shown once); disables an
account (its sessions and tokens stop at once); creates a personal API token (shown
once). Only an ``admin`` user reaches it; every form carries its CSRF token; nothing
secret is kept for later: a refreshed page shows it no more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError

from core.access.actors import ADMIN
from core.access.users import UserRecord
from core.platform.errors import CoreError
from core.platform.i18n import gettext_for
from gateway.accounts import user_required
from gateway.portal import check_csrf, page_language
from gateway.staff_accounts import role_names

admin_users = Blueprint("admin_users", __name__, url_prefix="/admin/users")

FIELDS = ("login", "name", "role", "agency", "department", "mobile", "email")
MAX_FIELD_CHARS = 254


@dataclass(frozen=True)
class Secret:
    """A password or token on the one page that shows it."""

    title: str
    text: str
    value: str


admin_users.before_request(check_csrf)


@admin_users.errorhandler(CSRFError)
@user_required(ADMIN)
def _csrf_failed(_exc: CSRFError):
    return _page(status=400, notice=_messages(page_language())["expired"])


def _messages(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {
        "expired": _("The form expired before it was sent. Please try again."),
        "invalid_login": _("The login has 3 to 64 characters: a letter, then letters, "
                           "digits, '.', '_' or '-'."),
        "login_taken": _("An account has this login already."),
        "invalid_role": _("Choose a role."),
        "agency_required": _("Coordinators, specialists and agency leaders belong to an "
                             "agency: enter its code."),
        "agency_not_allowed": _("Leadership and administrators belong to no agency: leave "
                                "the agency empty."),
        "unknown_agency": _("No agency has this code."),
        "department_not_allowed": _("Only the emirate's coordinators, specialists and "
                                    "agency leaders belong to one of its departments: "
                                    "enter the emirate's agency code, or leave the "
                                    "department empty."),
        "unknown_department": _("No department has this code."),
        "invalid_name": _("The name may have at most 200 characters."),
        "mobile_invalid": _("Enter a valid mobile number, for example 0551234567."),
        "mobile_not_mobile": _("This number is not a mobile number."),
        "invalid_email": _("Enter a valid e-mail address."),
        "unknown_user": _("No account has this login."),
        "own_account": _("You cannot disable your own account."),
        "user_disabled": _("This account is disabled."),
    }


@admin_users.get("")
@user_required(ADMIN)
def list_users():
    return _page()


@admin_users.post("")
@user_required(ADMIN)
def create():
    values = {name: request.form.get(name, "").strip()[:MAX_FIELD_CHARS] for name in FIELDS}
    _ = gettext_for(page_language())
    try:
        created = _users().create(values["role"], values["login"], name=values["name"],
                                  agency=values["agency"] or None,
                                  department=values["department"] or None,
                                  mobile=values["mobile"] or None,
                                  email=values["email"] or None, by=g.actor)
    except CoreError as exc:
        return _page(status=422, values=values, errors=_field_error(exc))
    return _page(secret=Secret(
        _("Account created"),
        _("The initial password of %(login)s; they choose their own at the first "
          "sign-in.") % {"login": created.user.login}, created.password))


@admin_users.post("/<login>/reset")
@user_required(ADMIN)
def reset_password(login: str):
    _ = gettext_for(page_language())
    return _show_once(
        lambda: _users().reset_password(login, by=g.actor),
        _("Password reset"),
        _("The new password of %(login)s; they choose their own at the next sign-in. "
          "Their sessions have ended.") % {"login": login})


@admin_users.post("/<login>/token")
@user_required(ADMIN)
def create_token(login: str):
    _ = gettext_for(page_language())
    return _show_once(
        lambda: _users().create_token(login, by=g.actor),
        _("API token created"),
        _("A personal API token acting as %(login)s, for an agency's own systems: "
          "Authorization: Bearer followed by the token.") % {"login": login})


@admin_users.post("/<login>/disable")
@user_required(ADMIN)
def disable(login: str):
    _ = gettext_for(page_language())
    try:
        _users().disable(login, by=g.actor)
    except CoreError as exc:
        return _refused(exc)
    return _page(notice=_("%(login)s is disabled: their sessions and tokens have "
                          "stopped.") % {"login": login})


def _users():
    return current_app.extensions["core"].users


def _show_once(make: Callable[[], str], title: str, text: str) -> Response:
    """The page showing the secret ``make`` returns, or why the core refused to make it."""
    try:
        value = make()
    except CoreError as exc:
        return _refused(exc)
    return _page(secret=Secret(title, text, value))


def _refused(exc: CoreError) -> Response:
    return _page(status=_status(exc), notice=_message(exc))


def _status(exc: CoreError) -> int:
    return 404 if exc.code == "unknown_user" else 409 if exc.code == "user_disabled" else 422


def _message(exc: CoreError) -> str:
    return _messages(page_language()).get(exc.code, exc.message)


def _field_error(exc: CoreError) -> dict[str, str]:
    field = exc.field if exc.field in FIELDS else "login"
    return {field: _message(exc)}


def _states(records: list[UserRecord]) -> dict[str, str]:
    _ = gettext_for(page_language())
    now = _users().now()
    states = {}
    for record in records:
        if record.disabled_at is not None:
            states[record.login] = _("Disabled")
        elif record.locked(now):
            states[record.login] = _("Locked")
        elif record.must_change_password:
            states[record.login] = _("Must choose a password")
        else:
            states[record.login] = _("Active")
    return states


def _page(status: int = 200, **context) -> Response:
    records = _users().list_users(by=g.actor)
    context.setdefault("values", {})
    context.setdefault("errors", {})
    response = current_app.make_response(render_template(
        "admin_users.html", actor=g.actor, users=records, states=_states(records),
        role_names=role_names(page_language()), **context))
    response.status_code = status
    return response
