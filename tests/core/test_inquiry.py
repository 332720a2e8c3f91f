"""Inquiries: the requester proves the transaction is theirs, every answer is logged,
failures are rate limited, and "not yours" cannot be told from "no such number"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import String, cast, select

from core.transactions.answer import Answer, Name, Outcome
from core.transactions.inquiry import InquiryRequest
from core.transactions.inquiry_log import InquiryLogWriter, LogEntry
from core.transactions.models import InquiryLog, Transaction
from tests import factories as f

NUMBER = "4471234"
OTHERS_NUMBER = "5550001"
UNKNOWN_NUMBER = "7654321"
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.fixture
def transactions(core):
    """The applicant's transaction (referred to a department) and someone else's."""
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(NUMBER, "2025-11-23T09:15:00+03:00"))
    core.record_event(f.event("referred", NUMBER, "2025-11-23T10:00:00+03:00",
                              department="RIGHTS"))
    core.record_event(f.registered(OTHERS_NUMBER, "2025-11-23T09:30:00+03:00",
                                   national_id=f.OTHER_NATIONAL_ID, mobile=f.OTHER_MOBILE,
                                   email="other@example.com"))
    return core


def ask(service, number: str = NUMBER, *, channel: str = "web", origin: str | None = None,
        **credentials) -> Answer:
    request = InquiryRequest(channel=channel, number_text=number, origin=origin, **credentials)
    return service.inquire(request)


def log_rows(core) -> list[InquiryLog]:
    core.inquiry_log.flush()
    with core.db.read() as session:
        return list(session.scalars(select(InquiryLog).order_by(InquiryLog.id)))


# Every way the applicant may prove who they are, Arabic digits first.
APPLICANT = [
    ("mobile-arabic-digits", {"mobile": "٠٥٥١٢٣٤٥٦٧"}),
    ("mobile-local", {"mobile": "0551234567"}),
    ("mobile-966", {"mobile": "966551234567"}),
    ("mobile-e164", {"mobile": "+966551234567"}),
    ("mobile-00966", {"mobile": "00966551234567"}),
    ("email", {"email": "applicant@example.com"}),
    ("email-other-case", {"email": "Applicant@EXAMPLE.com"}),
    ("national-id-arabic-digits", {"national_id": f.NATIONAL_ID.translate(ARABIC_DIGITS)}),
    ("national-id", {"national_id": f.NATIONAL_ID}),
]

# Someone else, by each kind of credential.
SOMEONE_ELSE = [
    ("mobile", {"mobile": f.OTHER_MOBILE}),
    ("email", {"email": "other@example.com"}),
    ("national-id", {"national_id": f.OTHER_NATIONAL_ID}),
    ("malformed-national-id", {"national_id": "12345"}),
    ("landline", {"mobile": "0112345678"}),
    ("nothing", {}),
]


@pytest.mark.parametrize("credentials", [c for _, c in APPLICANT], ids=[i for i, _ in APPLICANT])
def test_the_applicant_finds_their_transaction(transactions, credentials):
    answer = ask(transactions, **credentials)

    assert answer.outcome is Outcome.FOUND and answer.found
    view = answer.transaction
    assert (view.number, view.status, view.subject) == (NUMBER, "referred", "طلب إفادة")
    assert view.department == Name("إدارة الحقوق", "Rights Department")
    assert view.registered_at == datetime(2025, 11, 23, 6, 15, tzinfo=UTC)
    assert [(s.type, s.department) for s in view.timeline] == [
        ("registered", None), ("referred", Name("إدارة الحقوق", "Rights Department"))]


@pytest.mark.parametrize("credentials", [c for _, c in SOMEONE_ELSE],
                         ids=[i for i, _ in SOMEONE_ELSE])
def test_someone_else_gets_the_same_answer_as_for_an_unknown_number(transactions, credentials):
    not_theirs = ask(transactions, NUMBER, **credentials)
    unknown = ask(transactions, UNKNOWN_NUMBER, **credentials)

    assert not_theirs == unknown == Answer(Outcome.NOT_FOUND)
    assert not_theirs.transaction is None and not not_theirs.found


def test_the_applicant_cannot_read_someone_elses_transaction(transactions):
    assert ask(transactions, OTHERS_NUMBER, national_id=f.NATIONAL_ID) == Answer(
        Outcome.NOT_FOUND)
    assert ask(transactions, OTHERS_NUMBER, national_id=f.OTHER_NATIONAL_ID).found


def test_one_matching_credential_among_several_is_enough(transactions):
    answer = ask(transactions, mobile=f.OTHER_MOBILE, national_id=f.NATIONAL_ID)

    assert answer.found


@pytest.mark.parametrize("text", [
    NUMBER.translate(ARABIC_DIGITS),
    NUMBER.translate(PERSIAN_DIGITS),
    "استعلام " + NUMBER.translate(ARABIC_DIGITS),
    "رقم المعاملة: " + NUMBER,
    "status 4471234",
    " 4471234 ",
    "447-1234",
])
def test_the_number_is_understood_in_any_digits_and_after_a_keyword(transactions, text):
    answer = ask(transactions, text, national_id=f.NATIONAL_ID)

    assert answer.found and answer.transaction.number == NUMBER


@pytest.mark.parametrize("text", ["مرحبا", "استعلام", "", "hello", "123", "4471234 5550001"])
def test_text_without_one_transaction_number_is_invalid(transactions, text):
    assert ask(transactions, text, national_id=f.NATIONAL_ID) == Answer(Outcome.INVALID)


# --- the inquiry log -------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "number", "credentials", "outcome", "kind", "masked"), [
    ("sms", NUMBER, {"mobile": "0551234567"}, "found", "mobile", "+966*******67"),
    ("ivr", NUMBER, {"mobile": "+966551234567"}, "found", "mobile", "+966*******67"),
    ("email", NUMBER, {"email": "Applicant@Example.com"}, "found", "email",
     "a***@example.com"),
    ("web", NUMBER, {"national_id": f.NATIONAL_ID}, "found", "national_id", ""),
    ("kiosk", UNKNOWN_NUMBER, {"national_id": f.NATIONAL_ID}, "not_found", "national_id", ""),
    ("sms", "مرحبا", {"mobile": "0551234567"}, "invalid", "mobile", "+966*******67"),
    ("web", NUMBER, {"national_id": "12345"}, "not_found", "national_id", ""),
])
def test_every_inquiry_is_logged_without_the_requesters_identity(
        transactions, channel, number, credentials, outcome, kind, masked):
    before = len(log_rows(transactions))

    ask(transactions, number, channel=channel, **credentials)

    rows = log_rows(transactions)
    assert len(rows) == before + 1
    row = rows[-1]
    assert (row.channel, row.outcome, row.requester_kind, row.requester_masked) == (
        channel, outcome, kind, masked)
    assert (row.transaction_id is not None) == (outcome == "found")
    assert 0 < row.latency_ms < 60_000  # measured, in milliseconds
    assert len(row.requester_key) == 64  # a keyed hash
    text = " ".join(value for value in vars(row).values() if isinstance(value, str))
    for secret in (f.NATIONAL_ID, "0551234567", "551234567", "applicant@example.com"):
        assert secret not in text


def test_an_address_too_long_for_the_log_is_still_logged_masked(transactions):
    address = "applicant@" + "sub." * 20 + "example.com"

    ask(transactions, channel="email", email=address)
    ask(transactions, channel="email", email="nul\x00@exa\x00mple.com")

    rows = log_rows(transactions)[-2:]
    assert [row.outcome for row in rows] == ["not_found", "not_found"]
    assert rows[0].requester_masked.startswith("a***@sub.sub.")
    assert len(rows[0].requester_masked) == 64
    assert rows[1].requester_masked == "n***@example.com"


def test_a_national_id_that_fails_its_check_digit_is_said_to_be_mistyped_alike(transactions):
    mistyped = f.NATIONAL_ID[:9] + str((int(f.NATIONAL_ID[9]) + 1) % 10)

    not_yours = ask(transactions, NUMBER, national_id=mistyped)
    no_such_number = ask(transactions, UNKNOWN_NUMBER, national_id=mistyped)

    assert not_yours == no_such_number == Answer(Outcome.NOT_FOUND, id_mistyped=True)
    # A well-formed ID that is not the applicant's is plainly not found.
    assert ask(transactions, NUMBER, national_id=f.OTHER_NATIONAL_ID) == Answer(
        Outcome.NOT_FOUND)


def test_a_batch_of_log_rows_is_stored_as_one_row_at_a_time_would_be(transactions):
    # The writer sends hundreds of rows in a few multi-row INSERTs whose values it
    # converts itself (core/transactions/inquiry_log.py _Rows): each row must come back
    # exactly as SQLAlchemy would have stored it, the time to the microsecond and in
    # the column's text form on SQLite (which orders and compares it).
    core = transactions
    core.inquiry_log.flush()
    with core.db.read() as session:
        txn_id = session.scalars(select(Transaction.id)).first()
    writer = InquiryLogWriter(core.db.write_engine, interval=3600)
    try:
        entries = [LogEntry(channel="sms", outcome="found" if i % 2 else "not_found",
                            requester_kind="mobile", requester_key=f"{i:064x}",
                            requester_masked=f"05****{i:04d}",
                            transaction_id=txn_id if i % 2 else None, latency_ms=i / 7,
                            at=datetime(2026, 12, 5, 9, 0, i % 60, (i * 7919) % 1_000_000
                                        if i % 3 else 0, tzinfo=UTC))
                   for i in range(300)]
        for entry in entries:
            writer.write(entry)
        assert writer.flush() == 300
    finally:
        writer.close()
    with core.db.read() as session:
        rows = list(session.scalars(select(InquiryLog).where(InquiryLog.channel == "sms")
                                    .order_by(InquiryLog.id)))
        stored = [value for (value,) in session.execute(
            select(InquiryLog.at).where(InquiryLog.channel == "sms").order_by(InquiryLog.id)
            .with_only_columns(cast(InquiryLog.at, String)))]
    assert [(r.at, r.channel, r.outcome, r.requester_kind, r.requester_key,
             r.requester_masked, r.transaction_id, r.latency_ms) for r in rows] == [
        (e.at, e.channel, e.outcome, e.requester_kind, e.requester_key, e.requester_masked,
         e.transaction_id, e.latency_ms) for e in entries]
    if core.db.is_sqlite:  # SQLAlchemy's text: always six digits of microseconds
        assert stored[0] == "2026-12-05 09:00:00.000000"
        assert all(len(text) == 26 for text in stored)
