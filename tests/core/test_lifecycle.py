"""Lifecycle events: their effects, their rejections, idempotency and the outbox.

Every behaviour runs twice, through ``Core.record_event`` and through
``POST /api/v1/events`` (the ``send`` fixture), so the core and the HTTP contract
cannot drift apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.identity.national_id import hash_national_id
from core.messaging import outbox
from core.messaging.models import Notification
from core.platform.errors import Conflict, CoreError, InvalidRequest, NotFound
from core.schema import Base
from core.transactions import lifecycle
from core.transactions.inquiry import InquiryRequest
from core.transactions.models import Transaction, TransactionEvent
from tests import factories as f
from tests.conftest import NATIONAL_ID_KEY

NUMBER = "4471234"
# A registration day whose Hijri date is known: 2 Jumada al-Akhirah 1447.
DAY = "2025-11-23"
HIJRI_AR, GREGORIAN_AR = "1447/06/02هـ", "(2025/11/23م)"
DATE_EN = "2 Jumada al-Akhirah 1447 AH (23 Nov 2025)"
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def at(hour: int, minute: int = 0) -> str:
    return f"{DAY}T{hour:02d}:{minute:02d}:00+03:00"


def registered(number: str = NUMBER, when: str | None = None, **applicant) -> dict:
    return f.registered(number, when or at(9, 15), **applicant)


def referred(department: str = "RIGHTS", when: str | None = None, **extra) -> dict:
    return f.event("referred", extra.pop("number", NUMBER), when or at(10),
                   department=department, **extra)


def assigned(employee: str = "E1", when: str | None = None, **extra) -> dict:
    return f.event("assigned", extra.pop("number", NUMBER), when or at(11), employee=employee,
                   **extra)


def issued(agency: str = "MOI", when: str | None = None, **extra) -> dict:
    extra.setdefault("outgoing_number", "98765")
    extra.setdefault("reply_expected", True)
    return f.event("issued", extra.pop("number", NUMBER), when or at(12),
                   destination_agency=agency, **extra)


def reply_received(when: str | None = None, **extra) -> dict:
    return f.event("reply_received", extra.pop("number", NUMBER), when or at(13), **extra)


def closed(when: str | None = None, **extra) -> dict:
    return f.event("closed", extra.pop("number", NUMBER), when or at(14), **extra)


# --- sending an event through the core or through the API --------------------------

# The contract's mapping of core errors to HTTP statuses.
HTTP_STATUS = {InvalidRequest: 422, NotFound: 404, Conflict: 409}


@dataclass(frozen=True)
class Reply:
    """The result of one event, shaped like the API's answer on both paths."""

    status: int
    body: dict[str, Any]

    @property
    def code(self) -> str | None:
        return (self.body.get("error") or {}).get("code")

    @property
    def field(self) -> str | None:
        return (self.body.get("error") or {}).get("field")


@pytest.fixture(params=["core", "api"])
def send(request, core):
    if request.param == "core":
        def via_core(payload: Any) -> Reply:
            try:
                outcome = core.record_event(payload)
            except CoreError as exc:
                status = next(code for kind, code in HTTP_STATUS.items() if isinstance(exc, kind))
                return Reply(status, {"error": {"code": exc.code, "field": exc.field}})
            return Reply(200 if outcome.duplicate else 201, {
                "transaction": outcome.number, "status": outcome.status,
                "duplicate": outcome.duplicate, "notifications": outcome.notifications})
        return via_core

    client = request.getfixturevalue("client")
    auth = request.getfixturevalue("records_auth")

    def via_api(payload: Any) -> Reply:
        response = client.post("/api/v1/events", json=payload, headers=auth)
        assert response.is_json, response.data
        return Reply(response.status_code, response.get_json())
    return via_api


@pytest.fixture
def reference(core):
    """Two departments, an agency, an employee in each department, one without a mobile."""
    core.upsert_department("RIGHTS", f.department())
    core.upsert_department("LANDS", f.department(name_ar="إدارة الأراضي",
                                                 name_en="Lands Department"))
    core.upsert_agency("MOI", f.agency())
    core.upsert_employee("E1", f.employee())
    core.upsert_employee("E2", f.employee(name="سعيد الباحث", mobile="0547778899",
                                          department="LANDS"))
    core.upsert_employee("E3", f.employee(name="فهد الباحث", mobile=None))
    return core


def apply(core, *payloads: dict) -> None:
    for payload in payloads:
        core.record_event(payload)


def transaction(core, number: str = NUMBER) -> Transaction | None:
    with core.db.read() as session:
        return session.scalar(select(Transaction).where(Transaction.number == number))


def history(core, number: str = NUMBER) -> list[TransactionEvent]:
    with core.db.read() as session:
        return list(session.scalars(
            select(TransactionEvent).join(Transaction)
            .where(Transaction.number == number).order_by(TransactionEvent.id)))


def notifications(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def counts(core) -> dict[str, int]:
    with core.db.read() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Transaction, TransactionEvent, Notification)}


def snapshot(core) -> dict[str, list[tuple]]:
    """Every row of every table, to show that a rejected event changed nothing (but a
    token's ``last_used_at``: any authenticated request records it, for the audit)."""
    with core.db.engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(
                    table.select().with_only_columns(
                        *(c for c in table.columns if c.name != "last_used_at"))
                    .order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables}


# --- effects ----------------------------------------------------------------------


def test_registered_creates_the_transaction_with_its_applicant(reference, send):
    reply = send(registered())

    assert reply.status == 201
    assert reply.body["status"] == "registered" and reply.body["duplicate"] is False
    txn = transaction(reference)
    assert txn.status == "registered"
    assert txn.subject == "طلب إفادة"
    assert txn.registered_at == datetime(2025, 11, 23, 6, 15, tzinfo=UTC)
    assert txn.last_event_at == txn.registered_at
    assert txn.applicant_name == "محمد عبدالله"
    assert txn.applicant_mobile == f.MOBILE_E164
    assert txn.applicant_email == f.EMAIL
    assert txn.applicant_language == "ar"
    assert txn.applicant_national_id_hash == hash_national_id(f.NATIONAL_ID,
                                                              NATIONAL_ID_KEY.encode())
    assert [(e.type, e.occurred_at) for e in history(reference)] == [
        ("registered", txn.registered_at)]


def test_registered_accepts_arabic_digits_and_normalizes_contact_details(reference, send):
    reply = send(registered(
        number=NUMBER.translate(ARABIC_DIGITS), national_id=f.NATIONAL_ID.translate(ARABIC_DIGITS),
        mobile="٠٥٥١٢٣٤٥٦٧", email="Applicant@Example.COM", lang="en"))

    assert reply.status == 201
    txn = transaction(reference)
    assert txn.number == NUMBER
    assert txn.applicant_mobile == f.MOBILE_E164
    assert txn.applicant_email == "applicant@example.com"
    assert txn.applicant_language == "en"
    assert txn.applicant_national_id_hash == hash_national_id(f.NATIONAL_ID,
                                                              NATIONAL_ID_KEY.encode())


def test_referred_puts_the_transaction_with_the_department(reference, send):
    apply(reference, registered())

    reply = send(referred("RIGHTS"))

    assert reply.status == 201 and reply.body["status"] == "referred"
    txn = transaction(reference)
    assert txn.status == "referred"
    assert txn.department.code == "RIGHTS"
    assert txn.last_event_at == datetime(2025, 11, 23, 7, 0, tzinfo=UTC)
    assert history(reference)[-1].department_id == txn.department_id


def test_assigned_records_the_employee_in_the_department(reference, send):
    apply(reference, registered(), referred("RIGHTS"))

    reply = send(assigned("E1"))

    assert reply.status == 201 and reply.body["status"] == "assigned"
    txn = transaction(reference)
    assert txn.status == "assigned"
    assert txn.employee.code == "E1"
    assert txn.department.code == "RIGHTS"


def test_referral_to_another_department_takes_it_from_the_employee(reference, send):
    apply(reference, registered(), referred("RIGHTS"), assigned("E1"))

    reply = send(referred("LANDS", when=at(11, 30)))

    assert reply.status == 201
    txn = transaction(reference)
    assert (txn.status, txn.department.code, txn.employee) == ("referred", "LANDS", None)


@pytest.mark.parametrize("agency", ["وزارة الداخلية", "Ministry of Interior", "MOI"],
                         ids=["arabic-name", "english-name", "code"])
def test_issued_records_outgoing_number_agency_and_reply_expected(reference, send, agency):
    apply(reference, registered(), referred(), assigned())

    reply = send(issued(agency, outgoing_number="98765", reply_expected=True))

    assert reply.status == 201 and reply.body["status"] == "issued"
    txn = transaction(reference)
    assert txn.status == "issued"
    assert txn.outgoing_number == "98765"
    assert txn.destination_agency.code == "MOI"
    assert txn.reply_expected is True
    assert txn.issued_at == datetime(2025, 11, 23, 9, 0, tzinfo=UTC)
    assert history(reference)[-1].agency_id == txn.destination_agency_id


def test_an_agency_code_wins_over_another_agencys_name(core, send):
    # "MOI" is the code of one agency and the English name of another, created first.
    core.upsert_agency("A0", {"name_ar": "جهة أخرى", "name_en": "MOI"})
    core.upsert_agency("MOI", f.agency())
    apply(core, registered())

    assert send(issued("MOI")).status == 201
    assert transaction(core).destination_agency.code == "MOI"


def test_an_agency_name_two_agencies_share_is_refused_as_ambiguous(core, send):
    core.upsert_agency("POL-1", {"name_ar": "الشرطة", "name_en": "Police"})
    core.upsert_agency("POL-2", {"name_ar": "الشرطة", "name_en": "Police HQ"})
    apply(core, registered())
    before = snapshot(core)

    reply = send(issued("الشرطة"))

    assert (reply.status, reply.code, reply.field) == (409, "ambiguous_agency",
                                                       "destination_agency")
    assert snapshot(core) == before


def test_issued_straight_after_registration_without_reply_expected(reference, send):
    apply(reference, registered())
    payload = issued()
    del payload["reply_expected"]

    reply = send(payload)

    assert reply.status == 201
    txn = transaction(reference)
    assert (txn.status, txn.reply_expected) == ("issued", False)


def test_reply_received_stops_the_overdue_clock(reference, send):
    apply(reference, registered(), referred(), issued(reply_expected=True))

    reply = send(reply_received())

    assert reply.status == 201 and reply.body["status"] == "reply_received"
    txn = transaction(reference)
    assert txn.status == "reply_received"
    assert txn.reply_received_at == datetime(2025, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("before", ["registered", "assigned", "issued", "reply_received"])
def test_closed_is_final_from_any_open_status(reference, send, before):
    steps = {"registered": [registered()],
             "assigned": [registered(), referred(), assigned()],
             "issued": [registered(), issued(reply_expected=False)],
             "reply_received": [registered(), issued(), reply_received()]}[before]
    apply(reference, *steps)

    reply = send(closed())

    assert reply.status == 201 and reply.body["status"] == "closed"
    txn = transaction(reference)
    assert txn.status == "closed"
    assert txn.closed_at == datetime(2025, 11, 23, 11, 0, tzinfo=UTC)


def test_events_at_the_same_moment_as_the_last_are_in_order(reference, send):
    apply(reference, registered(when=at(9, 15)))

    assert send(referred(when=at(9, 15))).status == 201


def test_occurred_at_a_few_minutes_ahead_of_our_clock_is_tolerated(reference, send):
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()

    assert send(registered(when=soon)).status == 201


def test_the_full_history_is_kept_in_order(reference, send):
    for payload in (registered(), referred(), assigned(), issued(), reply_received(), closed()):
        assert send(payload).status == 201

    assert [e.type for e in history(reference)] == [
        "registered", "referred", "assigned", "issued", "reply_received", "closed"]


# --- rejections: the right code and status, and nothing changed ------------------------

def _future() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


def _without(payload: dict, *path: str) -> dict:
    target = payload
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return payload


def _with(payload: dict, path: str, value: Any) -> dict:
    *parents, last = path.split(".")
    target = payload
    for key in parents:
        target = target[key]
    target[last] = value
    return payload


# (id, events applied first, the rejected event, HTTP status, code)
REJECTIONS = [
    ("unknown-transaction", [], lambda: referred(number="9999999"), 404,
     "unknown_transaction"),
    ("unknown-department", [registered], lambda: referred("NOPE"), 404, "unknown_department"),
    ("unknown-employee", [registered, referred], lambda: assigned("NOPE"), 404,
     "unknown_employee"),
    ("unknown-agency-code", [registered], lambda: issued("NOPE"), 404, "unknown_agency"),
    ("agency-name-not-exact", [registered], lambda: issued("وزارة الداخليه"), 404,
     "unknown_agency"),
    ("already-registered", [registered], lambda: registered(), 409, "already_registered"),
    ("assigned-before-referred", [registered], lambda: assigned("E1"), 409, "out_of_order"),
    ("employee-of-another-department", [registered, referred], lambda: assigned("E2"), 409,
     "wrong_department"),
    ("reply-before-issued", [registered, referred], lambda: reply_received(), 409,
     "out_of_order"),
    ("reply-not-expected", [registered, lambda: issued(reply_expected=False)],
     lambda: reply_received(), 409, "out_of_order"),
    ("issued-twice", [registered, issued], lambda: issued(when=at(13)), 409, "out_of_order"),
    ("referred-after-closed", [registered, closed], lambda: referred(when=at(15)), 409,
     "out_of_order"),
    ("issued-after-closed", [registered, closed], lambda: issued(when=at(15)), 409,
     "out_of_order"),
    ("closed-after-closed", [registered, closed], lambda: closed(when=at(15)), 409,
     "out_of_order"),
    ("earlier-than-last-event", [registered, referred], lambda: assigned(when=at(9, 30)), 409,
     "out_of_order"),
    ("earlier-than-registration", [registered], lambda: closed(when=at(8)), 409,
     "out_of_order"),
]


@pytest.mark.parametrize(("setup", "event", "status", "code"),
                         [case[1:] for case in REJECTIONS], ids=[c[0] for c in REJECTIONS])
def test_a_rejected_event_changes_nothing(reference, send, setup, event, status, code):
    apply(reference, *(make() for make in setup))
    before = snapshot(reference)

    reply = send(event())

    assert (reply.status, reply.code) == (status, code)
    assert snapshot(reference) == before


# (id, the malformed event, the field named in the error or None, code)
MALFORMED = [
    ("list", lambda: [registered()], None, "malformed"),
    ("string", lambda: "registered", None, "malformed"),
    ("null", lambda: None, None, "malformed"),
    ("number", lambda: 4471234, None, "malformed"),
    ("empty-object", lambda: {}, "event_id", "invalid_field"),
    ("missing-event-id", lambda: _without(registered(), "event_id"), "event_id",
     "invalid_field"),
    ("missing-type", lambda: _without(registered(), "type"), "type", "invalid_field"),
    ("missing-occurred-at", lambda: _without(registered(), "occurred_at"), "occurred_at",
     "invalid_field"),
    ("missing-transaction", lambda: _without(registered(), "transaction"), "transaction",
     "invalid_field"),
    ("missing-number", lambda: _without(registered(), "transaction", "number"),
     "transaction.number", "invalid_field"),
    ("extra-field", lambda: {**registered(), "priority": "high"}, "priority",
     "invalid_field"),
    ("extra-applicant-field", lambda: registered(passport="A123"),
     "transaction.applicant.passport", "invalid_field"),
    ("unknown-type", lambda: {**registered(), "type": "approved"}, "type", "invalid_field"),
    ("registered-without-applicant",
     lambda: _without(registered(), "transaction", "applicant"), "transaction.applicant",
     "missing_field"),
    ("registered-without-subject", lambda: _without(registered(), "transaction", "subject"),
     "transaction.subject", "missing_field"),
    ("referred-without-department", lambda: _without(referred(), "department"),
     "department", "missing_field"),
    ("issued-without-agency", lambda: _without(issued(), "destination_agency"),
     "destination_agency", "missing_field"),
    ("closed-with-department", lambda: closed(department="RIGHTS"), "department",
     "unexpected_field"),
    ("referred-with-reply-expected", lambda: referred(reply_expected=True), "reply_expected",
     "unexpected_field"),
    ("referred-with-applicant",
     lambda: _with(referred(), "transaction.applicant", {"name": "x"}),
     "transaction.applicant", "unexpected_field"),
    ("reply-expected-yes", lambda: issued(reply_expected="yes"), "reply_expected",
     "invalid_field"),
    ("reply-expected-one", lambda: issued(reply_expected=1), "reply_expected",
     "invalid_field"),
    ("department-as-number", lambda: referred(department=5), "department", "invalid_field"),
    ("number-with-letters", lambda: registered(number="44A1234"), "transaction.number",
     "invalid_field"),
    ("number-too-long", lambda: registered(number="1" * 33), "transaction.number",
     "invalid_field"),
    ("naive-datetime", lambda: registered(when="2025-11-23T09:15:00"), "occurred_at",
     "invalid_field"),
    ("not-a-datetime", lambda: registered(when="yesterday"), "occurred_at", "invalid_field"),
    ("unix-time", lambda: _with(registered(), "occurred_at", 1447), "occurred_at",
     "invalid_field"),
    ("future-date", lambda: registered(when=_future()), "occurred_at", "invalid_field"),
    ("event-id-with-space", lambda: _with(registered(), "event_id", "rec 1"), "event_id",
     "invalid_field"),
    ("national-id-length", lambda: registered(national_id=f.NATIONAL_ID[:-1]),
     "transaction.applicant.national_id", "invalid_field"),
    ("national-id-prefix", lambda: registered(national_id="3012345678"),
     "transaction.applicant.national_id", "invalid_field"),
    ("landline-as-mobile", lambda: registered(mobile="0112345678"),
     "transaction.applicant.mobile", "invalid_field"),
    ("mobile-with-letters", lambda: registered(mobile="05512345ab"),
     "transaction.applicant.mobile", "invalid_field"),
    ("bad-email", lambda: registered(email="not-an-address"),
     "transaction.applicant.email", "invalid_field"),
    ("unknown-language", lambda: registered(lang="fr"), "transaction.applicant.lang",
     "invalid_field"),
    ("empty-name", lambda: registered(name=""), "transaction.applicant.name",
     "invalid_field"),
    ("nul-in-subject", lambda: _with(registered(), "transaction.subject", "طلب\x00"),
     "transaction.subject", "invalid_field"),
]


@pytest.mark.parametrize(("event", "field", "code"), [case[1:] for case in MALFORMED],
                         ids=[c[0] for c in MALFORMED])
def test_a_malformed_event_is_422_and_changes_nothing(reference, send, event, field, code):
    before = snapshot(reference)

    reply = send(event())

    assert (reply.status, reply.code) == (422, code)
    assert reply.field == field
    assert snapshot(reference) == before


def test_an_event_for_an_unknown_transaction_is_not_created_on_the_fly(reference, send):
    assert send(closed(number="1234567")).status == 404
    assert transaction(reference, "1234567") is None


# --- idempotency ------------------------------------------------------------------------


def test_the_same_event_twice_is_a_duplicate_with_no_second_row(reference, send):
    event = registered()

    first, second = send(event), send(event)

    assert (first.status, first.body["duplicate"], first.body["notifications"]) == (201, False, 1)
    assert (second.status, second.body["duplicate"], second.body["notifications"]) == (
        200, True, 0)
    assert second.body["status"] == "registered"
    assert counts(reference) == {"transactions": 1, "transaction_events": 1, "notifications": 1}


def test_a_replayed_old_event_is_a_duplicate_not_out_of_order(reference, send):
    first = registered()
    apply(reference, first, referred(), issued())
    before = snapshot(reference)

    reply = send(first)

    # The status that event produced, as its first reply said; not the current one.
    assert (reply.status, reply.body["duplicate"], reply.body["status"]) == (
        200, True, "registered")
    assert snapshot(reference) == before


def test_each_replayed_event_answers_the_status_it_produced(reference, send):
    events = [registered(), referred(), assigned(), issued(), reply_received(), closed()]
    first_replies = [send(event) for event in events]

    replays = [send(event) for event in events]

    assert [r.body["status"] for r in first_replies] == [
        "registered", "referred", "assigned", "issued", "reply_received", "closed"]
    assert [(r.status, r.body["duplicate"], r.body["status"]) for r in replays] == [
        (200, True, first.body["status"]) for first in first_replies]


def test_an_out_of_order_event_is_named_in_plain_words(reference):
    apply(reference, registered())

    with pytest.raises(Conflict) as refused:
        reference.record_event(assigned("E1"))

    assert refused.value.message == (
        "an event 'assigned' cannot follow 'registered' (only 'referred' or 'assigned')")


def test_an_event_id_reused_for_another_event_is_a_conflict(reference, send):
    apply(reference, registered())
    event = referred("RIGHTS")
    apply(reference, event)
    before = snapshot(reference)

    reply = send({**event, "department": "LANDS"})

    assert (reply.status, reply.code, reply.field) == (409, "event_id_reused", "event_id")
    assert snapshot(reference) == before


def test_an_event_id_reused_for_another_transaction_is_a_conflict(reference, send):
    first = registered()
    apply(reference, first)

    reply = send({**registered(number="5550001"), "event_id": first["event_id"]})

    assert (reply.status, reply.code) == (409, "event_id_reused")
    assert transaction(reference, "5550001") is None


# --- notifications: written with their event, never without it ---------------------------


def test_registration_sms_goes_to_the_applicant_in_arabic(reference, send):
    event = registered()

    assert send(event).body["notifications"] == 1

    [note] = notifications(reference)
    assert note.cause_key == f"event:{event['event_id']}:registration"
    assert (note.kind, note.audience, note.channel) == ("registration", "citizen", "sms")
    assert (note.recipient, note.language, note.status) == (f.MOBILE_E164, "ar", "pending")
    assert note.transaction_id == transaction(reference).id
    # The seed's content, in Arabic: the number and the Hijri date, the Gregorian beside it.
    assert f"برقم {NUMBER} وتاريخ {HIJRI_AR} {GREGORIAN_AR}" in note.body
    assert "74747" in note.body
    assert not re.search("[A-Za-z]", note.body)


def test_registration_sms_in_english_when_the_applicant_reads_english(reference, send):
    send(registered(lang="en"))

    [note] = notifications(reference)
    assert note.language == "en"
    assert note.body == (f"Your transaction was registered under number {NUMBER}, dated "
                         f"{DATE_EN}. To follow it, text the number to 74747.")


def test_assignment_sms_goes_to_the_employee(reference, send):
    apply(reference, registered(), referred())
    event = assigned("E1")

    assert send(event).body["notifications"] == 1

    note = notifications(reference)[-1]
    assert note.cause_key == f"event:{event['event_id']}:assignment"
    assert (note.kind, note.audience) == ("assignment", "staff")
    assert note.recipient == "+966543334455"
    assert note.language == reference.config.locale.default_language
    assert NUMBER in note.body
    # The date is the transaction's registration date, as in the seed.
    assert f"{HIJRI_AR} {GREGORIAN_AR}" in note.body


@pytest.mark.parametrize(("lang", "agency_name", "date"), [
    ("ar", "وزارة الداخلية", f"{HIJRI_AR} {GREGORIAN_AR}"),
    ("en", "Ministry of Interior", DATE_EN),
])
def test_issuance_sms_goes_to_the_applicant_with_the_outgoing_number_and_agency(
        reference, send, lang, agency_name, date):
    apply(reference, registered(lang=lang), referred())
    event = issued("MOI", outgoing_number="98765")

    assert send(event).body["notifications"] == 1

    note = notifications(reference)[-1]
    assert note.cause_key == f"event:{event['event_id']}:issuance"
    assert (note.kind, note.audience, note.recipient, note.language) == (
        "issuance", "citizen", f.MOBILE_E164, lang)
    for part in (NUMBER, "98765", agency_name, date):
        assert part in note.body


def test_no_sms_to_an_applicant_without_a_mobile(reference, send):
    assert send(registered(mobile=None)).body["notifications"] == 0
    assert send(issued()).body["notifications"] == 0
    assert notifications(reference) == []


def test_no_sms_to_an_employee_without_a_mobile(reference, send):
    apply(reference, registered(mobile=None), referred())

    assert send(assigned("E3")).body["notifications"] == 0
    assert notifications(reference) == []


@pytest.mark.parametrize(("setup", "event"), [
    ([registered], referred),
    ([registered, issued], reply_received),
    ([registered], closed),
], ids=["referred", "reply_received", "closed"])
def test_events_that_notify_nobody_write_no_outbox_row(reference, send, setup, event):
    apply(reference, *(make() for make in setup))
    before = len(notifications(reference))

    reply = send(event())

    assert (reply.status, reply.body["notifications"]) == (201, 0)
    assert len(notifications(reference)) == before


@pytest.mark.parametrize(("kind", "setup", "event"), [
    ("registered", [], registered),
    ("issued", [registered], issued),
    ("assigned", [registered, referred], assigned),
])
def test_a_failure_after_the_outbox_row_leaves_no_notification(
        reference, monkeypatch, kind, setup, event):
    apply(reference, *(make() for make in setup))
    before = snapshot(reference)
    original = lifecycle.outbox.enqueue
    queued = []

    def then_fail(session, **fields):
        queued.append(original(session, **fields))
        session.flush()  # the row is in the database transaction when the failure comes
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(lifecycle.outbox, "enqueue", then_fail)

    with pytest.raises(RuntimeError):
        reference.record_event(event())

    assert len(queued) == 1
    assert snapshot(reference) == before


def test_an_internal_failure_is_a_json_500_and_leaves_nothing(reference, client,
                                                              records_auth, monkeypatch):
    original = lifecycle.HANDLERS["registered"]

    def then_fail(*args):
        original(*args)
        raise RuntimeError("boom")

    monkeypatch.setitem(lifecycle.HANDLERS, "registered", then_fail)

    response = client.post("/api/v1/events", json=registered(), headers=records_auth)

    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "boom" not in response.get_data(as_text=True)
    assert counts(reference) == {"transactions": 0, "transaction_events": 0, "notifications": 0}


def test_a_database_failure_at_commit_rolls_back_the_event_and_its_outbox_row(reference):
    event = registered()
    cause_key = f"event:{event['event_id']}:registration"
    with reference.db.write.begin() as session:  # a stray row holding the outbox's cause key
        outbox.enqueue(session, cause_key=cause_key, kind="other", audience="staff",
                       recipient="+966500000000", language="ar", body="x")

    with pytest.raises(IntegrityError):
        reference.record_event(event)

    assert transaction(reference) is None
    assert [n.kind for n in notifications(reference)] == ["other"]


def test_the_cause_key_admits_one_message_per_cause(core):
    with core.db.write.begin() as session:
        outbox.enqueue(session, cause_key="overdue:1:1", kind="overdue", audience="staff",
                       recipient="+966501112233", language="ar", body="first")

    with pytest.raises(IntegrityError), core.db.write.begin() as session:
        outbox.enqueue(session, cause_key="overdue:1:1", kind="overdue", audience="staff",
                       recipient="+966501112233", language="ar", body="second")

    assert [n.body for n in notifications(core)] == ["first"]


# --- national IDs are never kept in clear ------------------------------------------------


def test_national_ids_are_stored_nowhere_in_clear(reference, send):
    arabic_id = f.OTHER_NATIONAL_ID.translate(ARABIC_DIGITS)
    assert send(registered()).status == 201
    assert send(registered(number="5550001", national_id=arabic_id, mobile=f.OTHER_MOBILE,
                           email="other@example.com")).status == 201
    for national_id in (f.NATIONAL_ID, arabic_id):
        reference.inquire(InquiryRequest(channel="web", number_text="5550001",
                                         national_id=national_id))
    reference.inquiry_log.flush()

    texts = []
    with reference.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                texts.extend(json.dumps(value, ensure_ascii=False) if isinstance(value, dict)
                             else str(value) for value in row)
    assert len(texts) > 50
    for raw in (f.NATIONAL_ID, f.OTHER_NATIONAL_ID, arabic_id):
        assert not [text for text in texts if raw in text]

    payloads = [e.payload for e in history(reference) + history(reference, "5550001")]
    assert all(p["transaction"]["applicant"]["national_id"].startswith("hmac:")
               for p in payloads)
