"""Kiosk heartbeats (POST /api/v1/kiosks/heartbeat) and the staff page that lists them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.kiosks import heartbeats as kiosks
from core.platform.db import utcnow
from tests.conftest import sign_in

BEAT = {"kiosk_id": "airport-2", "version": "0.1.0", "printer": "ready: receipt80",
        "last_inquiry_at": "2026-11-23T09:15:00+03:00"}


def test_a_heartbeat_is_kept_and_overwritten(client, kiosk_auth, core):
    assert client.post("/api/v1/kiosks/heartbeat", json=BEAT, headers=kiosk_auth).status_code == 200
    later = {**BEAT, "printer": "error: paper out"}
    assert client.post("/api/v1/kiosks/heartbeat", json=later,
                       headers=kiosk_auth).status_code == 200
    [view] = kiosks.kiosks(core.db)
    assert (view.kiosk_id, view.printer, view.token_name, view.alive) == \
        ("airport-2", "error: paper out", "test-kiosk", True)
    assert view.last_inquiry_at.isoformat().startswith("2026-11-23T06:15")


@pytest.mark.parametrize("body", [
    {}, {"kiosk_id": ""}, {"kiosk_id": "a b"}, {"kiosk_id": "k1", "version": 5},
    {"kiosk_id": "k1", "last_inquiry_at": "yesterday"},
    {"kiosk_id": "k1", "last_inquiry_at": "2026-11-23T09:15:00"},
    {"kiosk_id": "k1", "last_inquiry_at": "9999-12-31T23:59:59-23:59"},  # overflows
    {"kiosk_id": "k1", "last_inquiry_at": "0001-01-01T00:00:00+00:00"},
    {"kiosk_id": "k1", "last_inquiry_at": "3026-11-23T09:15:00+03:00"},
    {"kiosk_id": "k1", "pin_failures": -1}, {"kiosk_id": "k1", "pin_failures": "3"},
    {"kiosk_id": "k1", "version": "0.1\x00"}, {"kiosk_id": "k1", "printer": "ok\x00"},
])
def test_a_bad_heartbeat_is_a_clear_4xx_and_stores_nothing(client, kiosk_auth, core, body):
    response = client.post("/api/v1/kiosks/heartbeat", json=body, headers=kiosk_auth)
    assert response.status_code == 422  # as every invalid request on the API
    assert response.get_json()["error"]["code"] in ("missing_field", "invalid_field")
    assert kiosks.kiosks(core.db) == []


def test_only_kiosk_tokens_send_heartbeats(client, staff_auth):
    assert client.post("/api/v1/kiosks/heartbeat", json=BEAT).status_code == 401
    assert client.post("/api/v1/kiosks/heartbeat", json=BEAT,
                       headers=staff_auth).status_code == 403


def test_a_kiosk_gone_quiet_is_listed_first_as_silent(core):
    kiosks.record_heartbeat(core.db, "t", {"kiosk_id": "mall-1"},
                            now=utcnow() - timedelta(minutes=10))
    kiosks.record_heartbeat(core.db, "t", {"kiosk_id": "hall-1"})
    assert [(v.kiosk_id, v.alive) for v in kiosks.kiosks(core.db)] == \
        [("mall-1", False), ("hall-1", True)]


def test_staff_see_each_kiosk_and_whether_it_is_alive_in_words(client, core, staff_token):
    kiosks.record_heartbeat(core.db, "t", {"kiosk_id": "mall-1"},
                            now=utcnow() - timedelta(minutes=10))
    kiosks.record_heartbeat(core.db, "t", BEAT)
    assert client.get("/staff/kiosks").status_code == 303  # signed out: to the sign-in
    assert sign_in(client, staff_token).status_code == 303
    page = client.get("/staff/kiosks?lang=en").get_data(as_text=True)
    assert 'id="kiosk-airport-2" data-alive="yes"' in page
    assert 'id="kiosk-mall-1" data-alive="no"' in page
    assert "Silent" in page and "Alive" in page and "error" not in page.lower().split("<body")[0]
    arabic = client.get("/staff/kiosks?lang=ar").get_data(as_text=True)
    assert "صامت" in arabic and 'dir="rtl"' in arabic


def test_a_kiosk_id_belongs_to_the_token_that_first_reported_it(client, kiosk_auth, core):
    kiosks.record_heartbeat(core.db, "mall-1", BEAT)
    response = client.post("/api/v1/kiosks/heartbeat", json=BEAT, headers=kiosk_auth)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "kiosk_id_taken"
    [view] = kiosks.kiosks(core.db)
    assert view.token_name == "mall-1"  # unchanged


def test_wrong_technician_pins_in_a_heartbeat_are_logged(client, kiosk_auth, caplog):
    beat = {**BEAT, "pin_failures": 4}
    assert client.post("/api/v1/kiosks/heartbeat", json=beat, headers=kiosk_auth).status_code == 200
    assert "kiosk airport-2 reports 4 wrong technician PINs" in caplog.text
