"""/healthz for load balancers, /metrics for Prometheus on the operator's network."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from core.settings import load_settings
from gateway.app import create_app
from tests import factories as f
from tests.conftest import NATIONAL_ID_KEY

NUMBER = "4471234"


def scrape(client) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics, parsed as Prometheus text (which also checks the format)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def reference(core):
    core.upsert_department("RIGHTS", f.department())
    return core


def app_with(core, database_url, tmp_path, **overrides):
    # make_settings sets gateway.secret_key itself: merge any gateway override into it.
    gateway = {"secret_key": "test-secret", **overrides.pop("gateway", {})}
    settings = load_settings(None, database={"url": database_url}, var_dir=str(tmp_path),
                             security={"national_id_key": NATIONAL_ID_KEY}, gateway=gateway,
                             **overrides)
    app = create_app(settings, core)
    app.config.update(TESTING=True)
    return app.test_client()


# --- /healthz ----------------------------------------------------------------------------


def test_healthz_reports_each_component(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "components": {"database": "ok", "schema": "ok", "sms": "disabled",
                       "ivr": "disabled", "email": "disabled"},
        "outbox": {"pending": 0},
    }


def test_healthz_counts_the_messages_waiting_in_the_outbox(reference, client):
    reference.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    reference.record_event(f.registered("5550001", "2025-11-23T09:20:00+03:00",
                                        mobile=None))

    assert client.get("/healthz").get_json()["outbox"] == {"pending": 1}


def test_healthz_shows_the_channels_configured(core, database_url, tmp_path):
    client = app_with(core, database_url, tmp_path, sms={"enabled": True},
                      email={"enabled": True})

    components = client.get("/healthz").get_json()["components"]

    assert (components["sms"], components["ivr"], components["email"]) == (
        "enabled", "disabled", "enabled")


def test_healthz_is_503_when_the_database_does_not_answer(core, client, tmp_path, monkeypatch):
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'gateway.db'}")
    monkeypatch.setattr(core.db, "read", sessionmaker(unreachable))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable",
                                   "components": {"database": "down"}}
    unreachable.dispose()


def test_healthz_answers_anyone(client):
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "8.8.8.8"}).status_code == 200


# --- /metrics ----------------------------------------------------------------------------


def test_metrics_count_inquiries_by_channel_and_outcome(reference, client, kiosk_auth,
                                                        staff_auth):
    reference.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    before = scrape(client)

    client.post("/api/v1/inquiries", json={"number": NUMBER, "national_id": f.NATIONAL_ID},
                headers=kiosk_auth)
    client.post("/api/v1/inquiries", json={"number": "7654321", "national_id": f.NATIONAL_ID},
                headers=staff_auth)
    client.post("/api/v1/inquiries", json={"number": "مرحبا", "national_id": f.NATIONAL_ID},
                headers=staff_auth)
    after = scrape(client)

    def grew(**labels):
        return value(after, "gateway_inquiries_total", **labels) - value(
            before, "gateway_inquiries_total", **labels)

    assert grew(channel="kiosk", outcome="found") == 1
    assert grew(channel="api", outcome="not_found") == 1
    assert grew(channel="api", outcome="invalid") == 1
    assert grew(channel="kiosk", outcome="not_found") == 0
    assert value(after, "gateway_inquiry_seconds_count", channel="kiosk") - value(
        before, "gateway_inquiry_seconds_count", channel="kiosk") == 1


def test_metrics_count_events_by_type_and_result(reference, client, records_auth):
    registration = f.registered(NUMBER, "2025-11-23T09:15:00+03:00")
    before = scrape(client)

    client.post("/api/v1/events", json=registration, headers=records_auth)
    client.post("/api/v1/events", json=registration, headers=records_auth)
    client.post("/api/v1/events", json=f.event("referred", NUMBER, "2025-11-23T10:00:00+03:00",
                                               department="NOPE"), headers=records_auth)
    after = scrape(client)

    def grew(**labels):
        return value(after, "gateway_events_total", **labels) - value(
            before, "gateway_events_total", **labels)

    assert grew(type="registered", result="applied") == 1
    assert grew(type="registered", result="duplicate") == 1
    assert grew(type="referred", result="unknown_department") == 1


def test_metrics_give_the_outbox_depth_by_status(reference, client):
    reference.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    reference.record_event(f.registered("5550001", "2025-11-23T09:20:00+03:00",
                                        mobile=f.OTHER_MOBILE))

    samples = scrape(client)

    assert value(samples, "gateway_outbox_messages", status="pending") == 2
    assert ("gateway_outbox_messages", frozenset({("status", "sent")})) not in samples


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.20",
                                     "::1"])
def test_metrics_are_served_to_the_operators_network(client, address):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})

    assert response.status_code == 200
    assert b"gateway_inquiries" in response.data


@pytest.mark.parametrize("address", ["8.8.8.8", "172.32.0.1", "2001:db8::1", "not-an-ip", ""])
def test_metrics_are_refused_elsewhere(client, address):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert b"gateway_inquiries" not in response.data


def test_the_metrics_networks_come_from_the_settings(core, database_url, tmp_path):
    client = app_with(core, database_url, tmp_path,
                      gateway={"metrics_networks": ["203.0.113.0/24"]})

    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code \
        == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403
