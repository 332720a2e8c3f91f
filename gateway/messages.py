"""Message history for staff: the newest outbox messages, what happened to each and why.

The operator's view of the outbox (issue 3, "Visible"): kind, audience, the recipient
masked (never the full number or address), status (a pending message that already failed
once shows as "retrying"), attempts, the last error, and the created/sent/delivered times
in the configured time zone. Filter with ``?status=`` and ``?kind=``. Staff sign in on
the simulator's page (``gateway.staff``), or as a staff user with the ``admin`` role
(``gateway.accounts``: the operator of the gateway; other roles get the 403 page); the
rows come from ``core.messaging.history``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from core.access.actors import ADMIN
from core.messaging.history import LIMIT, MAX_KIND_CHARS, STATUSES
from gateway.accounts import forbidden_page, user_session
from gateway.auth import bearer_token
from gateway.portal import page_language
from gateway.staff import current_staff, to_login

messages = Blueprint("messages", __name__, url_prefix="/staff")


@messages.get("/messages")
def history():
    staff = current_staff()
    home = (url_for("simulator.form", lang=page_language()), "simulator")
    if staff is None:
        admin = _admin()
        if not isinstance(admin, dict):
            return admin
        staff, home = admin, (url_for("admin_users.list_users", lang=page_language()),
                              "accounts")
    core = current_app.extensions["core"]
    status = request.args.get("status", "").strip()
    if status not in STATUSES:
        status = ""
    kind = request.args.get("kind", "").strip()[:MAX_KIND_CHARS]
    rows = core.message_history.recent(status=status or None, kind=kind or None)
    return render_template("messages.html", staff=staff, rows=rows, status=status,
                           kind=kind, statuses=STATUSES, kinds=core.message_history.kinds(),
                           limit=LIMIT, tz=core.config.tz.key, home=home)


def _admin() -> dict | Response:
    """A signed-in staff user with the admin role as the page's ``staff``; else where to
    go: the simulator's sign-in (none signed in, or a bearer token), the password form,
    or the 403 page for another role."""
    signed = user_session() if bearer_token() is None else None
    if signed is None:
        return to_login()
    if signed.must_change_password:
        return redirect(url_for("accounts.password_form", lang=page_language(),
                                next=request.full_path.rstrip("?")), code=303)
    if signed.actor.role != ADMIN:
        return forbidden_page()
    return {"id": None, "name": signed.actor.name}
