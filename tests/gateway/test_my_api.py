""""My transactions" for kiosks and staff desks (gateway/my_api.py): the same 202
whatever the ID, the code read from the SMS gives a proof, the proof gives the list; a
wrong code, a made-up ticket or proof unlocks nothing."""

from __future__ import annotations

from tests import factories as f
from tests.conftest import last_code
from tests.gateway.test_my_portal import applicant as applicant  # noqa: F401  (the fixture)


def test_the_code_gives_a_proof_and_the_proof_the_list(applicant, client, kiosk_auth):
    asked = client.post("/api/v1/my-transactions/code", headers=kiosk_auth,
                        json={"national_id": "١٠١٢٣٤٥٦٧" + f.NATIONAL_ID[-1], "lang": "en"})
    assert asked.status_code == 202
    verified = client.post("/api/v1/my-transactions/verify", headers=kiosk_auth,
                           json={"ticket": asked.get_json()["ticket"],
                                 "code": last_code(applicant)})
    assert verified.status_code == 200
    listed = client.post("/api/v1/my-transactions/list", headers=kiosk_auth,
                         json={"proof": verified.get_json()["proof"], "lang": "en"})
    assert listed.status_code == 200
    body = listed.get_json()
    assert [t["number"] for t in body["transactions"]] == ["4470002", "4470001"]
    issued = body["transactions"][1]
    assert issued["outgoing_number"] == "OUT-77"
    assert issued["destination_agency"] == "Ministry of Interior"
    assert issued["department"] == "Rights Department"
    assert "AH" in issued["registered_on"]
    assert body["more"] == 0 and body["cases"] == []


def test_the_same_answer_whatever_the_id(applicant, client, kiosk_auth):
    answers = []
    for national_id in (f.NATIONAL_ID, f.national_id_with_check_digit("105555555")):
        asked = client.post("/api/v1/my-transactions/code", headers=kiosk_auth,
                            json={"national_id": national_id})
        body = asked.get_json()
        answers.append((asked.status_code, body["message"], len(body["ticket"])))
    assert answers[0] == answers[1]


def test_nothing_unlocks_without_the_right_code(applicant, client, kiosk_auth):
    asked = client.post("/api/v1/my-transactions/code", headers=kiosk_auth,
                        json={"national_id": f.NATIONAL_ID})
    code = last_code(applicant)
    wrong = client.post("/api/v1/my-transactions/verify", headers=kiosk_auth,
                        json={"ticket": asked.get_json()["ticket"],
                              "code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "wrong_code"
    forged = client.post("/api/v1/my-transactions/verify", headers=kiosk_auth,
                         json={"ticket": "a" * 64, "code": code})
    assert forged.status_code == 422 and forged.get_json()["error"]["field"] == "ticket"
    made_up = client.post("/api/v1/my-transactions/list", headers=kiosk_auth,
                          json={"proof": "1"})
    assert made_up.status_code == 404
    assert made_up.get_json()["error"]["code"] == "not_signed_in"


def test_records_tokens_may_not(applicant, client, records_auth):
    refused = client.post("/api/v1/my-transactions/code", headers=records_auth,
                          json={"national_id": f.NATIONAL_ID})
    assert refused.status_code == 403


def test_a_kiosk_serving_a_hall_is_not_stopped_after_20_citizens(applicant, client,
                                                                  kiosk_auth):
    """As the README and openapi say: a terminal's code requests count against each ID
    only (5 an hour), never against the terminal's token."""
    for n in range(25):
        national_id = f.national_id_with_check_digit(f"1066{n:05d}")
        asked = client.post("/api/v1/my-transactions/code", headers=kiosk_auth,
                            json={"national_id": national_id})
        assert asked.status_code == 202, (n, asked.get_json())
    for _ in range(5):
        assert client.post("/api/v1/my-transactions/code", headers=kiosk_auth,
                           json={"national_id": f.NATIONAL_ID}).status_code == 202
    over = client.post("/api/v1/my-transactions/code", headers=kiosk_auth,
                       json={"national_id": f.NATIONAL_ID})
    assert over.status_code == 429 and over.get_json()["error"]["code"] == "too_many_codes"
