"""The mailbox poller on /healthz and /metrics of any machine: running while it holds its
lease, missing once it stops (expected, as email.enabled says)."""

from __future__ import annotations

from channels.email.channel import EmailChannel
from tests.channels.email.conftest import wait_for
from tests.gateway.test_components_health import up
from tests.gateway.test_health import app_with, scheduler_running, scrape


def test_the_poller_shows_running_then_missing_once_stopped(core, email_settings,
                                                            database_url, tmp_path):
    scheduler_running(core)
    client = app_with(core, database_url, tmp_path, email={"enabled": True})

    def component() -> str:
        return client.get("/healthz").get_json()["components"]["email"]

    assert component() == "missing"
    channel = EmailChannel(core, email_settings)
    channel.start()
    try:
        wait_for(lambda: component() == "running")
        body, samples = client.get("/healthz").get_json(), scrape(client)
    finally:
        channel.stop()

    assert body["status"] == "ok"
    assert body["background"]["email"]["heartbeat_age_seconds"] < 30
    [sender] = body["email"]["senders"]  # its SMTP sender's heartbeat
    assert sender["holder"] == channel.holder and sender["live"]
    assert up(samples, "email") == 1
    after = client.get("/healthz").get_json()
    assert (after["status"], after["components"]["email"]) == ("degraded", "missing")
    assert after["email"]["senders"] == []  # given up by the clean stop
    assert up(scrape(client), "email") == 0
