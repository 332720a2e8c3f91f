"""``/healthz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core import migrate, outbox
from gateway.errors import error_response

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    core = current_app.extensions["core"]
    components: dict[str, str] = {}
    try:
        with core.db.read() as session:
            session.execute(text("SELECT 1"))
            components["database"] = "ok"
            depth = outbox.depth(session)
    except SQLAlchemyError:
        return jsonify({"status": "unavailable", "components": {"database": "down"}}), 503
    revision = migrate.current_revision(core.db.engine)
    components["schema"] = "ok" if revision == migrate.head_revision() else "outdated"
    settings = current_app.config["SETTINGS"]
    for name in ("sms", "ivr", "email"):
        components[name] = "enabled" if getattr(settings, name).enabled else "disabled"
    return jsonify({"status": "ok", "components": components,
                    "outbox": {"pending": depth.get("pending", 0)}})


@health.get("/metrics")
def metrics():
    allowed = current_app.config["SETTINGS"].gateway.metrics_networks
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        client = None
    if client is None or not any(client in ipaddress.ip_network(net) for net in allowed):
        return error_response(403, "forbidden", "metrics are for the operator's network")
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)


class OutboxCollector:
    """Outbox depth read from the database at scrape time, so every process agrees."""

    def __init__(self, sessions) -> None:
        self._sessions = sessions

    def collect(self):
        gauge = GaugeMetricFamily("gateway_outbox_messages", "Outbox messages by status",
                                  labels=["status"])
        try:
            with self._sessions() as session:
                for status, count in sorted(outbox.depth(session).items()):
                    gauge.add_metric([status], count)
        except SQLAlchemyError:
            pass
        yield gauge
