"""``gateway sms`` on /healthz and /metrics of a web machine that runs no channel:
running while its heartbeat lives, missing once SIGTERM has stopped it."""

from __future__ import annotations

import time

from tests import processes
from tests.channels.sms.smsc_settings import sms_environment
from tests.gateway.test_components_health import up
from tests.gateway.test_health import app_with, scheduler_running, scrape


def test_gateway_sms_shows_running_then_missing_once_sigtermed(core, database_url, smsc,
                                                                tmp_path):
    scheduler_running(core)
    client = app_with(core, database_url, tmp_path, sms={"enabled": True})

    def healthz() -> dict:
        return client.get("/healthz").get_json()

    assert healthz()["components"]["sms"] == "missing"
    process = processes.start("sms", processes.environment(database_url, tmp_path,
                                                           **sms_environment(smsc)))
    try:
        deadline = time.monotonic() + 30
        while healthz()["components"]["sms"] != "running":
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        body, samples = healthz(), scrape(client)
    finally:
        output = processes.stop(process)
    assert process.returncode == 0, output
    assert body["status"] == "ok"
    assert body["background"]["sms"]["heartbeat_age_seconds"] < 30
    assert up(samples, "sms") == 1
    after = healthz()
    assert (after["status"], after["components"]["sms"]) == ("degraded", "missing")
    assert up(scrape(client), "sms") == 0
