""""My transactions" (core.transactions.mine): a national ID proven by a one-time code
sent to the mobile on its newest transaction unlocks its list and its cases; asking for
a code says nothing about the ID; a code that does not unlock is one refusal, counted."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.messaging.codes import LIFETIME, OneTimeCodes
from core.messaging.models import Notification
from core.platform.errors import InvalidRequest, NotFound, TooMany
from core.platform.models import FailureCount
from core.transactions import mine
from tests import factories as f
from tests.core.voice.conftest import build_world

NEWER_MOBILE = "0559998877"


def register(core, number: str, at: str, **applicant) -> None:
    core.record_event(f.registered(number, occurred_at=at, **applicant))


@pytest.fixture
def applicant(core):
    """Three transactions under f.NATIONAL_ID, the newest with another mobile; one under
    another ID."""
    core.upsert_department("RIGHTS", f.department())
    core.upsert_agency("MOI", f.agency())
    register(core, "4470001", "2026-10-01T09:00:00+03:00")
    register(core, "4470002", "2026-11-01T09:00:00+03:00", mobile=NEWER_MOBILE)
    register(core, "4470003", "2026-10-15T09:00:00+03:00")
    core.record_event(f.event("referred", "4470001", "2026-10-02T09:00:00+03:00",
                              department="RIGHTS"))
    core.record_event(f.event("issued", "4470001", "2026-10-03T09:00:00+03:00",
                              outgoing_number="OUT-77", destination_agency="MOI",
                              reply_expected=True))
    register(core, "4470009", "2026-11-02T09:00:00+03:00",
             national_id=f.OTHER_NATIONAL_ID, mobile=f.OTHER_MOBILE)
    return core


def codes_sent(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification).where(Notification.kind == "code")
                                    .order_by(Notification.id)))


def code_in(note: Notification) -> str:
    match = re.search(r"\d{6}", note.body)
    assert match
    return match.group(0)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def failures(core) -> int:
    with core.db.read() as session:
        return sum(row.failures for row in session.scalars(
            select(FailureCount).where(FailureCount.key.like(mine.KEY_PREFIX + "%"))))


def test_the_code_goes_to_the_mobile_on_the_newest_transaction(applicant):
    asked = applicant.mine.request_code("١٠١٢٣٤٥٦٧" + f.NATIONAL_ID[-1].translate(
        str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), origin="10.0.0.1")
    [sent] = codes_sent(applicant)
    assert sent.recipient == "+966559998877"
    assert asked.subject == applicant.mine.subject(f.NATIONAL_ID)


def test_an_id_without_transactions_gets_the_same_answer_and_no_sms(applicant):
    unknown = f.national_id_with_check_digit("105555555")
    without = applicant.mine.request_code(unknown, origin="10.0.0.1")
    assert codes_sent(applicant) == []
    with_ = applicant.mine.request_code(f.NATIONAL_ID, origin="10.0.0.1")
    assert type(without) is type(with_) and len(without.subject) == len(with_.subject)
    assert len(codes_sent(applicant)) == 1
    # Both requests were counted (same writes either way).
    assert failures(applicant) == 4


def test_the_mobiles_cooldown_is_not_told(applicant):
    applicant.mine.request_code(f.NATIONAL_ID, origin="10.0.0.1")
    applicant.mine.request_code(f.NATIONAL_ID, origin="10.0.0.2")  # within the cooldown
    assert len(codes_sent(applicant)) == 1


def test_requests_per_id_are_limited_whether_or_not_it_has_transactions(applicant):
    unknown = f.national_id_with_check_digit("105555555")
    for n in range(mine.REQUESTS_PER_ID):
        applicant.mine.request_code(unknown, origin=f"10.0.1.{n}")
    with pytest.raises(TooMany):
        applicant.mine.request_code(unknown, origin="10.0.2.1")


def test_a_bad_id_is_refused_by_what_was_typed(applicant):
    with pytest.raises(InvalidRequest) as error:
        applicant.mine.request_code("12345", origin="10.0.0.1")
    assert error.value.field == "national_id"


def test_the_right_code_unlocks_the_list_newest_first_with_cases_beside(applicant):
    world = build_world(applicant)
    by_id = world.file(citizen={"mobile": f.OTHER_MOBILE, "national_id": f.NATIONAL_ID})
    by_mobile = world.file(citizen={"mobile": NEWER_MOBILE})
    world.file(citizen={"mobile": f.OTHER_MOBILE})  # someone else's
    asked = applicant.mine.request_code(f.NATIONAL_ID, origin="10.0.0.1")
    code_id = applicant.mine.verify(asked.subject, code_in(codes_sent(applicant)[-1]),
                                    origin="10.0.0.1")
    listed = applicant.mine.listing(code_id)
    assert [line.number for line in listed.transactions] == ["4470002", "4470003", "4470001"]
    issued = listed.transactions[2]
    assert issued.outgoing_number == "OUT-77"
    assert issued.destination_agency is not None
    assert issued.destination_agency.en == "Ministry of Interior"
    assert issued.department is not None and issued.department.en == "Rights Department"
    assert listed.transactions[0].outgoing_number is None
    assert listed.more == 0
    assert [case.tracking for case in listed.cases] == [by_mobile, by_id]
    assert listed.cases[0].state == "received"


@pytest.mark.parametrize("how", ["wrong", "other_id", "no_code", "used"])
def test_a_code_that_does_not_unlock_is_one_refusal_and_counts(applicant, how):
    asked = applicant.mine.request_code(f.NATIONAL_ID, origin="10.0.0.1")
    code = code_in(codes_sent(applicant)[-1])
    subject = asked.subject
    if how == "wrong":
        code = wrong(code)
    elif how == "other_id":
        subject = applicant.mine.request_code(f.OTHER_NATIONAL_ID, origin="10.0.0.1").subject
    elif how == "no_code":
        subject = applicant.mine.subject(f.national_id_with_check_digit("105555555"))
    elif how == "used":
        applicant.mine.verify(subject, code, origin="10.0.0.1")
    before = failures(applicant)
    with pytest.raises(InvalidRequest) as error:
        applicant.mine.verify(subject, code, origin="10.0.0.1")
    assert error.value.code == "wrong_code"
    assert failures(applicant) == before + 2


def test_an_expired_code_unlocks_nothing_and_counts(applicant):
    now = [datetime.now(UTC)]
    codes = OneTimeCodes(applicant.db, applicant.config, clock=lambda: now[0])
    service = mine.MyTransactions(applicant.db, applicant.config, codes, applicant.voice)
    asked = service.request_code(f.NATIONAL_ID, origin="10.0.0.1")
    code = code_in(codes_sent(applicant)[-1])
    now[0] += LIFETIME + timedelta(seconds=1)
    before = failures(applicant)
    with pytest.raises(InvalidRequest) as error:
        service.verify(asked.subject, code, origin="10.0.0.1")
    assert error.value.code == "wrong_code"
    assert failures(applicant) == before + 2


def test_the_proof_lasts_its_lifetime(applicant):
    now = [datetime.now(UTC)]
    codes = OneTimeCodes(applicant.db, applicant.config, clock=lambda: now[0])
    service = mine.MyTransactions(applicant.db, applicant.config, codes, applicant.voice)
    asked = service.request_code(f.NATIONAL_ID, origin="10.0.0.1")
    code_id = service.verify(asked.subject, code_in(codes_sent(applicant)[-1]),
                             origin="10.0.0.1")
    assert service.listing(code_id).transactions
    now[0] += mine.PROOF_LIFETIME
    with pytest.raises(NotFound):
        service.listing(code_id)


def test_wrong_codes_per_id_are_limited(applicant):
    asked = applicant.mine.request_code(f.NATIONAL_ID, origin="10.0.0.1")
    code = code_in(codes_sent(applicant)[-1])
    for n in range(mine.WRONG_PER_ID):
        with pytest.raises(InvalidRequest):
            applicant.mine.verify(asked.subject, wrong(code), origin=f"10.0.3.{n}")
    with pytest.raises(TooMany):
        applicant.mine.verify(asked.subject, code, origin="10.0.4.1")


def test_without_a_proof_there_is_no_list(applicant):
    with pytest.raises(NotFound):
        applicant.mine.listing(123456)


def test_a_voice_code_proves_nothing_here(applicant):
    sent = applicant.voice.codes.send("voice_case", NEWER_MOBILE, lang="ar",
                                      origin="10.0.0.1", subject="A-1")
    code = code_in(codes_sent(applicant)[-1])
    applicant.voice.codes.verify(sent.code_id, "voice_case", code, origin="10.0.0.1")
    with pytest.raises(NotFound):
        applicant.mine.listing(sent.code_id)


def test_by_sms_the_senders_mobile_lists_its_transactions(applicant):
    lines, more = applicant.mine.by_mobile("+966551234567", limit=1)
    assert [line.number for line in lines] == ["4470003"] and more == 1
    text = mine.sms_list(lines, more, "en")
    assert text == "Your transactions:\n4470003 registered\nand 1 more"
    assert applicant.mine.by_mobile("0500000001") == ([], 0)
    assert "4470" not in mine.sms_list([], 0, "ar")
