"""``GET /api/v1/stats/voice``: the contract's keys, the CSV, who may ask for what."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from core.platform.clock import utcnow
from tests.core.voice.conftest import build_world

CONTRACT = {"received", "answered", "on_time_pct", "open", "overdue", "median_answer_hours",
            "p90_answer_hours", "satisfaction_mean", "reopen_pct", "by_agency"}


def _auth(core, login: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {core.users.create_token(login)}"}


def _world(core):
    world = build_world(core)
    world.clock = utcnow() - timedelta(days=2)
    tracking = world.file("complaint", "MUN")
    world.act(world.coordinator("MUN"), tracking, "assign",
              user=world.specialist("MUN").login)
    world.file("complaint", "HEALTH")
    core.dashboards.refresh("test", timedelta(minutes=1))
    return world


def test_leadership_gets_the_contracts_figures_by_agency(client, core):
    _world(core)
    answer = client.get("/api/v1/stats/voice", headers=_auth(core, "leadership"))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert set(body) >= CONTRACT and body["as_of"] is not None
    assert body["received"] == 2 and body["open"] == 2
    assert body["first_response"]["acknowledged"] == 1
    assert [row["agency"] for row in body["by_agency"]] == ["HEALTH", "MUN"]
    assert body["previous"]["received"] == 0
    as_csv = client.get("/api/v1/stats/voice?format=csv&agency=MUN",
                        headers=_auth(core, "leadership"))
    assert as_csv.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["agency"], r["received"], r["open"]) for r in rows] == [("MUN", "1", "1"),
                                                                       ("*", "1", "1")]


def test_an_agency_leader_gets_their_own_agency_only(client, core):
    _world(core)
    leader = _auth(core, "leader_MUN")
    own = client.get("/api/v1/stats/voice?from=٢٠٢٠-٠١-٠١", headers=leader).get_json()
    assert own["received"] == 1 and [r["agency"] for r in own["by_agency"]] == ["MUN"]
    # Another agency is not found, exactly as one that does not exist.
    other = client.get("/api/v1/stats/voice?agency=HEALTH", headers=leader)
    missing = client.get("/api/v1/stats/voice?agency=NOPE", headers=leader)
    assert other.status_code == missing.status_code == 404
    assert other.get_json() == missing.get_json() == {"error": {
        "code": "unknown_agency", "message": "no such agency", "field": "agency"}}
    assert client.get("/api/v1/stats/voice?agency=MUN", headers=leader).status_code == 200
    assert client.get("/api/v1/stats/voice",
                      headers=_auth(core, "spec_MUN")).status_code == 403


def test_bad_queries_are_refused_plainly(client, core):
    _world(core)
    auth = _auth(core, "leadership")
    for query, field in (("from=2026-13-01", "from"), ("from=2026-02-01&to=2026-01-01", "to"),
                         ("since=2026-01-01", "since"), ("format=xlsx", "format"),
                         ("from=1999-01-01", "from")):
        answer = client.get(f"/api/v1/stats/voice?{query}", headers=auth)
        assert answer.status_code == 422, query
        assert answer.get_json()["error"]["field"] == field
    assert client.get("/api/v1/stats/voice?agency=NOPE", headers=auth).status_code == 404
