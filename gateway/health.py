"""``/healthz`` for load balancers (details for the operator) and ``/metrics`` for
Prometheus on the operator's network."""

from __future__ import annotations

import ipaddress

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from prometheus_client.core import GaugeMetricFamily

from core.operations.health import Health
from core.platform import leases
from core.platform.faults import DatabaseError
from core.transactions import overdue
from gateway.auth import bearer_token
from gateway.errors import error_response

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """Liveness for anyone (one cheap query); the components' details for the operator.

    A stranger learns only "ok" or "unavailable": the details name the SMSC's host, the
    machines holding each lease and the outbox's depth, and cost several queries and a
    schema check. They are for the operator's network (``gateway.metrics_networks``, on
    the address the proxies report) or a request with a ``staff`` bearer token.
    """
    core = current_app.extensions["core"]
    if not operator_request():
        try:
            core.health.ping()
        except DatabaseError:
            return jsonify({"status": "unavailable"}), 503
        return jsonify({"status": "ok"})
    return _details(core, current_app.config["SETTINGS"])


def operator_request() -> bool:
    """Whether the request comes from the operator's network or carries a staff token."""
    if from_operators_network():
        return True
    token = bearer_token()
    if token is None:
        return False
    principal = current_app.extensions["core"].tokens.verify(token)
    return principal is not None and principal.role == "staff"


def from_operators_network() -> bool:
    """Whether the client's address (``request.remote_addr``: the proxies' report when
    ``gateway.trusted_proxies`` is set, never a header the client wrote) is in
    ``gateway.metrics_networks``."""
    allowed = current_app.config["SETTINGS"].gateway.metrics_networks
    try:
        client = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(net) for net in allowed)


def _details(core, settings):
    components: dict[str, str] = {}
    try:
        database = core.health.database()
    except DatabaseError:
        return jsonify({"status": "unavailable", "components": {"database": "down"}}), 503
    components["database"] = "ok"
    states, database_now = database.outbox, database.now
    revision, head = core.health.schema_revisions()
    components["schema"] = "ok" if revision == head else "outdated"
    for name in ("sms", "ivr", "email"):
        components[name] = "enabled" if getattr(settings, name).enabled else "disabled"
    body: dict[str, object] = {"status": "ok", "components": components, "outbox": states}
    channel = current_app.extensions.get("sms_channel")
    if channel is not None:
        # Only where the SMS channel runs in this process (``gateway run``).
        body["sms"] = {"bound": channel.session.bound}
    held = core.health.heartbeats()
    # Every SMS channel's heartbeat, wherever it runs (``gateway sms`` on its own machine):
    # live and bound, live and not bound (the SMSC refuses or is down), or silent since.
    # "live" is the lease's own expiry (up to its lifetime, 90 s, after the channel's last
    # renewal, so a channel that died shows live until then); the age of the last renewal
    # tells sooner: a running channel renews every 10 s.
    sms_channels = [
        {"holder": lease.holder, "live": lease.live(), "bound": bool(lease.state.get("bound")),
         "renewed_at": lease.renewed_at.isoformat(),
         "renewed_seconds_ago": _seconds_since(lease.renewed_at, database_now),
         "lifetime_seconds": (lease.expires_at - lease.renewed_at).total_seconds(),
         "smsc": lease.state.get("smsc"),
         "segments_per_second": lease.state.get("segments_per_second", 0.0)}
        for name, lease in sorted(held.items()) if name.startswith(leases.SMS_CHANNEL_PREFIX)]
    if sms_channels:
        body["sms_channels"] = sms_channels
    scan = held.get(overdue.SCAN_LEASE)
    if scan is not None:  # a scheduler has run: which one scans, its last scan's figures
        body["overdue_scan"] = {"holder": scan.holder, "live": scan.live(),
                                "renewed_at": scan.renewed_at.isoformat(), **scan.state}
    if settings.email.enabled:
        body["email"] = email_poller(core.health, settings.email.imap.poll_seconds)
    return jsonify(body)


def _seconds_since(when, now) -> float:
    # Never negative: the writer's clock may be a little ahead of the database's.
    return round(max(0.0, (now - when).total_seconds()), 1)


def email_poller(health: Health, poll_seconds: float) -> dict[str, object]:
    """The mailbox poller's heartbeat, from its lease (whichever machine holds it).

    "stale" when no poll has read the mailbox for three poll intervals: a poller that holds
    the lease and cannot read it (its last good poll is what ``polled_at`` records)."""
    from channels.email.channel import LEASE

    lease = health.heartbeats().get(LEASE)
    if lease is None:
        return {"poller": None, "stale": True}
    polled_at = lease.state.get("polled_at")
    return {"poller": lease.holder, "live": lease.live(),
            "renewed_at": lease.renewed_at.isoformat(), "polled_at": polled_at,
            "stale": _stale(polled_at, poll_seconds)}


def _stale(polled_at: str | None, poll_seconds: float) -> bool:
    from datetime import UTC, datetime, timedelta

    if not polled_at:
        return True
    try:
        when = datetime.fromisoformat(polled_at)
    except ValueError:
        return True
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return datetime.now(UTC) - when > timedelta(seconds=3 * poll_seconds)


@health.get("/metrics")
def metrics():
    if not from_operators_network():
        return error_response(403, "forbidden", "metrics are for the operator's network")
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)


class OutboxCollector:
    """Outbox depth, and the SMS channels' bind state from their heartbeats, read from the
    database at scrape time, so every process agrees (a web process reports the bind of
    a ``gateway sms`` on another machine, not a gauge of its own that is always 0)."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def collect(self):
        gauge = GaugeMetricFamily("gateway_outbox_messages", "Outbox messages by status",
                                  labels=["status"])
        retrying = GaugeMetricFamily(
            "gateway_outbox_retrying_messages",
            "Pending outbox messages already attempted (waiting for a retry)")
        bound = GaugeMetricFamily(
            "gateway_sms_bound",
            "1 while an SMS channel's heartbeat (any machine) says its SMPP bind is up")
        channel_bound = GaugeMetricFamily(
            "gateway_sms_channel_bound", "Each live SMS channel's bind, from its heartbeat",
            labels=["holder"])
        channel_rate = GaugeMetricFamily(
            "gateway_sms_channel_segments_per_second",
            "Each live SMS channel's submit rate over its last heartbeat", labels=["holder"])
        try:
            gauges = self.health.outbox_gauges()
            for status, count in sorted(gauges.depth.items()):
                gauge.add_metric([status], count)
            retrying.add_metric([], gauges.retrying)
            channels = gauges.sms_channels
            for lease in channels:
                channel_bound.add_metric([lease.holder], 1 if lease.state.get("bound") else 0)
                channel_rate.add_metric([lease.holder], float(
                    lease.state.get("segments_per_second") or 0.0))
            bound.add_metric([], 1 if any(lease.state.get("bound") for lease in channels)
                             else 0)
        except DatabaseError:
            pass
        yield gauge
        yield retrying
        yield bound
        yield channel_bound
        yield channel_rate
