"""The JSON API: tokens and roles, bad input of every kind (never a 500), upserts, inquiries."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core.access.tokens import TokenVerifier, create_token, revoke_token
from core.directory.models import Agency, Department, Employee
from core.transactions.models import InquiryLog, Transaction
from gateway.app import create_app
from gateway.bootstrap import build_core
from tests import factories as f
from tests.conftest import make_settings

EVENTS = "/api/v1/events"
INQUIRIES = "/api/v1/inquiries"
NUMBER = "4471234"
REGISTERED_AT = "2025-11-23T09:15:00+03:00"

# Every API route with the method it takes and the role it needs.
ROUTES = [
    ("POST", EVENTS, "records"),
    ("PUT", "/api/v1/departments/RIGHTS", "records"),
    ("PUT", "/api/v1/employees/E1", "records"),
    ("PUT", "/api/v1/agencies/MOI", "records"),
    ("POST", INQUIRIES, "kiosk"),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error


def count(core, model) -> int:
    with core.db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def registered(core):
    """The reference data and one registered transaction, referred to a department."""
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    core.record_event(f.registered(NUMBER, REGISTERED_AT))
    core.record_event(f.event("referred", NUMBER, "2025-11-23T10:00:00+03:00",
                              department="RIGHTS"))
    return core


# --- tokens and roles ----------------------------------------------------------------------


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token gw_abc", "Bearer gw_unknown",
    "Bearer " + "x" * 300,
], ids=["missing", "empty", "scheme-only", "blank-token", "basic", "other-scheme", "unknown",
        "too-long"])
@pytest.mark.parametrize(("method", "path", "role"), ROUTES, ids=ROUTE_IDS)
def test_a_route_without_a_valid_token_is_401(client, method, path, role, header):
    headers = {"Authorization": header} if header is not None else {}

    response = client.open(path, method=method, json={}, headers=headers)

    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_401(core, client):
    token = create_token(core.db.write, "records", "old-records-system")
    assert revoke_token(core.db.write, "old-records-system") == 1

    assert_error(client.post(EVENTS, json={}, headers=bearer(token)), 401, "unauthorized")


def test_a_token_revoked_after_use_stops_working_when_its_cache_entry_expires(core, client):
    core.tokens = TokenVerifier(core.db.read, ttl=0)
    token = create_token(core.db.write, "kiosk", "kiosk-3")
    assert client.post(INQUIRIES, json={"number": NUMBER, "national_id": f.NATIONAL_ID},
                       headers=bearer(token)).status_code == 200

    revoke_token(core.db.write, "kiosk-3")

    assert_error(client.post(INQUIRIES, json={"number": NUMBER, "national_id": f.NATIONAL_ID},
                             headers=bearer(token)), 401, "unauthorized")


def test_the_bearer_scheme_is_case_insensitive(core, client):
    token = create_token(core.db.write, "kiosk", "kiosk-1")

    response = client.post(INQUIRIES, json={"number": NUMBER, "national_id": f.NATIONAL_ID},
                           headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200


@pytest.mark.parametrize("role", ["kiosk", "staff"])
def test_events_refuse_a_token_of_another_role(core, client, role):
    token = create_token(core.db.write, role, f"{role}-1")

    error = assert_error(client.post(EVENTS, json=f.registered(NUMBER, REGISTERED_AT),
                                     headers=bearer(token)), 403, "forbidden")

    assert "records" in error["message"]
    assert count(core, Transaction) == 0


@pytest.mark.parametrize("path", ["/api/v1/departments/RIGHTS", "/api/v1/employees/E1",
                                  "/api/v1/agencies/MOI"])
def test_reference_data_refuses_a_kiosk_token(client, kiosk_auth, path):
    assert_error(client.put(path, json=f.agency(), headers=kiosk_auth), 403, "forbidden")


def test_inquiries_refuse_a_records_token(client, records_auth):
    error = assert_error(client.post(INQUIRIES, json={"number": NUMBER,
                                                      "national_id": f.NATIONAL_ID},
                                     headers=records_auth), 403, "forbidden")

    assert "kiosk" in error["message"] and "staff" in error["message"]


def test_the_role_is_checked_before_the_body_is_read(client, kiosk_auth):
    assert_error(client.post(EVENTS, data="{not json", content_type="application/json",
                             headers=kiosk_auth), 403, "forbidden")


# --- bad requests --------------------------------------------------------------------------


def auth_for(role: str, records_auth, kiosk_auth) -> dict[str, str]:
    return records_auth if role == "records" else kiosk_auth


@pytest.mark.parametrize(("data", "content_type"), [
    ('{"event_id": ', "application/json"),
    ("{'single': 'quotes'}", "application/json"),
    ("", "application/json"),
    ("[]", "application/json"),
    ('["registered"]', "application/json"),
    ('"registered"', "application/json"),
    ("null", "application/json"),
    ("42", "application/json"),
    ("true", "application/json"),
    ('{"number": "4471234"}', "text/plain"),
    ("number=4471234", "application/x-www-form-urlencoded"),
    ('{"number": "4471234"}', None),
], ids=["truncated", "single-quotes", "empty", "empty-list", "list", "string", "null",
        "number", "true", "text-plain", "form", "no-content-type"])
@pytest.mark.parametrize(("method", "path", "role"), ROUTES, ids=ROUTE_IDS)
def test_a_body_that_is_not_a_json_object_is_422(client, records_auth, kiosk_auth, method,
                                                 path, role, data, content_type):
    response = client.open(path, method=method, data=data, content_type=content_type,
                           headers=auth_for(role, records_auth, kiosk_auth))

    assert_error(response, 422, "malformed")


@pytest.mark.parametrize(("method", "path", "role"), ROUTES, ids=ROUTE_IDS)
def test_a_body_over_the_limit_is_413_in_json(core, client, records_auth, kiosk_auth,
                                              method, path, role):
    body = f.registered(NUMBER, REGISTERED_AT)
    body["transaction"]["subject"] = "ط" * 40_000  # 80 kB in UTF-8, over the 64 kB limit

    response = client.open(path, method=method, data=json.dumps(body, ensure_ascii=False),
                           content_type="application/json",
                           headers=auth_for(role, records_auth, kiosk_auth))

    assert_error(response, 413, "request_entity_too_large")
    assert count(core, Transaction) == 0


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/nothing-here"),
    ("POST", "/api/v2/events"),
    ("GET", "/api/"),
    ("PUT", "/api/v1/departments/"),
    ("PUT", "/api/v1/departments/a/b"),
])
def test_an_unknown_api_route_is_404_in_json(client, records_auth, method, path):
    assert_error(client.open(path, method=method, headers=records_auth), 404, "not_found")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", EVENTS, "POST"),
    ("PUT", EVENTS, "POST"),
    ("GET", INQUIRIES, "POST"),
    ("DELETE", "/api/v1/departments/RIGHTS", "PUT"),
    ("POST", "/api/v1/agencies/MOI", "PUT"),
])
def test_a_wrong_method_is_405_in_json_with_the_allowed_methods(client, records_auth, method,
                                                                 path, allowed):
    response = client.open(path, method=method, headers=records_auth)

    assert_error(response, 405, "method_not_allowed")
    assert allowed in response.headers["Allow"]


# Odd bodies from a careless or hostile client: each must get a 4xx (or a 2xx), never a 500.
ODD_BODIES = {
    "deep-list": "[" * 30_000 + "]" * 30_000,
    "deep-object": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "lone-surrogate-value": '{"event_id": "\\ud800", "number": "\\udfff"}',
    "lone-surrogate-key": '{"\\ud800": 1}',
    "lone-surrogate-credential": '{"number": "4471234", "national_id": "\\ud800"}',
    "nul-everywhere": json.dumps({k: "a\u0000" for k in (
        "event_id", "type", "number", "national_id", "lang", "name", "name_ar", "name_en",
        "mobile", "department")}),
    "infinity": '{"number": 1e999, "national_id": Infinity, "reply_days": -Infinity}',
    "nan": '{"number": NaN, "national_id": NaN, "reply_days": NaN}',
    "huge-integer": '{"number": 123456789012345678901234567890, "reply_days": 1' + "0" * 400
                    + "}",
    "too-many-digits": '{"number": 1' + "0" * 5000 + "}",
    "duplicate-keys": '{"type": "registered", "type": "closed"}',
    "byte-order-mark": '\ufeff{"number": "4471234"}',
    "invalid-utf8": b'{"number": "\xff\xfe"}',
    "wrong-types": json.dumps({"event_id": 1, "type": ["registered"], "occurred_at": {},
                               "transaction": "4471234", "number": [], "national_id": {},
                               "name_ar": 5, "name_en": None, "name": True,
                               "manager": [], "reply_days": "10", "department": 7}),
    "operator-injection": json.dumps({"type": {"$ne": None}, "number": {"$gt": ""},
                                      "national_id": "' OR 1=1 --", "name_ar": "'; DROP"}),
    "long-strings": json.dumps({k: "٩" * 20_000 for k in ("number", "national_id", "name_ar")}),
}

def _referral(**changes) -> dict:
    body = f.event("referred", NUMBER, "2025-11-23T11:00:00+03:00", department="RIGHTS")
    return {**body, **changes}


def _registration(**changes) -> dict:
    body = f.registered("5550001", REGISTERED_AT)
    body["transaction"].update(changes)
    return body


# Events that look nearly right: each must be refused with a 4xx and change nothing.
ODD_EVENTS = {
    "before-year-one": _referral(occurred_at="0001-01-01T00:00:00+03:00"),
    "after-year-9999": _referral(occurred_at="9999-12-31T23:59:59-14:00"),
    "impossible-date": _referral(occurred_at="2025-13-45T99:99:99+03:00"),
    "offset-too-large": _referral(occurred_at="2025-11-23T09:15:00+25:00"),
    "unix-time": _referral(occurred_at=1763878500),
    "department-nul": _referral(department="RIGHTS\u0000"),
    "department-too-long": _referral(department="D" * 65),
    "department-empty": _referral(department=""),
    "type-very-long": _referral(type="x" * 1000),
    "agency-lone-surrogate": _referral(type="issued", department=None, outgoing_number="1",
                                       destination_agency="\ud800"),
    "number-negative": _registration(number=-5550001),
    "number-float": _registration(number=5550001.0),
    "number-bool": _registration(number=True),
    "subject-nul": _registration(subject="طلب\u0000إفادة"),
    "email-nul": _registration(applicant={"name": "محمد", "email": "a\u0000@example.com"}),
}


@pytest.mark.parametrize("body", ODD_BODIES.values(), ids=ODD_BODIES.keys())
@pytest.mark.parametrize(("method", "path", "role"), ROUTES, ids=ROUTE_IDS)
def test_odd_bodies_never_cause_a_server_error(registered, client, records_auth, kiosk_auth,
                                               method, path, role, body):
    response = client.open(path, method=method, data=body, content_type="application/json",
                           headers=auth_for(role, records_auth, kiosk_auth))

    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json
    if response.status_code >= 400:
        assert response.get_json()["error"]["code"]


@pytest.mark.parametrize("body", ODD_EVENTS.values(), ids=ODD_EVENTS.keys())
def test_odd_events_are_refused_with_a_4xx(registered, client, records_auth, body):
    response = client.post(EVENTS, data=json.dumps(body), content_type="application/json",
                           headers=records_auth)

    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"]
    with registered.db.read() as session:
        assert session.scalar(select(Transaction.status).where(Transaction.number == NUMBER)) \
            == "referred"
    assert count(registered, Transaction) == 1


# --- events through the API ----------------------------------------------------------------


def test_an_applied_event_is_201_with_its_outcome(registered, client, records_auth):
    body = f.event("issued", NUMBER, "2025-11-23T12:00:00+03:00", outgoing_number="98765",
                   destination_agency="MOI", reply_expected=True)

    response = client.post(EVENTS, json=body, headers=records_auth)

    assert response.status_code == 201
    assert response.get_json() == {"event_id": body["event_id"], "transaction": NUMBER,
                                   "status": "issued", "duplicate": False, "notifications": 1}


def test_a_repeated_event_is_200_and_marked_duplicate(registered, client, records_auth):
    body = f.event("closed", NUMBER, "2025-11-23T12:00:00+03:00")
    assert client.post(EVENTS, json=body, headers=records_auth).status_code == 201

    response = client.post(EVENTS, json=body, headers=records_auth)

    assert response.status_code == 200
    assert response.get_json() == {"event_id": body["event_id"], "transaction": NUMBER,
                                   "status": "closed", "duplicate": True, "notifications": 0}


# --- reference data upserts ----------------------------------------------------------------


@pytest.mark.parametrize(("path", "model", "first", "second", "read"), [
    ("/api/v1/departments/LANDS", Department, f.department(),
     f.department(name_en="Rights Affairs", reply_days=15, manager=None),
     lambda row: (row.name_en, row.reply_days, row.manager_name)),
    ("/api/v1/agencies/MOI", Agency, f.agency(), f.agency(name_ar="وزارة الداخلية - الوكالة"),
     lambda row: (row.name_ar,)),
    ("/api/v1/employees/E1", Employee, f.employee(), f.employee(mobile="+966 54 999 8877"),
     lambda row: (row.mobile,)),
], ids=["department", "agency", "employee"])
def test_an_upsert_creates_201_then_updates_200(core, client, records_auth, path, model, first,
                                                second, read):
    core.upsert_department("RIGHTS", f.department())  # the employee's department
    code = path.rsplit("/", 1)[1]

    created = client.put(path, json=first, headers=records_auth)
    updated = client.put(path, json=second, headers=records_auth)

    assert (created.status_code, created.get_json()) == (201, {"code": code, "created": True})
    assert (updated.status_code, updated.get_json()) == (200, {"code": code, "created": False})
    with core.db.read() as session:
        rows = session.scalars(select(model).where(model.code == code)).all()
    assert len(rows) == 1
    assert read(rows[0]) == {
        Department: ("Rights Affairs", 15, None), Agency: ("وزارة الداخلية - الوكالة",),
        Employee: ("+966549998877",)}[model]


def test_a_department_keeps_its_manager_and_reply_days(core, client, records_auth):
    client.put("/api/v1/departments/RIGHTS", json=f.department(), headers=records_auth)

    with core.db.read() as session:
        row = session.scalar(select(Department).where(Department.code == "RIGHTS"))
    assert (row.name_ar, row.name_en) == ("إدارة الحقوق", "Rights Department")
    assert (row.manager_name, row.manager_mobile, row.reply_days) == (
        "سعد الفهد", "+966501112233", 10)


@pytest.mark.parametrize("code", [
    "bad%20code", "-lead", ".dot", "x" * 65, "RIGHTS%0A", "%D8%A5%D8%AF%D8%A7%D8%B1%D8%A9", "a%00",
], ids=["space", "leading-dash", "leading-dot", "too-long", "trailing-newline", "arabic", "nul"])
@pytest.mark.parametrize("kind", ["departments", "employees", "agencies"])
def test_an_invalid_code_in_the_url_is_422(core, client, records_auth, kind, code):
    body = {"departments": f.department(), "employees": f.employee(department=None),
            "agencies": f.agency()}[kind]

    error = assert_error(client.put(f"/api/v1/{kind}/{code}", json=body, headers=records_auth),
                         422, "invalid_field")

    assert error["field"] == "code"
    assert count(core, {"departments": Department, "employees": Employee,
                        "agencies": Agency}[kind]) == 0


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/departments/RIGHTS", f.department(manager={"name": "سعد", "mobile": "0112345678"}),
     "manager.mobile"),
    ("/api/v1/departments/RIGHTS", f.department(manager={"name": "سعد", "mobile": "call me"}),
     "manager.mobile"),
    ("/api/v1/employees/E1", f.employee(mobile="0112345678"), "mobile"),
    ("/api/v1/employees/E1", f.employee(mobile="12"), "mobile"),
    ("/api/v1/departments/RIGHTS", f.department(reply_days="10"), "reply_days"),
    ("/api/v1/departments/RIGHTS", f.department(reply_days=0), "reply_days"),
    ("/api/v1/departments/RIGHTS", f.department(reply_days=366), "reply_days"),
    ("/api/v1/departments/RIGHTS", {"name_en": "Rights"}, "name_ar"),
    ("/api/v1/departments/RIGHTS", f.department(name_ar=""), "name_ar"),
    ("/api/v1/agencies/MOI", f.agency(name_en="x" * 201), "name_en"),
    ("/api/v1/agencies/MOI", f.agency(code="MOI"), "code"),
    ("/api/v1/employees/E1", f.employee(department="bad code"), "department"),
    ("/api/v1/employees/E1", {"mobile": "0543334455"}, "name"),
])
def test_an_invalid_reference_body_is_422_naming_the_field(core, client, records_auth, path,
                                                           body, field):
    core.upsert_department("RIGHTS", f.department())
    before = count(core, Department) + count(core, Employee) + count(core, Agency)

    error = assert_error(client.put(path, json=body, headers=records_auth), 422, "invalid_field")

    assert error["field"] == field
    assert count(core, Department) + count(core, Employee) + count(core, Agency) == before


def test_an_employee_of_an_unknown_department_is_404(core, client, records_auth):
    error = assert_error(client.put("/api/v1/employees/E1", json=f.employee(department="NOPE"),
                                    headers=records_auth), 404, "unknown_department")

    assert error["field"] == "department"
    assert count(core, Employee) == 0


# --- inquiries through the API -------------------------------------------------------------


def test_the_applicant_gets_the_status_with_dates_and_timeline(registered, client, kiosk_auth):
    response = client.post(INQUIRIES, json={"number": "٤٤٧١٢٣٤", "national_id": f.NATIONAL_ID,
                                            "lang": "ar"}, headers=kiosk_auth)

    assert response.status_code == 200
    body = response.get_json()
    assert body["found"] is True
    assert NUMBER in body["text"] and "إدارة الحقوق" in body["text"]
    txn = body["transaction"]
    assert (txn["number"], txn["status"], txn["department"]) == (NUMBER, "referred",
                                                                  "إدارة الحقوق")
    assert txn["registered"] == {"at": "2025-11-23T06:15:00+00:00", "date": "2025-11-23",
                                 "display": "1447/06/02هـ (2025/11/23م)"}
    assert [stage["stage"] for stage in txn["timeline"]] == ["registered", "referred"]
    assert txn["issued"] is None and txn["outgoing_number"] is None


def test_the_answer_is_in_english_when_asked(registered, client, staff_auth):
    body = client.post(INQUIRIES, json={"number": NUMBER, "national_id": f.NATIONAL_ID,
                                        "lang": "en"}, headers=staff_auth).get_json()

    assert body["transaction"]["department"] == "Rights Department"
    assert body["transaction"]["status_text"] == "Referred to Rights Department"
    assert body["transaction"]["registered"]["display"] == (
        "2 Jumada al-Akhirah 1447 AH (23 Nov 2025)")


MISTYPED_ID = f.NATIONAL_ID[:9] + str((int(f.NATIONAL_ID[9]) + 1) % 10)


@pytest.mark.parametrize(("national_id", "text"), [
    (f.OTHER_NATIONAL_ID, "لا توجد معاملة بهذه البيانات، يرجى التحقق من الرقم والمحاولة مرة أخرى."),
    (MISTYPED_ID, "رقم الهوية الوطنية أو الإقامة غير صحيح، يُرجى التحقق منه."),
], ids=["another-id", "mistyped-id"])
def test_not_yours_and_no_such_number_are_byte_for_byte_the_same(registered, client,
                                                                  kiosk_auth, national_id,
                                                                  text):
    not_yours = client.post(INQUIRIES, json={"number": NUMBER, "national_id": national_id},
                            headers=kiosk_auth)
    no_such = client.post(INQUIRIES, json={"number": "7654321", "national_id": national_id},
                          headers=kiosk_auth)

    assert not_yours.status_code == no_such.status_code == 200
    assert not_yours.data == no_such.data
    assert not_yours.headers["Content-Length"] == no_such.headers["Content-Length"]
    assert not_yours.get_json() == {"found": False, "text": text}


@pytest.mark.parametrize(("number", "lang", "text"), [
    ("7654321", "en", "No transaction was found for these details. Check the number and "
                      "try again."),
    ("رقم", "ar", "أدخل رقم المعاملة كما هو مدون في الإيصال."),
], ids=["not-found-en", "invalid-ar"])
def test_an_answer_without_a_transaction_is_the_same_bytes_every_time(
        registered, client, kiosk_auth, number, lang, text):
    # Encoded once per app (gateway/api.py): the first answer, encoded afresh, and the
    # ones after it are the same, body and headers.
    answers = [client.post(INQUIRIES, json={"number": number, "national_id": national_id,
                                            "lang": lang}, headers=kiosk_auth)
               for national_id in (f.OTHER_NATIONAL_ID, f.NATIONAL_ID, f.OTHER_NATIONAL_ID)]

    assert {(a.status_code, a.data, a.headers["Content-Type"], a.headers["Content-Length"])
            for a in answers} == {(200, answers[0].data, "application/json",
                                   str(len(answers[0].data)))}
    assert json.loads(answers[0].data) == {"found": False, "text": text}


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"national_id": f.NATIONAL_ID}, "missing_field", "number"),
    ({"number": "", "national_id": f.NATIONAL_ID}, "missing_field", "number"),
    ({"number": NUMBER}, "missing_field", "national_id"),
    ({"number": 4471234, "national_id": f.NATIONAL_ID}, "invalid_field", "number"),
    ({"number": NUMBER, "national_id": 1012345678}, "invalid_field", "national_id"),
    ({"number": NUMBER, "national_id": f.NATIONAL_ID, "lang": ["ar"]}, "invalid_field", "lang"),
])
def test_an_inquiry_without_its_fields_is_422(registered, client, kiosk_auth, body, code, field):
    error = assert_error(client.post(INQUIRIES, json=body, headers=kiosk_auth), 422, code)

    assert error["field"] == field


def test_the_inquiry_is_logged_by_channel_kiosk_or_api(registered, client, kiosk_auth,
                                                       staff_auth):
    for auth in (kiosk_auth, staff_auth):
        client.post(INQUIRIES, json={"number": NUMBER, "national_id": f.NATIONAL_ID},
                    headers=auth)

    registered.inquiry_log.flush()
    with registered.db.read() as session:
        rows = session.execute(select(InquiryLog.channel, InquiryLog.outcome)
                               .order_by(InquiryLog.id)).all()
    assert [tuple(row) for row in rows] == [("kiosk", "found"), ("api", "found")]


@pytest.fixture
def strict_client(registered, database_url, tmp_path):
    """An app allowing 3 failed inquiries per requester and per origin."""
    settings = make_settings(database_url, tmp_path, inquiry={"max_failures": 3})
    strict = build_core(settings, background_log=False)
    app = create_app(settings, strict)
    app.config.update(TESTING=True)
    yield app.test_client()
    strict.close()


def test_too_many_failed_inquiries_are_429(strict_client, kiosk_auth):
    for _ in range(3):
        assert strict_client.post(INQUIRIES, json={"number": "7654321",
                                                   "national_id": f.NATIONAL_ID},
                                  headers=kiosk_auth).status_code == 200

    response = strict_client.post(INQUIRIES, json={"number": NUMBER,
                                                   "national_id": f.NATIONAL_ID},
                                  headers=kiosk_auth)

    assert response.status_code == 429
    body = response.get_json()
    assert (body["found"], body["error"]["code"]) == (False, "rate_limited")
    assert body["text"] and "transaction" not in body


def test_a_shared_kiosk_is_not_locked_by_other_citizens_failures(strict_client, kiosk_auth):
    # Citizens who mistype their own numbers (not all the same one: a number that draws
    # failures from everyone is locked for a while, see test_inquiry).
    for k, someone in enumerate(("1000000008", "1000000016", "1000000024")):
        for attempt in range(3):
            strict_client.post(INQUIRIES, json={"number": f"55{k}{attempt}001",
                                                "national_id": someone}, headers=kiosk_auth)

    next_citizen = strict_client.post(INQUIRIES, json={"number": NUMBER,
                                                       "national_id": f.NATIONAL_ID},
                                      headers=kiosk_auth)

    assert next_citizen.status_code == 200 and next_citizen.get_json()["found"] is True


def test_the_contracts_own_example_registers_and_is_answered(client, records_auth,
                                                            kiosk_auth):
    # CONTRACT.md's example body, as an integrator copies it: its national ID's check
    # digit does not add up, and the records system is still the authority on it.
    event = {"event_id": "rec-000123-1", "type": "registered",
             "occurred_at": "2026-11-23T09:15:00+03:00",
             "transaction": {"number": "4471234", "subject": "...", "applicant": {
                 "name": "...", "national_id": "1012345678", "mobile": "0551234567",
                 "email": "a@example.com"}}}
    assert client.post(EVENTS, json=event, headers=records_auth).status_code == 201

    answer = client.post(INQUIRIES, headers=kiosk_auth, json={
        "number": "٤٤٧١٢٣٤", "national_id": "1012345678", "lang": "ar"}).get_json()
    assert answer["found"] is True
    assert answer["transaction"]["number"] == "4471234"


def test_a_mistyped_national_id_is_told_to_be_checked(registered, client, kiosk_auth):
    answer = client.post(INQUIRIES, json={"number": NUMBER, "national_id": MISTYPED_ID,
                                          "lang": "ar"}, headers=kiosk_auth).get_json()

    assert answer == {"found": False,
                      "text": "رقم الهوية الوطنية أو الإقامة غير صحيح، يُرجى التحقق منه."}
