"""`gateway run` with the SMS channel on: it serves the portal and answers 74747."""

from __future__ import annotations

import json
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from core.transactions import render
from core.transactions.inquiry import InquiryRequest
from tests import factories as f
from tests import processes
from tests.channels.sms.smsc_settings import sms_environment

APPLICANT = "966551234567"


def test_gateway_run_answers_an_sms_inquiry_and_stops_cleanly(core, database_url, smsc,
                                                              tmp_path):
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered("4471234", "2026-11-23T09:15:00+03:00"))
    answer = core.inquire(InquiryRequest(channel="api", number_text="4471234",
                                         mobile=f.MOBILE))
    expected = render.sms_text(answer, "ar", core.config.tz)
    port = processes.free_port()
    env = processes.environment(database_url, tmp_path, **sms_environment(smsc),
                                GATEWAY__GATEWAY__PORT=str(port))
    process = processes.start("run", env)
    try:
        smsc.wait_for(lambda state: state["bound"], timeout=30)
        processes.wait_until_serving(process, port)

        smsc.send_mo("استعلام ٤٤٧١٢٣٤", source_addr=APPLICANT)
        [submit] = smsc.wait_for(lambda state: [s for s in state["submits"]
                                                if s["text"] == expected], timeout=30)
        # A web worker tells the bind of the channel beside it (in the background worker)
        # from its heartbeat.
        deadline = time.monotonic() + 30
        while details(port).get("sms") != {"bound": True}:
            assert time.monotonic() < deadline, details(port)
            time.sleep(0.2)
    finally:
        output = processes.stop(process)
    assert submit["data_coding"] == 8
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_gateway_sms_on_its_own_shows_its_bind_in_any_machines_healthz_and_metrics(
        database_url, smsc, tmp_path, client):
    process = processes.start("sms", processes.environment(database_url, tmp_path,
                                                           **sms_environment(smsc)))

    def channels() -> list[dict]:
        return client.get("/healthz").get_json().get("sms_channels", [])

    try:
        smsc.wait_for(lambda state: state["bound"], timeout=30)
        deadline = time.monotonic() + 30
        while not [c for c in channels() if c["bound"] and c["live"]]:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        [channel] = channels()
        assert channel["smsc"] == f"{smsc.host}:{smsc.port}"
        # This process (the web machine) runs no channel: /metrics reads the heartbeat.
        during = scrape(client)
    finally:
        output = processes.stop(process)
    assert process.returncode == 0, output
    assert channels() == []  # a clean stop takes its heartbeat away
    assert during[("gateway_sms_bound", frozenset())] == 1
    assert during[("gateway_sms_channel_bound",
                   frozenset({("holder", channel["holder"])}))] == 1
    assert scrape(client)[("gateway_sms_bound", frozenset())] == 0


def details(port: int) -> dict:
    """The detailed /healthz (loopback is the operator's network by default)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        return json.loads(response.read())


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.data
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}
