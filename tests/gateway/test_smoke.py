from tests import factories as f


def test_lifecycle_through_the_api(client, records_auth, kiosk_auth):
    assert client.put("/api/v1/departments/RIGHTS", json=f.department(),
                      headers=records_auth).status_code == 201
    assert client.put("/api/v1/agencies/MOI", json=f.agency(),
                      headers=records_auth).status_code == 201
    assert client.put("/api/v1/employees/E1", json=f.employee(),
                      headers=records_auth).status_code == 201
    r = client.post("/api/v1/events", json=f.registered(), headers=records_auth)
    assert r.status_code == 201, r.json
    for body in (
        f.event("referred", "4471234", "2026-11-23T10:00:00+03:00", department="RIGHTS"),
        f.event("assigned", "4471234", "2026-11-23T11:00:00+03:00", employee="E1"),
        f.event("issued", "4471234", "2026-11-23T12:00:00+03:00", outgoing_number="98765",
                destination_agency="MOI", reply_expected=True),
    ):
        r = client.post("/api/v1/events", json=body, headers=records_auth)
        assert r.status_code == 201, r.json
    r = client.post("/api/v1/inquiries", json={"number": "٤٤٧١٢٣٤",
                    "national_id": f.NATIONAL_ID, "lang": "en"}, headers=kiosk_auth)
    assert r.status_code == 200
    print(r.json)
    assert r.json["found"] is True
    assert r.json["transaction"]["status"] == "issued"
