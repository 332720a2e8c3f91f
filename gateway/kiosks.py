"""Kiosk terminals: their heartbeat route and the staff page listing them.

``POST /api/v1/kiosks/heartbeat`` (kiosk token) keeps each kiosk's latest report;
``/staff/kiosks`` (staff sign-in, as on the message history) shows every kiosk, whether
it is alive or silent (said in words, not only in colour) and when it was last seen.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, jsonify, render_template

from core.kiosks.heartbeats import SILENT_AFTER
from core.messaging.history import local_time
from gateway.auth import require_role
from gateway.json_requests import json_object
from gateway.staff import current_staff, to_login

log = logging.getLogger("gateway.kiosks")

kiosk_api = Blueprint("kiosk_api", __name__, url_prefix="/api/v1/kiosks")
kiosk_pages = Blueprint("kiosks", __name__, url_prefix="/staff")


@kiosk_api.post("/heartbeat")
@require_role("kiosk")
def heartbeat():
    view = current_app.extensions["core"].kiosks.record(g.principal.name, json_object())
    if view.pin_failures:
        log.warning("kiosk %s reports %d wrong technician PINs since it started",
                    view.kiosk_id, view.pin_failures)
    return jsonify({"kiosk_id": view.kiosk_id, "last_seen_at": view.last_seen_at.isoformat()})


@kiosk_pages.get("/kiosks")
def listing():
    staff = current_staff()
    if staff is None:
        return to_login()
    core = current_app.extensions["core"]
    tz = core.config.tz
    rows = [{"view": view, "last_seen": local_time(view.last_seen_at, tz),
             "last_inquiry": local_time(view.last_inquiry_at, tz)}
            for view in core.kiosks.all()]
    silent_minutes = int(SILENT_AFTER.total_seconds() // 60)
    return render_template("kiosks.html", staff=staff, rows=rows, tz=tz.key,
                           silent_minutes=silent_minutes)
