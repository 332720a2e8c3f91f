"""Citizen's Voice for kiosks over JSON: the catalogue, filing once per Idempotency-Key
with the kiosk's filing limits, and a citizen's own case proved by their mobile (the
view, where "not found" and "not yours" are one answer and failed lookups are limited
per kiosk and per tracking number; the reply, rating, reopening and withdrawal only with
a one-time code sent to the case's own mobile, whoever holds the token and the pair)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.access.tokens import create_token
from core.messaging.models import Notification
from core.voice.models import CaseEvent, VoiceCase
from tests.core.voice.conftest import CITIZEN_MOBILE, MUN, count
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)

OTHER_MOBILE = "0559876543"


@pytest.fixture
def kiosk(core):
    return {"Authorization": f"Bearer {create_token(core.db.write, 'kiosk', 'hall-1')}"}


@pytest.fixture
def staff(core):
    return {"Authorization": f"Bearer {create_token(core.db.write, 'staff', 'desk-1')}"}


def filing(mobile: str = CITIZEN_MOBILE, **extra) -> dict:
    return {"type": "complaint", "text": "الإنارة مطفأة في الشارع", "agency": MUN,
            "channel": "kiosk", "lang": "ar", "citizen": {"mobile": mobile}, **extra}


def test_the_catalogue_lists_agencies_with_their_active_categories(world, client, kiosk):
    world.core.voice.upsert_category("LIGHTS", {"agency": MUN, "name_ar": "الإنارة",
                                                "name_en": "Street lights",
                                                "types": ["complaint"]})
    world.core.voice.upsert_category("OLD", {"agency": MUN, "name_ar": "قديم",
                                             "name_en": "Old", "types": ["complaint"],
                                             "active": False})
    response = client.get("/api/v1/voice/catalogue", headers=kiosk)
    assert response.status_code == 200
    agencies = {a["code"]: a for a in response.json["agencies"]}
    assert set(agencies) >= {"EMIRATE", "MUN", "HEALTH"}
    assert agencies["MUN"]["categories"] == [{"code": "LIGHTS", "name_ar": "الإنارة",
                                             "name_en": "Street lights",
                                             "types": ["complaint"]}]
    assert response.json["emirate"] == world.core.config.voice.emirate_agency


def test_the_catalogue_needs_a_kiosk_or_staff_token(world, client, core):
    records = create_token(core.db.write, "records", "rec")
    assert client.get("/api/v1/voice/catalogue").status_code == 401
    assert client.get("/api/v1/voice/catalogue",
                      headers={"Authorization": f"Bearer {records}"}).status_code == 403


def test_a_retried_filing_with_the_same_idempotency_key_files_once(world, client, kiosk):
    headers = {**kiosk, "Idempotency-Key": "3f1c9a6e-attempt-1"}
    first = client.post("/api/v1/cases", json=filing(), headers=headers)
    again = client.post("/api/v1/cases", json=filing(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json
    assert count(world.core, VoiceCase) == 1
    other = client.post("/api/v1/cases", json=filing(),
                        headers={**kiosk, "Idempotency-Key": "3f1c9a6e-attempt-2"})
    assert other.json["tracking"] != first.json["tracking"]
    with world.core.db.read() as session:
        keys = set(session.scalars(select(VoiceCase.source_key)))
    assert keys == {"api:hall-1:3f1c9a6e-attempt-1", "api:hall-1:3f1c9a6e-attempt-2"}


def test_a_malformed_idempotency_key_is_refused_and_nothing_filed(world, client, kiosk):
    response = client.post("/api/v1/cases", json=filing(),
                           headers={**kiosk, "Idempotency-Key": "x" * 65})
    assert response.status_code == 422
    assert response.json["error"]["field"] == "Idempotency-Key"
    assert count(world.core, VoiceCase) == 0


def test_a_kiosk_files_under_the_citizens_limit_a_staff_desk_does_not(world, client, kiosk,
                                                                      staff):
    limit = world.core.config.voice.max_cases_per_citizen
    for _ in range(limit):
        assert client.post("/api/v1/cases", json=filing(), headers=kiosk).status_code == 201
    refused = client.post("/api/v1/cases", json=filing(), headers=kiosk)
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "too_many_cases"
    assert int(refused.headers["Retry-After"]) > 0
    assert client.post("/api/v1/cases", json=filing(), headers=staff).status_code == 201
    assert count(world.core, VoiceCase) == limit + 1


def test_the_citizen_sees_their_case_and_a_stranger_sees_nothing(world, client, kiosk):
    tracking = world.walk("complaint", "awaiting_citizen")
    mine = client.post(f"/api/v1/cases/{tracking}/citizen/view", headers=kiosk,
                       json={"mobile": "٠٥٥١٢٣٤٥٦٧", "lang": "en"})
    assert mine.status_code == 200
    assert (mine.json["state"], mine.json["question"], mine.json["may_reply"]) == (
        "awaiting_citizen", "أي مدرسة؟", True)
    assert mine.json["state_text"] == "waiting for your reply"
    theirs = client.post(f"/api/v1/cases/{tracking}/citizen/view", headers=kiosk,
                         json={"mobile": OTHER_MOBILE})
    nothing = client.post("/api/v1/cases/7000000000/citizen/view", headers=kiosk,
                          json={"mobile": CITIZEN_MOBILE})
    assert theirs.status_code == nothing.status_code == 404
    assert theirs.data == nothing.data


def last_code(core, recipient: str = "+966551234567") -> str:
    with core.db.read() as session:
        body = session.scalar(select(Notification.body).where(
            Notification.kind == "code", Notification.recipient == recipient)
            .order_by(Notification.id.desc()).limit(1))
    match = re.search(r"\d{6}", body or "")
    assert match, "a code was queued"
    return match.group(0)


def ask_code(client, headers, tracking: str, mobile: str = CITIZEN_MOBILE) -> str:
    asked = client.post(f"/api/v1/cases/{tracking}/citizen/code", headers=headers,
                        json={"mobile": mobile, "lang": "ar"})
    assert asked.status_code == 202, asked.json
    return asked.json["ticket"]


def proof_for(client, core, headers, tracking: str) -> str:
    ticket = ask_code(client, headers, tracking)
    verified = client.post(f"/api/v1/cases/{tracking}/citizen/verify", headers=headers,
                           json={"ticket": ticket, "code": last_code(core)})
    assert verified.status_code == 200, verified.json
    return verified.json["proof"]


def events(core, action: str) -> int:
    with core.db.read() as session:
        return session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.action == action))


def test_reply_rate_and_reopen_through_the_api(world, client, kiosk):
    tracking = world.walk("complaint", "awaiting_citizen")
    url = f"/api/v1/cases/{tracking}/citizen"
    proof = proof_for(client, world.core, kiosk, tracking)
    reply = {"proof": proof, "action": "citizen_reply", "text": "مدرسة الفيصلية"}
    replied = client.post(url, headers={**kiosk, "Idempotency-Key": "r1"}, json=reply)
    assert replied.status_code == 200 and replied.json["state"] == "in_progress"
    again = client.post(url, headers={**kiosk, "Idempotency-Key": "r1"}, json=reply)
    assert again.status_code == 200
    assert events(world.core, "citizen_reply") == 1
    spec = world.specialist(MUN)
    world.act(spec, tracking, "answer", text="أصلحت الإنارة")
    world.act(world.coordinator(MUN), tracking, "approve")
    rated = client.post(url, headers=kiosk, json={"proof": proof, "action": "rate",
                                                  "rating": 2, "mobile": CITIZEN_MOBILE})
    assert rated.status_code == 200
    assert (rated.json["rating"], rated.json["answer"]) == (2, "أصلحت الإنارة")
    reopened = client.post(url, headers=kiosk, json={"proof": proof, "action": "reopen"})
    assert reopened.status_code == 200 and reopened.json["may_reopen"] is False
    wrong = client.post(url, headers=kiosk,
                        json={"proof": proof, "action": "rate", "rating": 9})
    assert wrong.status_code == 422


@pytest.mark.parametrize("action,extra", [("withdraw", {}),
                                          ("citizen_reply", {"text": "نعم"}),
                                          ("reopen", {}), ("rate", {"rating": 1})])
def test_tracking_and_mobile_alone_cannot_act(world, client, kiosk, staff, action, extra):
    """The attacker holds a terminal's token and the pair (read over a shoulder)."""
    state = "awaiting_citizen" if action in ("withdraw", "citizen_reply") else "closed"
    tracking = world.walk("complaint", state)
    before = client.post(f"/api/v1/cases/{tracking}/citizen/view", headers=kiosk,
                         json={"mobile": CITIZEN_MOBILE}).json
    for headers in (kiosk, staff):
        refused = client.post(f"/api/v1/cases/{tracking}/citizen", headers=headers,
                              json={"mobile": CITIZEN_MOBILE, "action": action, **extra})
        assert refused.status_code == 422
        assert refused.json["error"]["code"] == "code_required"
    # A ticket with a guessed code, a made-up ticket, a made-up proof: nothing either.
    ticket = ask_code(client, kiosk, tracking)
    for proof in ({"ticket": ticket, "code": "000000"}, {"ticket": "x", "code": "123456"},
                  {"proof": "made-up"}):
        refused = client.post(f"/api/v1/cases/{tracking}/citizen", headers=kiosk,
                              json={"action": action, **extra, **proof})
        assert refused.status_code == 422
        assert refused.json["error"]["code"] in ("wrong_code", "invalid_field")
    after = client.post(f"/api/v1/cases/{tracking}/citizen/view", headers=kiosk,
                        json={"mobile": CITIZEN_MOBILE}).json
    assert after["history"] == before["history"] and after["state"] == before["state"]


def test_the_code_goes_to_the_cases_own_mobile_and_a_wrong_pair_sends_none(world, client,
                                                                          kiosk):
    tracking = world.walk("complaint", "awaiting_citizen")
    theirs = client.post(f"/api/v1/cases/{tracking}/citizen/code", headers=kiosk,
                         json={"mobile": OTHER_MOBILE})
    nothing = client.post("/api/v1/cases/7000000000/citizen/code", headers=kiosk,
                          json={"mobile": CITIZEN_MOBILE})
    assert theirs.status_code == nothing.status_code == 404
    assert theirs.data == nothing.data
    with world.core.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Notification).where(
            Notification.kind == "code")) == 0
    ask_code(client, kiosk, tracking, mobile="٠٥٥١٢٣٤٥٦٧")
    assert last_code(world.core)


def test_a_code_for_another_case_or_mobile_does_not_act(world, client, kiosk):
    mine = world.walk("complaint", "awaiting_citizen")
    other = world.walk("complaint", "awaiting_citizen")  # the same citizen's other case
    stranger = world.walk("complaint", "awaiting_citizen",
                          citizen={"mobile": OTHER_MOBILE})
    reply = {"action": "citizen_reply", "text": "نعم"}
    # The attacker's own case gives them a code and a proof: for that case only.
    proof = proof_for(client, world.core, kiosk, mine)
    for tracking in (other, stranger):
        moved = client.post(f"/api/v1/cases/{tracking}/citizen", headers=kiosk,
                            json={**reply, "proof": proof})
        assert moved.status_code == 422
        assert moved.json["error"]["field"] == "proof"
    # A ticket for one case, its right code, sent for another case: refused, unused.
    ticket = ask_code(client, kiosk, stranger, mobile=OTHER_MOBILE)
    code = last_code(world.core, "+966559876543")
    moved = client.post(f"/api/v1/cases/{mine}/citizen", headers=kiosk,
                        json={**reply, "ticket": ticket, "code": code})
    assert moved.status_code == 422 and moved.json["error"]["field"] == "ticket"
    # A proof whose mobile is not the one named: not found, as a stranger's case.
    named = client.post(f"/api/v1/cases/{mine}/citizen", headers=kiosk,
                        json={**reply, "proof": proof, "mobile": OTHER_MOBILE})
    assert named.status_code == 404 and named.json["error"]["code"] == "unknown_case"
    assert events(world.core, "citizen_reply") == 0
    # The right code, with its ticket, on its case: acts once; typed again it is dead.
    done = client.post(f"/api/v1/cases/{stranger}/citizen", headers=kiosk,
                       json={**reply, "ticket": ticket, "code": code})
    assert done.status_code == 200 and done.json["state"] == "in_progress"
    again = client.post(f"/api/v1/cases/{stranger}/citizen", headers=kiosk,
                        json={**reply, "ticket": ticket, "code": code})
    assert again.status_code == 404 and again.json["error"]["code"] == "code_dead"
    assert events(world.core, "citizen_reply") == 1


def test_a_wrong_code_says_so_and_counts_a_try(world, client, kiosk):
    tracking = world.walk("complaint", "awaiting_citizen")
    ticket = ask_code(client, kiosk, tracking)
    wrong = client.post(f"/api/v1/cases/{tracking}/citizen/verify", headers=kiosk,
                        json={"ticket": ticket, "code": "٠٠٠٠٠٠"})
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "wrong_code"
    right = client.post(f"/api/v1/cases/{tracking}/citizen/verify", headers=kiosk,
                        json={"ticket": ticket, "code": last_code(world.core)})
    assert right.status_code == 200 and right.json["expires_in"] == 1800


def test_failed_lookups_are_limited_per_tracking_number(world, client, kiosk):
    tracking = world.walk("complaint", "received")
    limit = world.core.config.inquiry.max_failures
    for n in range(limit):
        response = client.post(f"/api/v1/cases/{tracking}/citizen/view", headers=kiosk,
                               json={"mobile": f"05500000{n:02d}"})
        assert response.status_code == 404
    refused = client.post(f"/api/v1/cases/{tracking}/citizen/view", headers=kiosk,
                          json={"mobile": CITIZEN_MOBILE})
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "too_many_lookups"


def test_failed_lookups_are_limited_per_kiosk(world, client, kiosk, staff):
    from core.voice.lookups import PLACE_FACTOR
    from core.voice.tracking import new_tracking

    tracking = world.walk("complaint", "received")
    limit = world.core.config.inquiry.max_failures * PLACE_FACTOR
    for _ in range(limit):
        response = client.post(f"/api/v1/cases/{new_tracking()}/citizen/view",
                               headers=kiosk, json={"mobile": CITIZEN_MOBILE})
        assert response.status_code == 404
    refused = client.post(f"/api/v1/cases/{tracking}/citizen/view", headers=kiosk,
                          json={"mobile": CITIZEN_MOBILE})
    assert refused.status_code == 429
    # Another terminal is not this one.
    assert client.post(f"/api/v1/cases/{tracking}/citizen/view", headers=staff,
                       json={"mobile": CITIZEN_MOBILE}).status_code == 200


def test_a_strangers_failures_from_many_kiosks_never_refuse_the_citizen(world, client, core):
    """The attacker knows a tracking number and guesses its mobile from kiosk after kiosk
    (or wants to lock its citizen out). Each kiosk stops them at the limit; once the
    number is under attack, each new kiosk gets one guess; the citizen, at a kiosk of
    their own, still sees the case."""
    tracking = world.walk("complaint", "received")
    limit = core.config.inquiry.max_failures

    def at(hall: str) -> dict:
        return {"Authorization": f"Bearer {create_token(core.db.write, 'kiosk', hall)}"}

    def view(headers: dict, mobile: str) -> int:
        return client.post(f"/api/v1/cases/{tracking}/citizen/view", headers=headers,
                           json={"mobile": mobile}).status_code

    guesses = iter(f"0559{n:06d}" for n in range(1000))
    for hall in ("hall-a", "hall-b"):
        headers = at(hall)
        assert [view(headers, next(guesses)) for _ in range(limit)] == [404] * limit
        assert view(headers, next(guesses)) == 429  # this kiosk has had its share
    # Under attack: a new kiosk gets one guess, then is refused like the others.
    third = at("hall-c")
    assert view(third, next(guesses)) == 404
    assert view(third, next(guesses)) == 429
    # The citizen at their own kiosk: answered, the case theirs.
    assert view(at("hall-d"), CITIZEN_MOBILE) == 200
