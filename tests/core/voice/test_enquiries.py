"""Enquiries about a transaction: linked to it, and held by its department, only when the
citizen proves it is theirs; otherwise filed as an ordinary enquiry, the answer alike."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.platform.errors import InvalidRequest
from core.voice.models import CaseEvent, VoiceCase
from tests import factories as f
from tests.core.voice.conftest import EMIRATE, hold_transaction, rights_id, transaction_id

NUMBER = "4471234"
OTHERS = "5580001"
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def held(world):
    """The applicant's transaction, held by RIGHTS; someone else's, held by RIGHTS too."""
    core = world.core
    hold_transaction(core, NUMBER)
    core.record_event(f.registered(OTHERS, "2026-11-20T09:30:00+03:00",
                                   national_id=f.OTHER_NATIONAL_ID, mobile=f.OTHER_MOBILE,
                                   email="other@example.com"))
    core.record_event(f.event("referred", OTHERS, "2026-11-20T10:00:00+03:00",
                              department="RIGHTS"))
    return world


def ask(world, citizen: dict, transaction: str | None = NUMBER, **extra):
    body = {"text": "متى تصدر الإفادة؟", "channel": "api", "lang": "ar",
            "citizen": citizen, **extra}
    if transaction is not None:
        body["transaction"] = transaction
    return world.voice.file_case(body, now=world.tick())


def stored(core, tracking: str) -> VoiceCase:
    with core.db.read() as session:
        return session.scalars(select(VoiceCase).where(VoiceCase.tracking == tracking)).one()


@pytest.mark.parametrize("citizen", [
    {"mobile": f.MOBILE},
    {"mobile": f.MOBILE_E164},
    {"email": f.EMAIL.upper()},
    {"email": "someone@example.org", "national_id": f.NATIONAL_ID},
    {"mobile": f.OTHER_MOBILE, "national_id": f.NATIONAL_ID},
], ids=["mobile", "mobile-e164", "email", "national-id", "id-beats-other-mobile"])
def test_the_applicant_s_question_is_linked_and_held_by_the_department(held, citizen):
    filed = ask(held, citizen)
    case = stored(held.core, filed.tracking)
    assert (filed.type, filed.agency) == ("enquiry", EMIRATE)
    assert case.transaction_id == transaction_id(held.core, NUMBER)
    assert case.department_id == rights_id(held.core)
    assert case.agency_id == held.agencies[EMIRATE]


def test_the_number_may_be_typed_in_arabic_indic_digits_with_spaces(held):
    typed = "٤٤٧ ١٢٣٤"
    assert typed.replace(" ", "") == NUMBER.translate(ARABIC_DIGITS)
    case = stored(held.core, ask(held, {"mobile": f.MOBILE}, typed).tracking)
    assert case.transaction_id == transaction_id(held.core, NUMBER)


@pytest.mark.parametrize("number", [OTHERS, "9999999"], ids=["someone-else-s", "unknown"])
def test_a_number_not_proven_theirs_files_an_ordinary_enquiry_told_alike(held, number):
    mine = ask(held, {"mobile": f.MOBILE}).as_dict()
    filed = ask(held, {"mobile": f.MOBILE}, number)
    case = stored(held.core, filed.tracking)
    assert (case.transaction_id, case.department_id) == (None, None)
    assert case.agency_id == held.agencies[EMIRATE] and case.case_type == "enquiry"
    told = filed.as_dict()
    # The same answer as the applicant's own linked question, but for its own number
    # and times.
    for key in ("tracking", "acknowledge_due", "answer_due"):
        mine.pop(key), told.pop(key)
    assert told == mine
    with held.core.db.read() as session:
        event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
    # The staff see what was asked about, and that it was not linked.
    assert event.detail == {"channel": "api", "transaction": number, "linked": False}


def test_a_case_about_a_transaction_may_be_a_complaint(held):
    filed = ask(held, {"mobile": f.MOBILE}, type="complaint")
    case = stored(held.core, filed.tracking)
    assert case.case_type == "complaint" and case.department_id == rights_id(held.core)


def test_a_transaction_without_a_department_is_linked_to_the_emirate(held):
    held.core.record_event(f.registered("6600001", "2026-11-21T09:15:00+03:00"))
    case = stored(held.core, ask(held, {"mobile": f.MOBILE}, "6600001").tracking)
    assert case.transaction_id == transaction_id(held.core, "6600001")
    assert case.department_id is None


def test_a_case_without_a_transaction_is_filed_as_before(held):
    filed = held.voice.file_case({"type": "enquiry", "text": "كيف أجدد؟", "channel": "api",
                                  "citizen": {"mobile": f.MOBILE}}, now=held.tick())
    case = stored(held.core, filed.tracking)
    assert (case.transaction_id, case.department_id, filed.agency) == (None, None, EMIRATE)


@pytest.mark.parametrize("extra, message", [
    ({"transaction": "12ab"}, "4 to 20 digits"),
    ({"transaction": "123"}, "4 to 20 digits"),
    ({"transaction": NUMBER, "agency": "MUN"}, "names no agency"),
    ({"transaction": None}, "type is required"),
])
def test_a_malformed_filing_is_refused_with_nothing_filed(held, extra, message):
    body = {"text": "سؤال", "channel": "api", "citizen": {"mobile": f.MOBILE}, **extra}
    with held.core.db.read() as session:
        before = len(session.scalars(select(VoiceCase.id)).all())
    with pytest.raises(InvalidRequest, match=message):
        held.voice.file_case(body, now=held.tick())
    with held.core.db.read() as session:
        assert len(session.scalars(select(VoiceCase.id)).all()) == before


# --- the answer goes back on the channel the question came by ---------------------------


def _answered_by_department(held, filed_tracking: str):
    """The department's coordinator answers the enquiry; the citizen's notices by it."""
    from core.access.actors import COORDINATOR
    from tests.core.voice.test_departments import add_user

    coordinator = add_user(held.core, "coord_rights", COORDINATOR, held.agencies[EMIRATE],
                           rights_id(held.core))
    held.act(coordinator, filed_tracking, "answer", text="تصدر الإفادة يوم الأحد")
    from core.messaging.models import EmailThread, Notification
    with held.core.db.read() as session:
        case = session.scalars(select(VoiceCase).where(
            VoiceCase.tracking == filed_tracking)).one()
        sent = session.scalars(select(Notification).where(
            Notification.cause_key.startswith("voice:"),
            Notification.recipient.in_([case.citizen_mobile, case.citizen_email]))
            .order_by(Notification.id)).all()
        threads = {row.notification_id: row.references
                   for row in session.scalars(select(EmailThread))}
    answer = sent[-1]
    assert "تصدر الإفادة يوم الأحد" in answer.body
    return answer, threads.get(answer.id)


def test_an_e_mailed_enquiry_is_answered_in_its_e_mail_thread(held):
    filed = held.voice.file_case(
        {"transaction": NUMBER, "text": "متى تصدر الإفادة؟", "channel": "email",
         "citizen": {"email": f.EMAIL, "mobile": f.MOBILE}},
        now=held.tick(), email_thread="<first@citizen.example>")
    assert stored(held.core, filed.tracking).department_id == rights_id(held.core)
    answer, references = _answered_by_department(held, filed.tracking)
    assert (answer.channel, answer.recipient) == ("email", f.EMAIL)
    assert references == "<first@citizen.example>"


@pytest.mark.parametrize("channel", ["sms", "portal"])
def test_an_enquiry_by_sms_or_portal_is_answered_by_sms(held, channel):
    filed = held.voice.file_case(
        {"transaction": NUMBER, "text": "متى تصدر الإفادة؟", "channel": channel,
         "citizen": {"mobile": f.MOBILE, "email": f.EMAIL}}, now=held.tick())
    answer, references = _answered_by_department(held, filed.tracking)
    assert (answer.channel, answer.recipient, references) == ("sms", f.MOBILE_E164, None)
