"""The foundations the channels stand on: a channel message files a case (or makes a
citizen's act) once; the filing limits per citizen and per origin, shared by every
process and forgotten on time; the citizen's own cases found by their mobile; the case
as its citizen sees it; photos and recordings within their limits, for staff who may see
the case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.platform.clock import utcnow
from core.platform.errors import Conflict, InvalidRequest, NotFound, TooMany
from core.platform.models import FailureCount
from core.voice import limits
from core.voice.actions import CitizenProof
from core.voice.attachments import NewAttachment
from core.voice.models import CaseEvent, VoiceCase
from core.voice.service import VoiceService
from gateway.bootstrap import build_core
from tests.conftest import make_settings
from tests.core.database_checks import at_once
from tests.core.voice.conftest import CITIZEN_MOBILE, HEALTH, MUN, PROOF, count

STRANGER = CitizenProof(mobile="0559998877")
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100


def body(mobile: str = CITIZEN_MOBILE, **extra) -> dict:
    return {"type": "complaint", "text": "الرصيف مكسور", "channel": "sms", "lang": "ar",
            "agency": MUN, "citizen": {"mobile": mobile}, **extra}


def acknowledgements(core) -> int:
    from core.messaging.models import Notification

    return count(core, Notification, Notification.kind == "voice_received")


# --- once per channel message -------------------------------------------------------------


def test_the_same_source_key_files_one_case_and_one_acknowledgement(world, core):
    first = core.voice.file_case(body(), source_key="sms:abc-1", self_service=True)
    again = core.voice.file_case(body(), source_key="sms:abc-1", self_service=True)
    assert (first.replayed, again.replayed) == (False, True)
    assert again.tracking == first.tracking
    assert count(core, VoiceCase) == 1 and acknowledgements(core) == 1
    # A replay is no new filing: it does not count against the citizen's day.
    assert limits_used(core) == 1


def test_a_source_key_replayed_with_another_text_is_refused_and_files_nothing(world, core):
    """An Idempotency-Key a client reuses for a second complaint is its mistake, not a
    retry: the second complaint must not be silently taken for the first."""
    first = core.voice.file_case(body(), source_key="api:hall-1:key-1", self_service=True)
    with pytest.raises(Conflict) as refused:
        core.voice.file_case(body(text="الإنارة معطلة"), source_key="api:hall-1:key-1",
                             self_service=True)
    assert refused.value.code == "idempotency_key_reused"
    assert count(core, VoiceCase) == 1
    assert core.voice.file_case(body(), source_key="api:hall-1:key-1").tracking == \
        first.tracking


def limits_used(core) -> int:
    keys, _origins = core.voice.limits._keys(limits.Filer(CITIZEN_MOBILE, None, None))
    return core.voice.limits._citizens.counts(keys).get(keys[0], 0)


def test_two_filings_of_one_message_at_once_file_one_case(world, core, settings):
    config = core.voice._config

    def file(db):
        return VoiceService(db, config).file_case(body(), source_key="email:<m1@x>")

    results = at_once(settings.database.url, file, runners=2)
    assert len({filed.tracking for filed in results}) == 1
    assert sorted(filed.replayed for filed in results) == [False, True]
    assert count(core, VoiceCase) == 1 and acknowledgements(core) == 1


def test_a_citizens_act_with_the_same_source_key_is_made_once(world, core):
    tracking = world.walk("complaint", "awaiting_citizen")
    core.voice.citizen_act(tracking, "citizen_reply", PROOF, text="المدرسة الثانوية",
                           source_key="sms:reply-1")
    again = core.voice.citizen_act(tracking, "citizen_reply", PROOF, text="المدرسة الثانوية",
                                   source_key="sms:reply-1")
    assert again.state == "in_progress"
    assert count(core, CaseEvent, CaseEvent.action == "citizen_reply") == 1
    assert count(core, CaseEvent, CaseEvent.source_key == "sms:reply-1") == 1


# --- filing limits ------------------------------------------------------------------------


def test_the_sixth_case_of_a_mobile_in_a_day_is_refused_with_nothing_filed(world, core):
    # One citizen however the mobile is typed.
    for mobile in ("0551234567", "+966551234567", "٠٥٥١٢٣٤٥٦٧", "966551234567",
                   "055 123 4567"):
        core.voice.file_case(body(mobile), self_service=True)
    before = count(core, VoiceCase), acknowledgements(core)
    with pytest.raises(TooMany) as refused:
        core.voice.file_case(body(), self_service=True)
    assert refused.value.code == "too_many_cases" and refused.value.retry_after == 86400
    assert (count(core, VoiceCase), acknowledgements(core)) == before
    # Another citizen files on.
    core.voice.file_case(body("0561234567"), self_service=True)


def test_staff_filing_for_citizens_is_not_limited(world, core):
    for _ in range(7):
        core.voice.file_case(body(), actor=world.coordinator(MUN))
    assert count(core, VoiceCase) == 7


def test_the_origin_limit_counts_an_ipv6_slash_64_as_one(world, core, database_url,
                                                         tmp_path):
    limited = build_core(make_settings(database_url, tmp_path,
                                       voice={"max_cases_per_origin": 2}),
                         background_log=False)
    try:
        voice = limited.voice
        voice.file_case(body("0551000001"), self_service=True, origin="2001:db8:1:2::10")
        voice.file_case(body("0551000002"), self_service=True, origin="2001:db8:1:2::ff:1")
        with pytest.raises(TooMany) as refused:
            voice.file_case(body("0551000003"), self_service=True,
                            origin="2001:db8:1:2:abcd::1")
        assert refused.value.retry_after == 3600
        voice.file_case(body("0551000003"), self_service=True, origin="2001:db8:1:3::1")
        # A kiosk (no origin) counts only the citizen.
        voice.file_case(body("0551000004"), self_service=True, origin=None)
    finally:
        limited.close()
    assert count(core, VoiceCase) == 4


def test_a_mail_domain_has_an_allowance_of_its_own(world, core, database_url, tmp_path):
    limited = build_core(make_settings(database_url, tmp_path,
                                       voice={"max_cases_per_origin": 1,
                                              "max_cases_per_mail_domain": 3}),
                         background_log=False)

    def by_mail(n: int) -> None:
        address = f"citizen{n}@Gmail.com"
        limited.voice.file_case(
            {**body(), "channel": "email", "citizen": {"email": address}},
            self_service=True, origin=limits.mail_domain(address))

    try:
        for n in range(3):  # more than one origin's share: one webmail, many citizens
            by_mail(n)
        with pytest.raises(TooMany):
            by_mail(3)
        # A web client is still held to the origin limit.
        limited.voice.file_case(body("0551000001"), self_service=True, origin="10.0.0.1")
        with pytest.raises(TooMany):
            limited.voice.file_case(body("0551000002"), self_service=True,
                                    origin="10.0.0.1")
    finally:
        limited.close()
    assert count(core, VoiceCase) == 4


def test_two_cores_on_one_database_share_the_counters(world, core, settings):
    other = build_core(settings, background_log=False)
    try:
        for voice in (core.voice, other.voice, core.voice, other.voice, core.voice):
            voice.file_case(body(), self_service=True)
        for voice in (core.voice, other.voice):
            with pytest.raises(TooMany):
                voice.file_case(body(), self_service=True)
    finally:
        other.close()
    assert count(core, VoiceCase) == 5


def test_the_upkeep_forgets_each_counter_after_its_own_window(world, core):
    now = utcnow()
    with core.db.write.begin() as session:
        session.add_all([
            FailureCount(key=limits.KEY_PREFIX + "young-filing", failures=3,
                         since=(now - timedelta(hours=20)).timestamp()),
            FailureCount(key=limits.KEY_PREFIX + "old-filing", failures=3,
                         since=(now - timedelta(hours=25)).timestamp()),
            FailureCount(key="inquiry-old", failures=3,
                         since=(now - timedelta(hours=2)).timestamp()),
            FailureCount(key="inquiry-fresh", failures=1, since=now.timestamp()),
        ])
    assert core.upkeep.forget_old_failures(now=now) == 2
    with core.db.read() as session:
        left = set(session.scalars(select(FailureCount.key)))
    assert left == {limits.KEY_PREFIX + "young-filing", "inquiry-fresh"}


# --- the citizen's own cases --------------------------------------------------------------


def test_awaiting_the_citizen_and_rating_find_their_case_and_nothing_for_a_stranger(world,
                                                                                   core):
    waiting = world.walk("complaint", "awaiting_citizen")
    answered = world.walk("complaint", "answered")
    world.file()  # newer, but waits for nobody
    assert core.voice.awaiting_citizen(PROOF).tracking == waiting
    assert core.voice.awaiting_rating(PROOF).tracking == answered
    assert core.voice.awaiting_citizen(CitizenProof(mobile="+966551234567")).tracking \
        == waiting
    for proof in (STRANGER, CitizenProof(email="someone@example.com"), CitizenProof()):
        assert core.voice.awaiting_citizen(proof) is None
        assert core.voice.awaiting_rating(proof) is None


def test_a_case_answered_long_ago_may_be_rated_until_it_is(world, core):
    answered = world.walk("complaint", "answered")
    with core.db.write.begin() as session:  # answered two months ago: no reopening now
        case = session.scalar(select(VoiceCase).where(VoiceCase.tracking == answered))
        case.answered_at -= timedelta(days=60)
        case.cycle_started_at -= timedelta(days=60)
    assert core.voice.awaiting_rating(PROOF).tracking == answered
    core.voice.citizen_act(answered, "rate", PROOF, rating=4)
    assert core.voice.awaiting_rating(PROOF) is None


def test_the_citizen_sees_no_draft_no_comment_and_no_staff_name(world, core):
    tracking = world.file()
    coordinator, specialist = world.coordinator(MUN), world.specialist(MUN)
    world.act(coordinator, tracking, "assign", user=specialist.login)
    world.act(specialist, tracking, "start")
    world.act(specialist, tracking, "answer", text="FIRST-DRAFT")
    world.act(coordinator, tracking, "send_back", reason="SENT-BACK-REASON")
    world.act(specialist, tracking, "comment", text="STAFF-NOTE")
    world.act(specialist, tracking, "answer", text="SECOND-DRAFT")
    unsent = core.voice.citizen_view(tracking, PROOF)
    assert unsent.answer is None and unsent.state == "answer_drafted"
    world.act(coordinator, tracking, "approve")
    view = core.voice.citizen_view(tracking, PROOF)
    assert view.answer == "SECOND-DRAFT"
    shown = repr(view)
    for hidden in ("FIRST-DRAFT", "SENT-BACK-REASON", "STAFF-NOTE", specialist.login,
                   coordinator.login, "coord_", "spec_"):
        assert hidden not in shown, hidden
    assert [step.what for step in view.history] == ["file", "assign", "answer"]
    assert view.may_rate and view.may_reopen
    with pytest.raises(NotFound):
        core.voice.citizen_view(tracking, STRANGER)
    with pytest.raises(NotFound):
        core.voice.citizen_view(unsent.tracking, CitizenProof(email="x@example.com"))


# --- attachments --------------------------------------------------------------------------


def photo(content_type: str = "image/jpeg") -> NewAttachment:
    return NewAttachment("photo", content_type, data=JPEG)


def test_attachments_within_their_limits_and_only_for_staff_who_see_the_case(world, core):
    with pytest.raises(InvalidRequest) as four:
        core.voice.file_case(body(), attachments=[photo()] * 4)
    assert four.value.field == "photos"
    with pytest.raises(InvalidRequest):
        core.voice.file_case(body(), attachments=[photo("application/pdf")])
    with pytest.raises(InvalidRequest):  # an empty photo
        core.voice.file_case(body(), attachments=[NewAttachment("photo", "image/png",
                                                                data=b"")])
    with pytest.raises(InvalidRequest):  # a "recording" that is no audio
        core.voice.file_case(body(), attachments=[
            NewAttachment("recording", "text/html", data=b"<script>alert(1)</script>")])
    with pytest.raises(InvalidRequest):
        core.voice.file_case(body(), attachments=[
            NewAttachment("recording", "audio/wav", source_url="https://api.example/r1"),
            NewAttachment("recording", "audio/wav", source_url="https://api.example/r2")])
    assert count(core, VoiceCase) == 0  # a refused attachment files nothing

    tracking = core.voice.file_case(body(), attachments=[photo(), photo("image/png"),
                                                         photo("image/webp")]).tracking
    coordinator = world.coordinator(MUN)
    listed = core.voice.attachments(coordinator, tracking)
    assert [a.content_type for a in listed] == ["image/jpeg", "image/png", "image/webp"]
    assert core.voice.attachment(coordinator, tracking, listed[0].id) == ("image/jpeg", JPEG)
    for outsider in (world.coordinator(HEALTH), world.users["leader_HEALTH"],
                     world.specialist(HEALTH)):
        with pytest.raises(NotFound):
            core.voice.attachment(outsider, tracking, listed[0].id)
        with pytest.raises(NotFound):
            core.voice.attachments(outsider, tracking)
    other = core.voice.file_case(body(), actor=coordinator).tracking
    with pytest.raises(NotFound):  # an id of another case
        core.voice.attachment(coordinator, other, listed[0].id)
