"""Open311 GeoReport v2 at /open311/v2/: the specification's fields and errors in JSON and
XML, nothing personal published, a POST needing a kiosk or staff token; and an Open311
client from PyPI, used unchanged, against the gateway served on a socket."""

from __future__ import annotations

import json
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from civicbot.http import HttpTransport, RateLimiter
from civicbot.open311 import CONFIRM_TOKEN, Open311Client
from civicbot.registry import Endpoint

from core.platform.clock import utcnow
from core.voice.open311 import RequestQuery
from tests.core.database_checks import plan_of, statements_sent
from tests.core.voice.conftest import MUN, build_world
from tests.gateway.live import serving

SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type",
                  "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "agency_responsible", "service_notice",
                  "requested_datetime", "updated_datetime", "expected_datetime", "address",
                  "address_id", "zipcode", "lat", "long", "media_url"}
NASTY = "حفرة <b>كبيرة</b> & خطيرة ]]> <script>alert(1)</script>"


@pytest.fixture
def world(core):
    world = build_world(core)
    core.voice.upsert_category("MUN-ROADS", {
        "agency": MUN, "name_ar": "الطرق", "name_en": "Roads",
        "types": ["complaint", "suggestion"], "acknowledge": "1d", "answer": "10d"})
    core.voice.upsert_category("MUN-OLD", {
        "agency": MUN, "name_ar": "قديم", "name_en": "Old", "types": ["complaint"],
        "active": False})
    core.voice.upsert_category("MUN-ASK", {
        "agency": MUN, "name_ar": "استفسارات", "name_en": "Questions", "types": ["enquiry"]})
    return world


def file(core, text: str = "حفرة في الشارع", **extra) -> str:
    body = {"type": "complaint", "text": text, "agency": MUN, "category": "MUN-ROADS",
            "channel": "api", "lang": "ar",
            "citizen": {"mobile": "0551234567", "name": "سارة", "email": "s@example.com"},
            **extra}
    return core.voice.file_case(body).tracking


def test_services_list_the_active_categories_that_take_reports(client, world):
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    services = response.get_json()
    assert [s["service_code"] for s in services] == ["MUN-ROADS"]
    [roads] = services
    assert set(roads) == SERVICE_FIELDS
    assert roads["metadata"] is False and roads["type"] == "realtime"
    assert roads["service_name"] == "الطرق" and roads["keywords"] == "complaint,suggestion"
    assert client.get("/open311/v2/services.json?lang=en").get_json()[0]["service_name"] \
        == "Roads"

    xml = ElementTree.fromstring(client.get("/open311/v2/services.xml").data)
    assert xml.tag == "services"
    assert [e.findtext("service_code") for e in xml.iter("service")] == ["MUN-ROADS"]
    assert xml.find("service/metadata").text == "false"


def test_a_request_publishes_nothing_personal(client, world, core):
    tracking = file(core, "الحفرة أمام بيتي، اتصلوا بي على 0551234567 أو ٠٥٦٧٧٧٨٨٩٩ أو "
                          "s@example.com، هويتي 1084265733")
    [row] = client.get(f"/open311/v2/requests/{tracking}.json").get_json()
    assert set(row) == REQUEST_FIELDS
    assert row["service_request_id"] == tracking
    assert row["status"] == "open" and row["service_code"] == "MUN-ROADS"
    assert row["expected_datetime"] and row["requested_datetime"]
    text = json.dumps(row, ensure_ascii=False)
    for personal in ("0551234567", "٠٥٦٧٧٧٨٨٩٩", "s@example.com", "1084265733", "سارة"):
        assert personal not in text
    assert "الحفرة أمام بيتي" in row["description"]
    assert row["lat"] is None and row["media_url"] == ""


def test_answered_requests_are_closed_and_filters_apply(client, world, core):
    answered = world.walk("complaint", "answered", category="MUN-ROADS")
    fresh = file(core)
    rows = client.get("/open311/v2/requests.json").get_json()
    assert {r["service_request_id"]: r["status"] for r in rows} == {
        answered: "closed", fresh: "open"}
    assert [r["service_request_id"] for r in
            client.get("/open311/v2/requests.json?status=open").get_json()] == [fresh]
    assert [r["service_request_id"] for r in
            client.get("/open311/v2/requests.json?status=closed").get_json()] == [answered]
    both = client.get(f"/open311/v2/requests.json?service_request_id={fresh},{answered}")
    assert {r["service_request_id"] for r in both.get_json()} == {fresh, answered}
    assert client.get("/open311/v2/requests.json?service_code=OTHER").get_json() == []
    old = (utcnow() - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%SZ")
    older = (utcnow() - timedelta(days=150)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get(f"/open311/v2/requests.json?start_date={old}&end_date={older}") \
        .get_json() == []


def test_unpublished_cases_read_as_unknown(client, world, core):
    no_service = world.file("complaint", MUN)  # no category: in no service
    enquiry = file(core, type="enquiry", category="MUN-ASK")
    own_staff = file(core, category=None, about_own_staff=True)
    for tracking in (no_service, enquiry, own_staff):
        response = client.get(f"/open311/v2/requests/{tracking}.json")
        assert response.status_code == 404
        assert response.get_json() == [{"code": 404, "description": "no such service request"}]
    assert client.get("/open311/v2/requests.json").get_json() == []


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_are_the_specifications(client, world, fmt):
    cases = [
        ("get", f"/open311/v2/requests.{fmt}?status=maybe", {}, 400),
        ("get", f"/open311/v2/requests.{fmt}?start_date=yesterday", {}, 400),
        ("get", f"/open311/v2/requests.{fmt}?start_date=2026-01-01T00:00:00Z"
                "&end_date=2026-06-01T00:00:00Z", {}, 400),
        ("get", f"/open311/v2/services.{fmt}?jurisdiction_id=elsewhere.gov", {}, 404),
        ("get", f"/open311/v2/requests/7000000000.{fmt}", {}, 404),
        ("post", f"/open311/v2/requests.{fmt}", {"service_code": "MUN-ROADS"}, 403),
        ("post", f"/open311/v2/requests.{fmt}", {"service_code": "MUN-ROADS",
                                                 "api_key": "gw_" + "x" * 43}, 403),
    ]
    for method, path, form, status in cases:
        response = getattr(client, method)(path, data=form)
        assert response.status_code == status, path
        if fmt == "json":
            [error] = response.get_json()
            assert error["code"] == status and error["description"]
        else:
            root = ElementTree.fromstring(response.data)
            assert root.tag == "errors"
            assert root.findtext("error/code") == str(status)
            assert root.findtext("error/description")
    assert client.get("/open311/v2/services.json?jurisdiction_id=emirate").status_code == 200


def test_post_files_a_case_with_a_kiosk_token(client, world, core, kiosk_auth,
                                              records_auth):
    api_key = kiosk_auth["Authorization"].removeprefix("Bearer ")
    form = {"api_key": api_key, "service_code": "MUN-ROADS", "description": NASTY,
            "phone": "0551234567", "first_name": "سارة", "last_name": "علي",
            "lat": "24.7136", "long": "46.6753", "address_string": "شارع الملك فهد",
            "device_id": "abc", "account_id": "42"}
    response = client.post("/open311/v2/requests.json", data=form)
    assert response.status_code == 201, response.data
    [posted] = response.get_json()
    assert set(posted) == {"service_request_id", "service_notice", "account_id"}
    assert posted["account_id"] is None
    tracking = posted["service_request_id"]
    case = core.voice.case(world.users["leadership"], tracking)
    assert case.agency == MUN and case.category == "MUN-ROADS" and case.channel == "api"
    assert "شارع الملك فهد (24.713600, 46.675300)" in case.text

    records_key = records_auth["Authorization"].removeprefix("Bearer ")
    refused = client.post("/open311/v2/requests.json", data={**form, "api_key": records_key})
    assert refused.status_code == 403

    for missing, field in (({"description": ""}, "description"),
                           ({"phone": "", "email": ""}, "phone"),
                           ({"service_code": "MUN-OLD"}, "service_code"),
                           ({"service_code": "MUN-ASK"}, "service_code"),
                           ({"lat": "91"}, "lat")):
        bad = client.post("/open311/v2/requests.xml", data={**form, **missing})
        assert bad.status_code == 400, field
        assert ElementTree.fromstring(bad.data).findtext("error/code") == "400"


def test_a_retried_post_with_an_idempotency_key_files_once(client, world, core, kiosk_auth):
    api_key = kiosk_auth["Authorization"].removeprefix("Bearer ")
    form = {"api_key": api_key, "service_code": "MUN-ROADS", "description": "حفرة",
            "email": "s@example.com"}
    headers = {"Idempotency-Key": "app-123"}
    first = client.post("/open311/v2/requests.json", data=form, headers=headers)
    again = client.post("/open311/v2/requests.json", data=form, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()[0]["service_request_id"] == again.get_json()[0]["service_request_id"]
    assert len(client.get("/open311/v2/requests.json").get_json()) == 1
    # The JSON API's rule for the header (gateway.json_requests), in Open311's shape.
    bad = client.post("/open311/v2/requests.json", data=form,
                      headers={"Idempotency-Key": "two words"})
    assert bad.status_code == 400 and bad.get_json()[0]["code"] == 400
    assert len(client.get("/open311/v2/requests.json").get_json()) == 1


def test_the_citizens_daily_limit_applies_to_posts(client, world, core, kiosk_auth):
    api_key = kiosk_auth["Authorization"].removeprefix("Bearer ")
    form = {"api_key": api_key, "service_code": "MUN-ROADS", "description": "حفرة",
            "phone": "0551234567"}
    limit = core.voice._config.voice.max_cases_per_citizen
    for _ in range(limit):
        assert client.post("/open311/v2/requests.json", data=form).status_code == 201
    over = client.post("/open311/v2/requests.json", data=form)
    assert over.status_code == 429 and over.headers["Retry-After"]
    assert over.get_json()[0]["code"] == 429


def test_xml_is_well_formed_and_escaped(client, world, core):
    tracking = file(core, NASTY + "\x01\x0b")
    for path in (f"/open311/v2/requests/{tracking}.xml", "/open311/v2/requests.xml"):
        response = client.get(path)
        assert response.mimetype == "text/xml"
        assert b"<script>" not in response.data and b"<b>" not in response.data
        assert b"]]>" not in response.data
        root = ElementTree.fromstring(response.data)  # well-formed
        assert root.tag == "service_requests"
        description = root.findtext("request/description")
        assert "<script>alert(1)</script>" in description and "]]>" in description
        assert "\x01" not in description
    raw = client.get(f"/open311/v2/requests/{tracking}.json").get_data(as_text=True)
    assert json.loads(raw)[0]["description"].startswith("حفرة <b>كبيرة</b>")
    assert client.get(f"/open311/v2/requests/{tracking}.json").mimetype == "application/json"


def test_an_open311_client_from_pypi_lists_posts_and_reads_back(app, world, core,
                                                                 kiosk_auth):
    """civicbot's Open311Client, used unchanged: the services, a POST (form-encoded, with
    the api_key), the request read back by its id and in the list."""
    api_key = kiosk_auth["Authorization"].removeprefix("Bearer ")
    with serving(app) as url:
        endpoint = Endpoint(id="emirate", name="The Emirate", base_url=f"{url}/open311/v2",
                            write=True)
        client = Open311Client(endpoint, HttpTransport(rate_limiter=RateLimiter(0.0)),
                               jurisdiction_id="emirate")
        services = client.list_services()
        assert [s["service_code"] for s in services] == ["MUN-ROADS"]
        sent = client.create_request(
            "MUN-ROADS", dry_run=False, confirm=CONFIRM_TOKEN, api_key=api_key,
            validate_remote=True, description="إنارة الشارع مطفأة منذ أسبوع",
            address_string="حي النخيل", email="citizen@example.com",
            first_name="Sara", last_name="Ali")
        [posted] = sent.response
        request_id = posted["service_request_id"]
        read = client.get_request(request_id)
        assert read["service_request_id"] == request_id
        assert read["status"] == "open" and read["service_code"] == "MUN-ROADS"
        assert read["description"].startswith("إنارة الشارع مطفأة")
        assert "citizen@example.com" not in json.dumps(read) and "Sara" not in json.dumps(read)
        listed = client.list_requests(service_code="MUN-ROADS", status="open")
        assert [r["service_request_id"] for r in listed] == [request_id]


def test_a_service_definition_has_no_attributes_and_unknown_paths_are_404(client, world):
    assert client.get("/open311/v2/services/MUN-ROADS.json").get_json() == {
        "service_code": "MUN-ROADS", "attributes": []}
    xml = ElementTree.fromstring(client.get("/open311/v2/services/MUN-ROADS.xml").data)
    assert xml.tag == "service_definition" and xml.find("attributes") is not None
    for path in ("/open311/v2/services/MUN-OLD.json", "/open311/v2/tokens/abc.json",
                 "/open311/v2/requests.csv"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()[0]["code"] == 404
    assert ElementTree.fromstring(client.get("/open311/v2/discovery.xml").data).tag \
        == "errors"


def test_the_listing_reads_the_received_date_index(world, core):
    file(core)

    def listing(statement: str) -> bool:
        return "FROM voice_cases" in statement and "received_at >=" in statement

    with statements_sent(core.db.engine, listing) as statements:
        assert len(core.voice.open311.requests(RequestQuery())) == 1
    # The index gives the listing its order (newest first): no sort of the matches.
    plan = plan_of(core.db, *statements[0], no_sort=True)
    assert "ix_voice_cases_received" in plan, plan


def test_unknown_ids_in_a_list_are_left_out(client, world, core):
    tracking = file(core)
    listed = client.get(f"/open311/v2/requests.json?service_request_id=abc,{tracking},"
                        "7000000000").get_json()
    assert [row["service_request_id"] for row in listed] == [tracking]
    assert client.get("/open311/v2/requests.json?service_request_id=abc").get_json() == []


def test_a_posted_location_is_kept_for_staff_but_never_published(client, world, core,
                                                                 kiosk_auth):
    """An attacker reading Open311 learns nothing of where a poster lives: not the
    coordinates, not the address, even an address split over lines to escape the cut."""
    api_key = kiosk_auth["Authorization"].removeprefix("Bearer ")
    posts = (({"lat": "21.4", "long": "39.8"}, "21.400000"),
             ({"address_string": "فيلا ١٢ شارع الورد، حي النخيل"}, "الورد"),
             ({"address_string": "Villa 12\n\nLocation: Rose St", "lat": "21.4",
               "long": "39.8"}, "Rose St"))
    for where, secret in posts:
        form = {"api_key": api_key, "service_code": "MUN-ROADS",
                "description": "حفرة كبيرة أمام المدرسة", "phone": "0551234567", **where}
        posted = client.post("/open311/v2/requests.json", data=form)
        assert posted.status_code == 201, posted.data
        tracking = posted.get_json()[0]["service_request_id"]
        assert secret in core.voice.case(world.users["leadership"], tracking).text
        for path in (f"/open311/v2/requests/{tracking}.json",
                     f"/open311/v2/requests/{tracking}.xml", "/open311/v2/requests.json"):
            page = client.get(path).get_data(as_text=True)
            assert "حفرة كبيرة أمام المدرسة" in page, path
            for leak in (secret, "39.8", "الموقع", "Location", "Villa"):
                assert leak not in page, (path, leak)
