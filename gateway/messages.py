"""Message history for staff: the newest outbox messages, what happened to each and why.

The operator's view of the outbox (issue 3, "Visible"): kind, audience, the recipient
masked (never the full number or address), status (a pending message that already failed
once shows as "retrying"), attempts, the last error, and the created/sent/delivered times
in the configured time zone. Filter with ``?status=`` and ``?kind=``. Staff sign in on
the simulator's page (``gateway.staff``); the rows come from ``core.messaging.history``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from core.messaging.history import LIMIT, MAX_KIND_CHARS, STATUSES
from gateway.staff import current_staff, to_login

messages = Blueprint("messages", __name__, url_prefix="/staff")


@messages.get("/messages")
def history():
    staff = current_staff()
    if staff is None:
        return to_login()
    core = current_app.extensions["core"]
    status = request.args.get("status", "").strip()
    if status not in STATUSES:
        status = ""
    kind = request.args.get("kind", "").strip()[:MAX_KIND_CHARS]
    rows = core.message_history.recent(status=status or None, kind=kind or None)
    return render_template("messages.html", staff=staff, rows=rows, status=status,
                           kind=kind, statuses=STATUSES, kinds=core.message_history.kinds(),
                           limit=LIMIT, tz=core.config.tz.key)
