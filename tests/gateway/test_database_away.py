"""The database down or restarting (bench/cluster.py crashes PostgreSQL under load): API
clients are told to try again (503, Retry-After, the JSON error), not that the gateway
has a bug (500); the log has one line, not a traceback per request."""

from __future__ import annotations

import logging

from tests import factories as f


def refusing(core):
    """Every new connection refused, as while PostgreSQL restarts; a function to undo it."""
    from sqlalchemy import event

    def refuse(*_args):
        raise core.db.engine.dialect.loaded_dbapi.OperationalError("connection refused")

    core.db.engine.dispose()
    event.listen(core.db.engine, "do_connect", refuse)
    return lambda: event.remove(core.db.engine, "do_connect", refuse)


def test_an_inquiry_while_the_database_is_away_is_503_with_retry_after(
        core, client, kiosk_auth, records_auth, caplog):
    core.upsert_department("RIGHTS", f.department())
    assert client.post("/api/v1/events", json=f.registered("4471234"),
                       headers=records_auth).status_code == 201
    body = {"number": "4471234", "national_id": f.NATIONAL_ID}
    restore = refusing(core)
    try:
        with caplog.at_level(logging.WARNING, logger="gateway.errors"):
            inquiry = client.post("/api/v1/inquiries", json=body, headers=kiosk_auth)
            event = client.post("/api/v1/events", json=f.event(
                "referred", "4471234", "2026-11-23T10:00:00+03:00", department="RIGHTS"),
                headers=records_auth)
    finally:
        restore()

    for response in (inquiry, event):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.get_json()["error"]["code"] == "unavailable"
    answered = [record for record in caplog.records if record.name == "gateway.errors"]
    assert [record.exc_info for record in answered] == [None, None]
    assert all("the database is unavailable" in record.getMessage() for record in answered)
    # Back: the same inquiry is answered.
    assert client.post("/api/v1/inquiries", json=body,
                       headers=kiosk_auth).get_json()["found"] is True


def test_a_bug_is_still_a_500(core, client, kiosk_auth, monkeypatch):
    def broken(_request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(core, "inquire", broken)
    response = client.post("/api/v1/inquiries", json={"number": "4471234",
                                                      "national_id": f.NATIONAL_ID},
                           headers=kiosk_auth)

    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
