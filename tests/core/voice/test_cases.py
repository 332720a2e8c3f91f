"""Filing a case and working it: what each step writes (events, answers, notifications)
and what it refuses, with nothing changed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.access.models import AuditEntry
from core.calendar import holidays
from core.messaging.models import Notification
from core.platform.errors import InvalidRequest, NotFound, WrongState
from core.voice import notices
from core.voice.models import CaseAnswer, CaseEvent, VoiceCase
from tests import factories as f
from tests.core.voice.conftest import CITIZEN_MOBILE, EMIRATE, HEALTH, MUN, PROOF


def rows(core, model, *where):
    with core.db.read() as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))


def stored(core, tracking: str) -> VoiceCase:
    [case] = rows(core, VoiceCase, VoiceCase.tracking == tracking)
    return case


def messages(core) -> list[Notification]:
    return rows(core, Notification)


def counts(core) -> tuple[int, int, int]:
    with core.db.read() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (VoiceCase, CaseEvent, Notification))


def filing(**extra) -> dict:
    return {"type": "complaint", "text": "انقطاع المياه منذ يومين", "channel": "sms",
            "lang": "ar", "agency": MUN,
            "citizen": {"mobile": "٠٥٥١٢٣٤٥٦٧", "national_id": f.NATIONAL_ID}, **extra}


# --- filing ------------------------------------------------------------------------------

def test_filing_records_times_and_acknowledges_in_one_go(world):
    filed = world.voice.file_case(filing(), now=world.tick())
    case = stored(world.core, filed.tracking)
    assert (filed.state, filed.agency, case.state) == ("received", MUN, "received")
    assert case.citizen_mobile == f.MOBILE_E164  # Arabic-Indic digits, normalised
    assert case.citizen_national_id_hash and f.NATIONAL_ID not in case.citizen_national_id_hash
    assert case.acknowledge_due and case.answer_due and case.policy_id
    [event] = rows(world.core, CaseEvent, CaseEvent.case_id == case.id)
    assert (event.action, event.from_state, event.to_state, event.actor_role) == \
        ("file", None, "received", "citizen")
    [sms] = messages(world.core)
    assert (sms.channel, sms.recipient, sms.audience, sms.language) == \
        ("sms", f.MOBILE_E164, "citizen", "ar")
    assert filed.tracking in sms.body and "74747" in sms.body and "شكواك" in sms.body
    assert len(sms.body) <= 70  # one UCS-2 segment


def test_an_english_filer_by_email_only_is_acknowledged_by_email(world):
    filed = world.voice.file_case(filing(type="suggestion", lang="en",
                                         citizen={"email": "sara@example.com"}))
    [mail] = messages(world.core)
    assert (mail.channel, mail.recipient, mail.language) == ("email", "sara@example.com", "en")
    assert mail.body.startswith("Your suggestion was received.") and filed.tracking in mail.body


def test_without_an_agency_a_case_goes_to_the_emirate(world):
    filed = world.voice.file_case(filing(agency=None))
    assert filed.agency == EMIRATE


def test_the_emirate_agency_is_made_on_first_need(core):
    filed = core.voice.file_case(filing(agency=None))
    assert filed.agency == "EMIRATE"


def test_a_complaint_about_an_agencys_own_staff_is_handled_by_the_emirate(world):
    filed = world.voice.file_case(filing(about_own_staff=True))
    case = stored(world.core, filed.tracking)
    assert filed.agency == EMIRATE
    assert (case.agency_id, case.about_agency_id) == \
        (world.agencies[EMIRATE], world.agencies[MUN])


@pytest.mark.parametrize(("change", "field"), [
    ({"citizen": {"name": "سارة"}}, "citizen"),  # no way to reach them
    ({"citizen": {"mobile": "0112345678"}}, "citizen.mobile"),  # a landline
    ({"citizen": {"mobile": f.MOBILE, "email": "not-an-address"}}, "citizen.email"),
    ({"citizen": {"mobile": f.MOBILE, "national_id": "3012345678"}}, "citizen.national_id"),
    ({"text": ""}, "text"),
    ({"text": "x" * 4001}, "text"),
    ({"text": "a\x00b"}, "text"),
    ({"type": "praise"}, "type"),
    ({"channel": "pigeon"}, "channel"),
    ({"lang": "fr"}, "lang"),
    ({"agency": "NOPE"}, "agency"),
    ({"category": "roads"}, "category"),  # no such category
    ({"about_own_staff": True, "type": "suggestion"}, "body"),
    ({"about_own_staff": True, "agency": None}, "body"),
    ({"about_own_staff": True, "agency": EMIRATE}, "about_own_staff"),
    ({"extra": 1}, "extra"),
])
def test_bad_filings_are_refused_and_change_nothing(world, change, field):
    before = counts(world.core)
    with pytest.raises((InvalidRequest, NotFound)) as refused:
        world.voice.file_case(filing(**change))
    assert (refused.value.field or "body").startswith(field)
    assert counts(world.core) == before


def test_a_category_must_be_the_agencys_and_take_the_type(world):
    world.voice.upsert_category("roads", {"agency": MUN, "name_ar": "الطرق", "name_en": "Roads",
                                          "types": ["complaint"]})
    assert world.voice.file_case(filing(category="roads")).state == "received"
    with pytest.raises(InvalidRequest, match="takes no suggestion"):
        world.voice.file_case(filing(category="roads", type="suggestion"))
    with pytest.raises(InvalidRequest, match="not one of HEALTH"):
        world.voice.file_case(filing(category="roads", agency=HEALTH))


def test_a_failed_notification_leaves_no_case_behind(world, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(notices, "to_citizen", broken)
    before = counts(world.core)
    with pytest.raises(RuntimeError):
        world.voice.file_case(filing())
    assert counts(world.core) == before


# --- working a complaint ---------------------------------------------------------------------

def test_a_question_by_e_mail_says_to_reply_to_the_e_mail(world):
    coordinator, specialist = world.coordinator(MUN), world.specialist(MUN)
    tracking = world.file(channel="email", citizen={"email": "sara@example.com"})
    world.act(coordinator, tracking, "assign", user=specialist.login)
    world.act(specialist, tracking, "start")
    world.act(specialist, tracking, "request_info", text="ما اسم الحي؟")
    [asked] = [m for m in messages(world.core) if m.kind == "voice_info_requested"]
    assert asked.channel == "email" and "نرجو الرد على هذه الرسالة" in asked.body
    assert "«تابع بلاغًا»" not in asked.body


def test_a_complaint_from_receipt_to_a_sent_answer(world):
    coordinator, specialist = world.coordinator(MUN), world.specialist(MUN)
    tracking = world.file()
    world.act(coordinator, tracking, "assign", user=specialist.login)
    [assigned] = [m for m in messages(world.core) if m.kind == "voice_assigned"]
    assert (assigned.audience, assigned.recipient) == ("staff", "+966543334455")
    assert tracking in assigned.body

    world.act(specialist, tracking, "start")
    world.act(specialist, tracking, "request_info", text="ما اسم الحي؟")
    case = stored(world.core, tracking)
    assert case.state == "awaiting_citizen" and case.paused_since == world.clock
    [asked] = [m for m in messages(world.core) if m.kind == "voice_info_requested"]
    assert "ما اسم الحي؟" in asked.body and asked.recipient == f.MOBILE_E164
    # It says how to answer: a reply to the SMS, or the portal's page for following it.
    assert "ردًا على هذه الرسالة" in asked.body and "«تابع بلاغًا»" in asked.body

    world.voice.citizen_act(tracking, "citizen_reply", PROOF, text="حي النسيم",
                            now=world.tick())
    case = stored(world.core, tracking)
    assert (case.state, case.paused_since) == ("in_progress", None)

    told = len(messages(world.core))
    world.act(specialist, tracking, "answer", text="المسودة الأولى")
    assert len(messages(world.core)) == told  # a draft tells the citizen nothing
    with pytest.raises(InvalidRequest):
        world.act(coordinator, tracking, "send_back")  # a reason is required
    world.act(coordinator, tracking, "send_back", reason="اذكر الموعد")
    assert [m.kind for m in messages(world.core)][-1] == "voice_sent_back"
    world.act(specialist, tracking, "answer", text="يصلح العطل يوم الأحد")
    view = world.act(coordinator, tracking, "approve")
    assert (view.state, view.answer, view.draft) == ("answered", "يصلح العطل يوم الأحد", None)

    [sent] = [m for m in messages(world.core) if m.kind == "voice_answered"]
    assert "يصلح العطل يوم الأحد" in sent.body and tracking in sent.body
    answers = rows(world.core, CaseAnswer)
    assert [(a.text, a.superseded, a.sent_at is not None) for a in answers] == [
        ("المسودة الأولى", True, False), ("يصلح العطل يوم الأحد", False, True)]
    assert answers[1].drafted_by == specialist.user_id
    assert answers[1].approved_by == coordinator.user_id
    case = stored(world.core, tracking)
    assert case.answered_at == world.clock and case.acknowledged_at is not None
    history = [(e.action, e.from_state, e.to_state, e.role, e.reason)
               for e in view.history]
    assert history == [
        ("file", None, "received", "citizen", ""),
        ("assign", "received", "assigned", "coordinator", ""),
        ("start", "assigned", "in_progress", "specialist", ""),
        ("request_info", "in_progress", "awaiting_citizen", "specialist", ""),
        ("citizen_reply", "awaiting_citizen", "in_progress", "citizen", ""),
        ("answer", "in_progress", "answer_drafted", "specialist", ""),
        ("send_back", "answer_drafted", "in_progress", "coordinator", "اذكر الموعد"),
        ("answer", "in_progress", "answer_drafted", "specialist", ""),
        ("approve", "answer_drafted", "answered", "coordinator", ""),
    ]


def test_a_coordinators_answer_is_sent_at_once(world):
    tracking = world.file()
    view = world.act(world.coordinator(MUN), tracking, "answer", text="تم الحل")
    assert view.state == "answered"
    assert [m.kind for m in messages(world.core)][-1] == "voice_answered"


@pytest.mark.parametrize("action", ["close", "not_competent"])
def test_closing_and_sending_back_need_a_reason(world, action):
    tracking = world.file()
    with pytest.raises(InvalidRequest, match="reason is required"):
        world.act(world.coordinator(MUN), tracking, action)


def test_a_suggestion_is_rejected_only_with_a_reason_which_the_citizen_is_told(world):
    tracking = world.walk("suggestion", "under_study")
    with pytest.raises(InvalidRequest):
        world.act(world.coordinator(MUN), tracking, "reject")
    world.act(world.coordinator(MUN), tracking, "reject", reason="خارج الميزانية")
    [told] = [m for m in messages(world.core) if m.kind == "voice_rejected"]
    assert "خارج الميزانية" in told.body


def test_an_accepted_suggestion_sends_the_specialists_draft(world):
    tracking = world.walk("suggestion", "answer_drafted")
    view = world.act(world.coordinator(MUN), tracking, "accept")
    assert (view.state, view.answer) == ("accepted", "سيصلح خلال أسبوع")
    assert stored(world.core, tracking).answered_at is not None


def test_not_competent_goes_back_to_the_emirate_and_out_of_the_agencys_sight(world):
    tracking = world.walk("complaint", "in_progress")
    world.act(world.coordinator(MUN), tracking, "not_competent", reason="من اختصاص الصحة")
    case = stored(world.core, tracking)
    assert (case.state, case.agency_id, case.assigned_user_id) == \
        ("received", world.agencies[EMIRATE], None)
    for login in ("coord_MUN", "spec_MUN", "leader_MUN"):
        with pytest.raises(NotFound):
            world.voice.case(world.users[login], tracking)
    world.act(world.coordinator(EMIRATE), tracking, "route", agency=HEALTH)
    assert world.voice.case(world.coordinator(HEALTH), tracking).state == "received"


def test_routing_to_an_unknown_or_the_same_agency_is_refused(world):
    tracking = world.file()
    for agency, code in (("NOPE", "unknown_agency"), (MUN, "same_agency")):
        with pytest.raises(InvalidRequest) as refused:
            world.act(world.coordinator(MUN), tracking, "route", agency=agency)
        assert refused.value.code == code


def test_only_a_specialist_of_the_agency_can_be_assigned(world):
    tracking = world.file()
    for login in ("spec_HEALTH", "coord_MUN", "nobody"):
        with pytest.raises(InvalidRequest, match="no active specialist"):
            world.act(world.coordinator(MUN), tracking, "assign", user=login)


def test_merging_into_another_open_case_of_the_agency(world):
    first, second = world.file(), world.file()
    other_agency = world.file(agency=HEALTH)
    for into in (first, other_agency, "7000000001"):
        with pytest.raises(InvalidRequest):
            world.act(world.coordinator(MUN), first, "merge", into=into)
    view = world.act(world.coordinator(MUN), first, "merge", into=second)
    assert (view.state, view.duplicate_of) == ("duplicate", second)
    assert [m.kind for m in messages(world.core)][-1] == "voice_merged"


# --- the citizen after the answer ----------------------------------------------------------

def test_a_rating_once_per_answer(world):
    tracking = world.walk("complaint", "answered")
    world.voice.citizen_act(tracking, "rate", PROOF, rating=5, now=world.tick())
    assert stored(world.core, tracking).rating == 5
    with pytest.raises(WrongState):
        world.voice.citizen_act(tracking, "rate", PROOF, rating=1, now=world.tick())
    for bad in (0, 6, True, None):
        with pytest.raises(InvalidRequest):
            world.voice.citizen_act(tracking, "rate", PROOF, rating=bad)


def test_reopening_starts_a_new_cycle_with_the_same_specialist(world):
    tracking = world.walk("complaint", "answered")
    first = stored(world.core, tracking)
    world.voice.citizen_act(tracking, "reopen", PROOF, now=world.tick())
    case = stored(world.core, tracking)
    assert (case.state, case.cycle, case.assigned_user_id) == \
        ("assigned", 2, first.assigned_user_id)
    assert case.cycle_started_at == world.clock and case.answered_at is None
    events = rows(world.core, CaseEvent, CaseEvent.case_id == case.id)
    assert [e.cycle for e in events][-2:] == [1, 2]
    # The second answer can be rated again.
    world.act(world.specialist(MUN), tracking, "start")
    world.act(world.coordinator(MUN), tracking, "answer", text="أعيد الإصلاح")
    world.voice.citizen_act(tracking, "rate", PROOF, rating=3, now=world.tick())


def test_reopening_after_the_window_is_refused(world):
    tracking = world.walk("complaint", "answered")
    # reopen_days (10) working days after a Sunday answer: two weeks and more is too late.
    with pytest.raises(WrongState, match="within 10 working days"):
        world.voice.citizen_act(tracking, "reopen", PROOF,
                                now=world.clock + timedelta(days=15))
    world.voice.citizen_act(tracking, "reopen", PROOF, now=world.clock + timedelta(days=13))


def test_a_holiday_in_the_window_gives_the_citizen_one_more_day(world):
    tracking = world.walk("complaint", "answered")  # Sunday 22 November 2026
    # The 10th working day would be Sunday 6 December; declared a holiday, Monday 7th.
    holidays.add(world.core.db, [date(2026, 12, 6)], "test", world.core.config)
    world.voice.citizen_act(tracking, "reopen", PROOF, now=world.clock + timedelta(days=15))


def test_a_citizen_who_proves_nothing_finds_nothing(world):
    tracking = world.walk("complaint", "awaiting_citizen")
    for proof in (PROOF.__class__(), PROOF.__class__(mobile="not a number"),
                  PROOF.__class__(national_id="1012345678")):
        with pytest.raises(NotFound):
            world.voice.citizen_act(tracking, "citizen_reply", proof, text="نعم")
    assert world.voice.status(tracking, PROOF.__class__(mobile=CITIZEN_MOBILE)).state == \
        "awaiting_citizen"


# --- reading -------------------------------------------------------------------------------

def test_readers_see_the_citizens_contact_masked_and_handlers_in_full(world):
    filed = world.voice.file_case(filing(
        text="اتصلوا بي على 0551234567", citizen={"mobile": f.MOBILE, "name": "سارة",
                                                  "email": "sara@example.com",
                                                  "national_id": f.NATIONAL_ID}))
    full = world.voice.case(world.coordinator(MUN), filed.tracking)
    assert (full.citizen.name, full.citizen.mobile, full.citizen.email,
            full.citizen.has_national_id, full.redacted) == \
        ("سارة", f.MOBILE_E164, "sara@example.com", True, False)
    for login in ("leader_MUN", "leadership"):
        seen = world.voice.case(world.users[login], filed.tracking)
        assert seen.redacted and seen.citizen.name is None
        assert seen.citizen.mobile == "+966*******67"
        assert seen.citizen.email == "s***@example.com"
        assert not seen.citizen.has_national_id
        assert "0551234567" not in seen.text
    with pytest.raises(NotFound):
        world.voice.case(world.users["admin"], filed.tracking)


def test_every_read_is_audited(world):
    tracking = world.file()
    world.voice.case(world.users["leader_MUN"], tracking)
    world.voice.cases(world.users["leader_MUN"], state="received")
    entries = rows(world.core, AuditEntry)
    assert [(e.user_id, e.action, e.object_kind, e.object_id) for e in entries][-2:] == [
        (world.users["leader_MUN"].user_id, "read", "voice_case", tracking),
        (world.users["leader_MUN"].user_id, "read", "voice_cases", "")]


def test_lists_hold_what_each_may_see(world):
    at_mun = world.walk("complaint", "assigned")
    at_health = world.file(agency=HEALTH)
    at_emirate = world.file(agency=None)

    def listed(login, **filters):
        return {row.tracking for row in world.voice.cases(world.users[login], **filters).cases}

    assert listed("coord_MUN") == {at_mun}
    assert listed("spec_MUN") == {at_mun}
    assert listed("spec2_MUN") == set()
    assert listed("leader_HEALTH") == {at_health}
    assert listed("coord_EMIRATE") == listed("leadership") == {at_mun, at_health, at_emirate}
    assert listed("admin") == set()
    assert listed("leadership", state="received") == {at_health, at_emirate}
    with pytest.raises(InvalidRequest):
        world.voice.cases(world.users["leadership"], state="lost")
