"""``/healthz`` for load balancers (details for the operator) and ``/metrics`` for
Prometheus on the operator's network."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from core.dashboards import summary as dashboards_summary
from core.operations.health import Background, ComponentsReport, Health, VoiceJobs
from core.platform import leases
from core.platform.faults import DatabaseError
from core.platform.leases import LeaseView
from core.transactions import overdue
from gateway.auth import bearer_token
from gateway.errors import error_response
from gateway.overdue import OverdueCollector
from gateway.webtier import METRICS_VARIABLE

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
        details = core.health.details(background(settings))
    except DatabaseError:
        return jsonify({"status": "unavailable", "components": {"database": "down"}}), 503
    components["database"] = "ok"
    states, database_now, report = details.outbox, details.now, details.report
    revision, head = core.health.schema_revisions()
    components["schema"] = "ok" if revision == head else "outdated"
    components["ivr"] = "enabled" if settings.ivr.enabled else "disabled"
    for part in report.components:
        components[part.name] = part.status
    # An expected component missing is "degraded", still 200: this answer also reaches the
    # load balancers in the operator's network, and a scheduler or SMS bind missing
    # elsewhere is no reason to take the web nodes, which still serve, out of service.
    # Alert on it instead (/metrics' gateway_component_up, docs/prometheus-rules.yml).
    missing = [part.name for part in report.components if part.status == "missing"]
    body: dict[str, object] = {
        "status": "degraded" if missing else "ok", "components": components,
        "background": {part.name: {"expected": part.expected, "running": part.running,
                                   "heartbeat_age_seconds": part.heartbeat_age_seconds}
                       for part in report.components},
        "outbox": states}
    held = details.leases
    beside = current_app.extensions.get("sms_holder")
    if beside is not None:
        # Only where the SMS channel runs beside this web server (``gateway run``: in the
        # run's background worker), from its heartbeat: bound while a live one says so.
        body["sms"] = {"bound": sms_bound(held, beside())}
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
         # The account's bind slot this channel holds ("1" of "slots"), or standing by.
         "slot": lease.state.get("slot"), "slots": lease.state.get("slots"),
         "standby": bool(lease.state.get("standby")),
         "in_flight": lease.state.get("in_flight", 0),
         "segments_per_second": lease.state.get("segments_per_second", 0.0)}
        for name, lease in sorted(held.items()) if name.startswith(leases.SMS_CHANNEL_PREFIX)]
    if sms_channels:
        body["sms_channels"] = sms_channels
    scan = held.get(overdue.SCAN_LEASE)
    if scan is not None:  # a scheduler has run: which one scans, its last scan's figures
        body["overdue_scan"] = {"holder": scan.holder, "live": scan.live(),
                                "renewed_at": scan.renewed_at.isoformat(), **scan.state}
    if settings.email.enabled:
        email = email_poller(held, settings.email.imap.poll_seconds)
        # Every e-mail sender's heartbeat, wherever it runs: one that died shows live until
        # its lifetime (2 minutes) has passed; the age of its renewal tells sooner (10 s).
        email["senders"] = [
            {"holder": lease.holder, "live": lease.live(),
             "renewed_seconds_ago": _seconds_since(lease.renewed_at, database_now)}
            for name, lease in sorted(held.items())
            if name.startswith(leases.EMAIL_SENDER_PREFIX)]
        body["email"] = email
    if core.config.voice.enabled:
        voice = voice_jobs(details.voice)
        voice["dashboards"] = dashboards_job(held.get(dashboards_summary.LEASE),
                                             database_now,
                                             settings.scheduler.dashboards_seconds)
        body["voice"] = voice
    replica = core.health.replica()
    if replica is not None:  # database.read_url: whether this process reads from it
        body["replica"] = {"used": replica.used, "lag_seconds": replica.lag_seconds,
                           "verdict": replica.verdict}
    return jsonify(body)


def sms_bound(held: Mapping[str, LeaseView], holders: str | None) -> bool:
    """Whether one of ``holders``' SMS heartbeats (one holder a line: a process's binds)
    is live (as ``sms_channels`` tells it) and says its bind is up."""
    from channels.sms.heartbeat import heartbeat_name

    for holder in (holders or "").splitlines():
        lease = held.get(heartbeat_name(holder))
        if lease is not None and lease.live() and bool(lease.state.get("bound")):
            return True
    return False


def _seconds_since(when, now) -> float:
    # Never negative: the writer's clock may be a little ahead of the database's.
    return round(max(0.0, (now - when).total_seconds()), 1)


def email_poller(held: Mapping[str, LeaseView], poll_seconds: float) -> dict[str, object]:
    """The mailbox poller's heartbeat, from its lease (whichever machine holds it).

    "stale" when no poll has read the mailbox for three poll intervals: a poller that holds
    the lease and cannot read it (its last good poll is what ``polled_at`` records)."""
    from channels.email.channel import LEASE

    lease = held.get(LEASE)
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


def voice_jobs(jobs: VoiceJobs) -> dict[str, object]:
    """Citizen's Voice's scheduled work: the alarm scan, the closing of answered cases and
    the fetch of the phone line's voice messages (which scheduler runs each, whether its
    lease is live, its last run's figures; None before any scheduler ran it), and the
    retiming of open cases after a calendar change
    (the holder while one runs; the calendar version still waiting for it, if any).
    "live" is on the database's clock, as every machine reads it."""

    def lease(view) -> dict[str, object] | None:
        if view is None:
            return None
        return {"holder": view.holder, "live": view.expires_at > jobs.now,
                "renewed_at": view.renewed_at.isoformat(),
                "renewed_seconds_ago": _seconds_since(view.renewed_at, jobs.now),
                **view.state}

    running = jobs.recompute is not None and jobs.recompute.expires_at > jobs.now
    return {"alarm_scan": lease(jobs.alarm_scan), "closing": lease(jobs.closing),
            "recordings": lease(jobs.recordings),
            "deadline_recompute": {
                "running": running,
                "holder": jobs.recompute.holder if running and jobs.recompute else None,
                "waiting_version": jobs.recompute_waiting}}


def dashboards_job(lease: LeaseView | None, now, interval_seconds: float,
                   ) -> dict[str, object] | None:
    """The refresh of the dashboards' summary, from its lease (whichever scheduler ran
    it last; None before any did, or after a clean stop): its holder, its last run's
    figures, and the age of the figures the pages show (``as_of``, on the database's
    clock); "stale" past three intervals (``scheduler.dashboards_seconds``)."""
    if lease is None:
        return None
    age = _age(lease.state.get("as_of"), now)
    return {"holder": lease.holder, "live": lease.expires_at > now,
            "renewed_at": lease.renewed_at.isoformat(),
            "renewed_seconds_ago": _seconds_since(lease.renewed_at, now), **lease.state,
            "as_of_seconds_ago": age,
            "stale": age is None or age > 3 * interval_seconds}


def background(settings) -> list[Background]:
    """The background components and whether this installation's configuration expects
    each (a web machine reads the same configuration as the others): the scheduler
    always (without it no overdue SMS goes out), SMS and e-mail when enabled."""
    from channels.email.channel import LEASE

    return [Background("scheduler", overdue.SCAN_LEASE, expected=True),
            Background("sms", leases.SMS_CHANNEL_PREFIX, expected=settings.sms.enabled,
                       prefix=True),
            Background("email", LEASE, expected=settings.email.enabled)]


@health.get("/metrics")
def metrics():
    if not from_operators_network():
        return error_response(403, "forbidden", "metrics are for the operator's network")
    core, settings = current_app.extensions["core"], current_app.config["SETTINGS"]
    # The gauges read from the database at scrape time (every process and machine agrees
    # on them; the components' depend on this installation's settings): collected per
    # scrape in a registry of their own, after the counters.
    database = CollectorRegistry(auto_describe=False)
    for collector in (OutboxCollector(core.health), OverdueCollector(core.overdue_report),
                      ComponentCollector(core.health, settings)):
        database.register(collector)
    # content_type, not mimetype: Flask would append a second "; charset=utf-8".
    return Response(generate_latest(counters()) + generate_latest(database),
                    content_type=CONTENT_TYPE_LATEST)


def counters() -> CollectorRegistry:
    """The counters and histograms the processes keep: under the web tier
    (``gateway.webtier``) summed over every worker of the run from the multiprocess
    files (the counts of workers since replaced included; no per-process gauges, such
    as ``process_*``, whose one worker's value would mislead); else this process's."""
    path = os.environ.get(METRICS_VARIABLE)
    if not path:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path)
    return registry


class ComponentCollector:
    """Each background component expected, up and its heartbeat's age; the outbox's oldest
    due message; the overdue scan's last run: what the alert rules of
    docs/prometheus-rules.yml read. Nothing is yielded when the database does not answer
    (the scrape then lacks them: ``absent()`` or the target's ``up`` tell)."""

    def __init__(self, health: Health, settings) -> None:
        self.health = health
        self.settings = settings

    def collect(self):
        try:
            report = self.health.components(background(self.settings))
        except DatabaseError:
            return
        yield from component_families(report, self.settings.scheduler.overdue_scan_seconds)


def component_families(report: ComponentsReport, scan_seconds: float):
    labels = ["component"]
    expected = GaugeMetricFamily(
        "gateway_component_expected",
        "1 when the configuration expects this background component to run", labels=labels)
    up = GaugeMetricFamily(
        "gateway_component_up",
        "1 while a live heartbeat (lease) of this background component exists", labels=labels)
    age = GaugeMetricFamily(
        "gateway_component_heartbeat_age_seconds",
        "Seconds since this component's last heartbeat, on the database's clock (no sample "
        "when none is left: never run, or stopped cleanly)", labels=labels)
    for part in report.components:
        expected.add_metric([part.name], 1 if part.expected else 0)
        up.add_metric([part.name], 1 if part.running else 0)
        if part.heartbeat_age_seconds is not None:
            age.add_metric([part.name], part.heartbeat_age_seconds)
    oldest = GaugeMetricFamily(
        "gateway_outbox_oldest_due_seconds",
        "Seconds the oldest pending message has been due (held or retrying ones are not)",
        labels=["channel"])
    for channel in ("sms", "email"):
        oldest.add_metric([channel], report.oldest_due_seconds.get(channel, 0.0))
    interval = GaugeMetricFamily("gateway_overdue_scan_interval_seconds",
                                 "The configured overdue scan interval")
    interval.add_metric([], scan_seconds)
    yield from (expected, up, age, oldest, interval)
    scheduler = next((p for p in report.components if p.name == "scheduler"), None)
    last = _last_scan_age(scheduler.state if scheduler else {}, report.now)
    scan = GaugeMetricFamily("gateway_overdue_last_scan_age_seconds",
                             "Seconds since the last overdue scan started (no sample when "
                             "no scan is recorded)")
    if last is not None:
        scan.add_metric([], last)
    yield scan


def _last_scan_age(state: dict[str, object], now) -> float | None:
    return _age(state.get("last_scan_at"), now)


def _age(value: object, now) -> float | None:
    """Seconds since ``value`` (an ISO moment a job recorded) on ``now``'s clock."""
    from datetime import datetime

    if not isinstance(value, str):
        return None
    try:
        return _seconds_since(datetime.fromisoformat(value), now)
    except (TypeError, ValueError):  # unparseable, or naive against aware
        return None


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
        channel_slot = GaugeMetricFamily(
            "gateway_sms_channel_slot",
            "The account's bind slot each live SMS channel holds (1..sms.smpp.binds; 0 "
            "while it stands by)", labels=["holder"])
        binds_held = GaugeMetricFamily(
            "gateway_sms_binds_held",
            "The account's bind slots held by live SMS channels (at most sms.smpp.binds)")
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
                channel_slot.add_metric([lease.holder], float(lease.state.get("slot") or 0))
            binds_held.add_metric([], sum(1 for lease in channels if lease.state.get("slot")))
            bound.add_metric([], 1 if any(lease.state.get("bound") for lease in channels)
                             else 0)
        except DatabaseError:
            pass
        yield gauge
        yield retrying
        yield bound
        yield channel_bound
        yield channel_rate
        yield channel_slot
        yield binds_held
