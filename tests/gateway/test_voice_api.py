"""Citizen's Voice over JSON: the role × agency × action matrix through the API (404 for
"not found" and "not yours" alike, 403, 409), filing, reading, lists, categories and
policies; bad input is a 4xx that changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.access.models import AuditEntry
from core.access.tokens import create_token
from core.messaging.models import Notification
from core.voice.models import CaseEvent, DeadlinePolicy, VoiceCase, VoiceCategory
from tests.core.voice.conftest import EMIRATE, HEALTH, MUN, build_world
from tests.core.voice.test_matrix import (
    KINDS,
    ROLE_CASES,
    TRIED_IN,
    _where,
    body_for,
    may,
    sees,
    user_of,
)


@pytest.fixture
def world(core):
    return build_world(core)


@pytest.fixture
def bearer(world):
    """A personal token per staff user, all made before the first request (the gateway
    reads new tokens in at a bounded rate)."""
    made = {user.login: {"Authorization": f"Bearer {world.core.users.create_token(user.login)}"}
            for user in world.users.values()}
    return lambda login: made[login.lower()]


def counts(core) -> tuple[int, ...]:
    with core.db.read() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (VoiceCase, CaseEvent, Notification, VoiceCategory,
                                   DeadlinePolicy))


@pytest.mark.parametrize(("location", "action"), ROLE_CASES,
                         ids=[f"{loc}-{act}" for loc, act in ROLE_CASES])
def test_who_may_do_what_through_the_api(world, client, bearer, location, action):
    case_type, state = TRIED_IN[action]
    expected, found = {}, {}
    tracking = None
    for kind in KINDS:
        expected[kind] = (404 if not sees(kind, location)
                          else 200 if may(kind, action, location) else 403)
        if tracking is None:
            tracking = world.walk(case_type, state, **_where(location))
        body = {"action": action, **body_for(world, action, tracking, case_type, location)}
        before = counts(world.core)
        response = client.post(f"/api/v1/cases/{tracking}/actions", json=body,
                               headers=bearer(user_of(world, kind, location).login))
        found[kind] = response.status_code
        if response.status_code == 200:
            assert response.json["tracking"] == tracking
            tracking = None
        else:
            assert set(response.json["error"]) >= {"code", "message"}
            assert counts(world.core) == before
    assert found == expected


def test_a_wrong_state_is_a_409(world, client, bearer):
    tracking = world.walk("complaint", "received")
    response = client.post(f"/api/v1/cases/{tracking}/actions", json={"action": "approve"},
                           headers=bearer("coord_MUN"))
    assert (response.status_code, response.json["error"]["code"]) == (409, "wrong_state")
    assert response.json["error"]["message"] == (
        "a case of type complaint in state received cannot take 'approve'")


def test_a_refusal_names_the_role_in_good_english(world, client, bearer):
    tracking = world.walk("complaint", "received")
    response = client.post(f"/api/v1/cases/{tracking}/actions",
                           json={"action": "assign", "user": "spec_MUN"},
                           headers=bearer("leader_MUN"))
    assert response.status_code == 403, response.json
    assert response.json["error"]["message"] == \
        "the role agency_leader may not assign this case"


def test_not_yours_and_not_found_are_the_same_404(world, client, bearer):
    tracking = world.walk("complaint", "received", agency=HEALTH)
    answers = [client.get(f"/api/v1/cases/{number}", headers=bearer("coord_MUN"))
               for number in (tracking, "7000000001", "4471234", "%D9%A1")]
    assert {a.status_code for a in answers} == {404}
    assert len({a.get_data() for a in answers}) == 1
    acted = client.post(f"/api/v1/cases/{tracking}/actions", json={"action": "close",
                                                                   "reason": "x"},
                        headers=bearer("coord_MUN"))
    assert (acted.status_code, acted.get_data()) == (404, answers[0].get_data())


def test_filing_by_a_kiosk_and_by_a_user(world, client, bearer):
    kiosk = {"Authorization": f"Bearer {create_token(world.core.db.write, 'kiosk', 'k1')}"}
    body = {"type": "complaint", "text": "حفرة في الطريق", "channel": "kiosk",
            "agency": MUN, "citizen": {"mobile": "٠٥٥١٢٣٤٥٦٧"}}
    filed = client.post("/api/v1/cases", json=body, headers=kiosk)
    assert filed.status_code == 201
    assert filed.json["state"] == "received" and filed.json["agency"] == MUN
    assert len(filed.json["tracking"]) == 10 and filed.json["answer_due"]
    by_user = client.post("/api/v1/cases", json={**body, "channel": "counter"},
                          headers=bearer("coord_MUN"))
    assert by_user.status_code == 201
    case = client.get(f"/api/v1/cases/{by_user.json['tracking']}",
                      headers=bearer("coord_MUN")).json
    assert [(h["actor"], h["role"]) for h in case["history"]] == [("coord_mun", "coordinator")]
    assert client.post("/api/v1/cases", json=body).status_code == 401
    records = {"Authorization": f"Bearer {create_token(world.core.db.write, 'records', 'r')}"}
    assert client.post("/api/v1/cases", json=body, headers=records).status_code == 403


@pytest.mark.parametrize("body", [
    None, [], "text", {},
    {"type": "complaint", "text": "x", "channel": "api"},  # no citizen
    {"type": "complaint", "text": "x", "channel": "api", "citizen": {}},
    {"type": "complaint", "text": "x", "channel": "api", "citizen": {"mobile": 551234567}},
    {"type": "complaint", "text": "x", "channel": "api", "lang": "AR",
     "citizen": {"mobile": "0551234567"}},
    {"type": "complaint", "text": "x", "channel": "api", "about_own_staff": "yes",
     "citizen": {"mobile": "0551234567"}, "agency": "MUN"},
    {"type": "complaint", "text": "x", "channel": "api", "agency": "NOPE",
     "citizen": {"mobile": "0551234567"}},
    {"type": "complaint", "text": "x" * 5000, "channel": "api",
     "citizen": {"mobile": "0551234567"}},
])
def test_bad_filings_are_4xx_and_change_nothing(world, client, bearer, body):
    before = counts(world.core)
    response = client.post("/api/v1/cases", json=body, headers=bearer("coord_MUN"))
    assert response.status_code in (404, 422), response.json
    assert set(response.json["error"]) >= {"code", "message"}
    assert counts(world.core) == before


def test_missing_fields_are_refused_as_the_description_says(world, client, bearer):
    """What a client reads in docs/openapi.yaml is what it gets: a missing `channel` is
    422 `invalid_field` "channel: Field required"; no `type` is allowed only with a
    `transaction`."""
    description = client.get("/api/v1/openapi.yaml").get_data(as_text=True)
    body = {"type": "complaint", "text": "x", "channel": "api",
            "citizen": {"mobile": "0551234567"}}
    before = counts(world.core)
    for missing, field in (("channel", "channel"), ("text", "text"), ("citizen", "citizen")):
        refused = client.post("/api/v1/cases", headers=bearer("coord_MUN"),
                              json={k: v for k, v in body.items() if k != missing})
        error = refused.json["error"]
        assert (refused.status_code, error["code"], error["field"]) == \
            (422, "invalid_field", field)
        assert error["message"] == f"{field}: Field required"
    untyped = client.post("/api/v1/cases", headers=bearer("coord_MUN"),
                          json={k: v for k, v in body.items() if k != "type"})
    assert untyped.status_code == 422 and untyped.json["error"]["code"] == "invalid_field"
    assert "type is required" in untyped.json["error"]["message"]
    assert counts(world.core) == before
    about = client.post("/api/v1/cases", headers=bearer("coord_MUN"), json={
        **{k: v for k, v in body.items() if k != "type"}, "transaction": "4471234"})
    assert about.status_code == 201 and about.json["type"] == "enquiry"
    assert '"channel: Field required"' in description
    assert "anyOf: [{required: [type]}, {required: [transaction]}]" in description


@pytest.mark.parametrize("body", [
    None, {}, {"action": "fly"}, {"action": "close"}, {"action": "close", "reason": ""},
    {"action": "close", "reason": 5}, {"action": "route", "agency": "NOPE"},
    {"action": "assign", "user": "spec_HEALTH"}, {"action": "merge", "into": "1"},
    {"action": "comment", "text": "x", "extra": True},
])
def test_bad_actions_are_422_and_change_nothing(world, client, bearer, body):
    tracking = world.walk("complaint", "in_progress")
    before = counts(world.core)
    response = client.post(f"/api/v1/cases/{tracking}/actions", json=body,
                           headers=bearer("coord_MUN"))
    assert response.status_code == 422, response.json
    assert counts(world.core) == before


def test_a_case_read_through_the_api_is_audited_and_redacted_for_leaders(world, client,
                                                                         bearer):
    tracking = world.walk("complaint", "in_progress")
    full = client.get(f"/api/v1/cases/{tracking}", headers=bearer("coord_MUN")).json
    masked = client.get(f"/api/v1/cases/{tracking}", headers=bearer("leader_MUN")).json
    assert full["citizen"]["mobile"] == "+966551234567" and full["citizen"]["name"]
    assert masked["citizen"] == {"name": None, "mobile": "+966*******67", "email": None,
                                 "has_national_id": False}
    assert {key: full[key] for key in ("type", "state", "agency", "category", "escalation",
                                       "acknowledge_due", "answer_due")} == \
        {key: masked[key] for key in ("type", "state", "agency", "category", "escalation",
                                      "acknowledge_due", "answer_due")}
    with world.core.db.read() as session:
        reads = session.execute(select(AuditEntry.user_id, AuditEntry.object_id).where(
            AuditEntry.object_kind == "voice_case").order_by(AuditEntry.id)).all()
    assert [tuple(row) for row in reads[-2:]] == [
        (world.users["coord_MUN"].user_id, tracking),
        (world.users["leader_MUN"].user_id, tracking)]


def test_the_list_is_scoped_and_paged(world, client, bearer):
    mine = world.walk("complaint", "assigned")
    world.walk("complaint", "received", agency=HEALTH)
    listed = client.get("/api/v1/cases", headers=bearer("spec_MUN"))
    assert listed.status_code == 200
    assert [row["tracking"] for row in listed.json["cases"]] == [mine]
    assert listed.json["more"] is False
    everything = client.get("/api/v1/cases?state=received", headers=bearer("leadership"))
    assert [row["agency"] for row in everything.json["cases"]] == [HEALTH]
    for query in ("page=0", "page=abc", "page=", "state=lost", "state=", "sort=new"):
        assert client.get(f"/api/v1/cases?{query}",
                          headers=bearer("leadership")).status_code == 422
    assert client.get("/api/v1/cases", headers=bearer("admin")).json["cases"] == []


def test_categories_by_records_or_an_admin_and_policies_by_an_admin(world, client, bearer):
    records = {"Authorization": f"Bearer {create_token(world.core.db.write, 'records', 'r')}"}
    body = {"agency": MUN, "name_ar": "النظافة", "name_en": "Cleanliness",
            "types": ["complaint"], "acknowledge": "1d", "answer": "5d"}
    assert client.put("/api/v1/voice/categories/clean", json=body,
                      headers=records).status_code == 201
    assert client.put("/api/v1/voice/categories/clean", json={**body, "answer": "7d"},
                      headers=bearer("admin")).status_code == 200
    assert client.put("/api/v1/voice/categories/clean", json=body,
                      headers=bearer("coord_MUN")).status_code == 403
    policy = client.put(f"/api/v1/voice/policies/{MUN}", json={"acknowledge": "4h",
                                                              "answer": "3d"},
                        headers=bearer("admin"))
    assert policy.status_code == 200
    assert (policy.json["agency"], policy.json["acknowledge"], policy.json["answer"]) == \
        (MUN, "4h", "3d")
    assert client.put(f"/api/v1/voice/policies/{MUN}", json={"acknowledge": "4h",
                                                            "answer": "3d"},
                      headers=records).status_code == 403
    before = counts(world.core)
    for path, bad in (("/api/v1/voice/categories/clean", {**body, "agency": HEALTH}),
                      ("/api/v1/voice/categories/clean", {**body, "types": []}),
                      ("/api/v1/voice/policies/NOPE", {"acknowledge": "1d", "answer": "2d"}),
                      (f"/api/v1/voice/policies/{MUN}", {"acknowledge": "1d"})):
        assert client.put(path, json=bad, headers=bearer("admin")).status_code in \
            (404, 409, 422)
    assert counts(world.core) == before


def test_the_emirate_agency_needs_no_setup(client, core):
    kiosk = {"Authorization": f"Bearer {create_token(core.db.write, 'kiosk', 'k1')}"}
    filed = client.post("/api/v1/cases", headers=kiosk, json={
        "type": "enquiry", "text": "متى يفتح المكتب؟", "channel": "kiosk", "lang": "en",
        "citizen": {"email": "a@example.com"}})
    assert (filed.status_code, filed.json["agency"]) == (201, EMIRATE)


def test_a_paused_case_keeps_its_met_acknowledge_target(world, client, bearer):
    paused = world.walk("complaint", "awaiting_citizen")
    view = client.get(f"/api/v1/cases/{paused}", headers=bearer("coord_MUN")).json
    assert view["state"] == "awaiting_citizen" and view["acknowledged_at"]
    assert view["answer_due"] is None
    assert view["acknowledge_due"] is not None  # the target, met: not a pause


@pytest.mark.parametrize(("acknowledge", "answer"), [("10d", "2d"), ("1d", "8h"),
                                                     ("9h", "4h")])
def test_an_acknowledge_target_longer_than_the_answer_is_refused(world, client, bearer,
                                                                 acknowledge, answer):
    body = {"agency": MUN, "name_ar": "النظافة", "name_en": "Cleanliness",
            "types": ["complaint"], "acknowledge": acknowledge, "answer": answer}
    before = counts(world.core)
    for path, data in (("/api/v1/voice/categories/clean", body),
                       (f"/api/v1/voice/policies/{MUN}",
                        {"acknowledge": acknowledge, "answer": answer})):
        response = client.put(path, json=data, headers=bearer("admin"))
        assert response.status_code == 422, response.json
        error = response.json["error"]
        assert error["code"] == "acknowledge_after_answer"
        assert "must not be longer than answer" in error["message"]
    assert counts(world.core) == before
    assert client.put(f"/api/v1/voice/policies/{MUN}", json={
        "acknowledge": "20h", "answer": "2d"}, headers=bearer("admin")).status_code == 200
