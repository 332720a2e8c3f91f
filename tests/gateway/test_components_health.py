"""A background component that stops shows as missing, on /healthz and on /metrics: the
scheduler run as ``gateway scheduler`` and stopped as systemd stops it, or killed; and
the alert rules of docs/prometheus-rules.yml read only metrics /metrics exports."""

from __future__ import annotations

import re
import signal
import time
from datetime import timedelta
from pathlib import Path

import yaml

from core.operations.health import Background, component_state
from core.platform import leases
from core.platform.db import utcnow
from tests import processes
from tests.gateway.test_health import app_with, scheduler_running, scrape

RULES = Path(__file__).resolve().parents[2] / "docs" / "prometheus-rules.yml"


def up(samples, component: str) -> float | None:
    return samples.get(("gateway_component_up", frozenset({("component", component)})))


def wait_for(condition, process, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.1)


def test_a_scheduler_shows_running_then_missing_once_sigtermed(database_url, tmp_path,
                                                                client):
    healthz = lambda: client.get("/healthz").get_json()  # noqa: E731
    assert healthz()["components"]["scheduler"] == "missing"
    assert up(scrape(client), "scheduler") == 0

    process = processes.start("scheduler", processes.environment(database_url, tmp_path))
    try:
        wait_for(lambda: healthz()["components"]["scheduler"] == "running", process)
        # The scheduler's jobs run once at start, the overdue scan among several (the
        # voice jobs too): its figure appears when it has finished, not with the heartbeat.
        wait_for(lambda: ("gateway_overdue_last_scan_age_seconds", frozenset())
                 in scrape(client), process)
        body, samples = healthz(), scrape(client)
    finally:
        output = processes.stop(process)
    assert process.returncode == 0, output
    assert body["status"] == "ok"
    assert body["background"]["scheduler"]["heartbeat_age_seconds"] < 20
    assert up(samples, "scheduler") == 1
    assert samples[("gateway_component_expected",
                    frozenset({("component", "scheduler")}))] == 1
    assert samples[("gateway_component_heartbeat_age_seconds",
                    frozenset({("component", "scheduler")}))] < 20
    assert ("gateway_overdue_last_scan_age_seconds", frozenset()) in samples

    # A clean stop gives the lease up: missing at once, without waiting for its expiry.
    after = healthz()
    assert (after["status"], after["components"]["scheduler"]) == ("degraded", "missing")
    assert up(scrape(client), "scheduler") == 0


def test_a_killed_scheduler_shows_missing_once_its_lease_runs_out(database_url, tmp_path,
                                                                  core, client):
    process = processes.start("scheduler", processes.environment(database_url, tmp_path))
    try:
        wait_for(lambda: "overdue-scan" in leases.current(core.db), process)
    finally:
        processes.stop(process, signal.SIGKILL)
    # Dead, but its lease was renewed within its lifetime (60 s): running until it ends,
    # the heartbeat's age growing meanwhile; past it, missing (a controlled clock).
    assert client.get("/healthz").get_json()["components"]["scheduler"] == "running"
    lease = leases.current(core.db)["overdue-scan"]
    scheduler = Background("scheduler", "overdue-scan", expected=True)
    lifetime = lease.expires_at - lease.renewed_at
    just_before = component_state(scheduler, [lease], lease.renewed_at + lifetime
                                  - timedelta(seconds=1))
    after = component_state(scheduler, [lease], lease.renewed_at + lifetime)
    assert (just_before.status, after.status) == ("running", "missing")
    assert after.heartbeat_age_seconds == lifetime.total_seconds()


def test_an_expected_channel_with_no_heartbeat_is_missing_and_an_unexpected_one_disabled(
        core, database_url, tmp_path):
    scheduler_running(core)
    holder = "sms@gw-2:7:abc"
    leases.acquire(core.db, f"sms:{holder}", holder, timedelta(seconds=90),
                   now=utcnow() - timedelta(seconds=100), state={"bound": True})
    client = app_with(core, database_url, tmp_path, sms={"enabled": True})

    body, samples = client.get("/healthz").get_json(), scrape(client)

    assert body["status"] == "degraded"
    assert (body["components"]["sms"], body["components"]["email"]) == ("missing",
                                                                       "disabled")
    assert 99 <= body["background"]["sms"]["heartbeat_age_seconds"] <= 110
    assert (up(samples, "sms"), up(samples, "email")) == (0, 0)
    assert samples[("gateway_component_expected", frozenset({("component", "email")}))] == 0


def test_the_oldest_due_message_counts_from_when_it_became_due(core, client):
    from core.messaging import outbox
    from tests import factories as f

    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered("4471234", "2025-11-23T09:15:00+03:00"))
    assert value_of(scrape(client), "sms") < 30
    (claimed,) = outbox.claim_due(core.db, limit=1)
    # Waiting for its retry in an hour: not late, whatever its age.
    outbox.mark_retry(core.db, claimed.id, "ESME_RTHROTTLED", utcnow() + timedelta(hours=1))
    assert value_of(scrape(client), "sms") == 0


def families(client) -> set[str]:
    """Every metric family /metrics describes, with samples or not (yet)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = client.get("/metrics").get_data(as_text=True)
    return {family.name for family in text_string_to_metric_families(text)}


def value_of(samples, channel: str) -> float:
    return samples[("gateway_outbox_oldest_due_seconds", frozenset({("channel", channel)}))]


# --- /metrics' Content-Type ----------------------------------------------------------------


def test_metrics_say_their_charset_once(client):
    from prometheus_client import CONTENT_TYPE_LATEST

    response = client.get("/metrics")

    # The exposition format's version is prometheus_client's (0.0.4, or 1.0.0 since 0.22).
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert re.fullmatch(r"text/plain; version=\d+\.\d+\.\d+; charset=utf-8",
                        response.headers["Content-Type"])


# --- docs/prometheus-rules.yml -------------------------------------------------------------


def test_every_alert_rule_reads_metrics_the_gateway_exports(core, database_url, tmp_path):
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    scheduler_running(core)
    client = app_with(core, database_url, tmp_path, sms={"enabled": True},
                      email={"enabled": True})
    exported = families(client) | {"up"}

    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    names = {rule["alert"] for rule in alerts}
    assert {"GatewaySchedulerMissing", "GatewaySmsBindDown", "GatewayEmailPollerMissing",
            "GatewayOutboxBacklog", "GatewayOutboxOldestDue",
            "GatewayOverdueScanNotRun"} <= names
    for rule in alerts:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["annotations"]["summary"], rule
        used = set(re.findall(r"\b(gateway_[a-z_]+|up)\b", rule["expr"]))
        assert used and used <= exported, (rule["alert"], used - exported)
    scheduler = next(rule for rule in alerts if rule["alert"] == "GatewaySchedulerMissing")
    assert scheduler["for"] == "2m"
