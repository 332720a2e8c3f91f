"""`gateway run` with the SMS channel on: one process serves the portal and answers 74747."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from core import render
from core.inquiry import InquiryRequest
from tests import factories as f
from tests.conftest import NATIONAL_ID_KEY

APPLICANT = "966551234567"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gateway_run_answers_an_sms_inquiry_and_stops_cleanly(core, database_url, smsc,
                                                              tmp_path):
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered("4471234", "2026-11-23T09:15:00+03:00"))
    answer = core.inquire(InquiryRequest(channel="api", number_text="4471234",
                                         mobile=f.MOBILE))
    expected = render.sms_text(answer, "ar", core.config.tz)
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY")}
    env.update({
        "GATEWAY__DATABASE__URL": database_url, "GATEWAY__VAR_DIR": str(tmp_path),
        "GATEWAY__SECURITY__NATIONAL_ID_KEY": NATIONAL_ID_KEY,
        "GATEWAY__GATEWAY__SECRET_KEY": "test-secret", "GATEWAY__GATEWAY__PORT": str(port),
        "GATEWAY__SMS__ENABLED": "true", "GATEWAY__SMS__SMPP__HOST": smsc.host,
        "GATEWAY__SMS__SMPP__PORT": str(smsc.port),
        "GATEWAY__SMS__SMPP__SYSTEM_ID": smsc.system_id,
        "GATEWAY__SMS__SMPP__PASSWORD": smsc.password,
    })
    process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        smsc.wait_for(lambda state: state["bound"], timeout=30)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)

        smsc.send_mo("استعلام ٤٤٧١٢٣٤", source_addr=APPLICANT)
        [submit] = smsc.wait_for(lambda state: [s for s in state["submits"]
                                                if s["text"] == expected], timeout=30)

        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert submit["data_coding"] == 8
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_gateway_sms_on_its_own_shows_its_bind_in_any_machines_healthz(
        database_url, smsc, tmp_path, client):
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY")}
    env.update({
        "GATEWAY__DATABASE__URL": database_url, "GATEWAY__VAR_DIR": str(tmp_path),
        "GATEWAY__SECURITY__NATIONAL_ID_KEY": NATIONAL_ID_KEY,
        "GATEWAY__SMS__ENABLED": "true", "GATEWAY__SMS__SMPP__HOST": smsc.host,
        "GATEWAY__SMS__SMPP__PORT": str(smsc.port),
        "GATEWAY__SMS__SMPP__SYSTEM_ID": smsc.system_id,
        "GATEWAY__SMS__SMPP__PASSWORD": smsc.password,
    })
    process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "sms"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

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

        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert channels() == []  # a clean stop takes its heartbeat away
