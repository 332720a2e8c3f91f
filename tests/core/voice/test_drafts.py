"""The portal's drafts (core.voice.drafts) and the tracking page's access
(core.voice.citizen_access, core.voice.lookups): nothing sent for a filing that would be
refused, a draft filed once, old drafts and codes forgotten, failed lookups counted per
number too."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.messaging.models import Notification, OneTimeCode
from core.platform.clock import utcnow
from core.platform.errors import InvalidRequest, NotFound, TooMany
from core.platform.models import FailureCount
from core.voice.attachments import NewAttachment
from core.voice.models import CaseAttachment, CaseDraft, VoiceCase
from tests.core.voice.conftest import CITIZEN_MOBILE, MUN, World, count

BODY = {"type": "complaint", "text": "الرصيف مكسور", "channel": "portal", "lang": "ar",
        "agency": MUN, "citizen": {"mobile": CITIZEN_MOBILE}}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00"
       b"\x00\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe"
       b"\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def code_sent(core) -> str:
    with core.db.read() as session:
        body = session.scalar(select(Notification.body).where(Notification.kind == "code")
                              .order_by(Notification.id.desc()).limit(1))
    return re.search(r"\d{6}", body).group(0)


def test_a_draft_is_filed_once_with_its_photo_and_the_proven_mobile(core, world: World):
    sent = core.voice.drafts.start(BODY, [NewAttachment("photo", "image/png", PNG)],
                                   origin="10.0.0.1")
    code = code_sent(core)
    first = core.voice.drafts.confirm(sent.code_id, code, origin="10.0.0.1")
    again = core.voice.drafts.confirm(sent.code_id, code, origin="10.0.0.1")
    assert again.tracking == first.tracking and again.replayed
    assert count(core, VoiceCase) == 1 and count(core, CaseAttachment) == 1
    assert count(core, CaseDraft) == 0


@pytest.mark.parametrize("change", [
    {"text": ""}, {"category": "NOPE"}, {"agency": "NOWHERE"},
    {"citizen": {"email": "a@example.com"}},
])
def test_nothing_is_sent_for_a_filing_that_would_be_refused(core, world, change):
    with pytest.raises((InvalidRequest, NotFound)):
        core.voice.drafts.start({**BODY, **change}, [], origin="10.0.0.1")
    assert count(core, Notification) == 0 and count(core, CaseDraft) == 0


def test_nothing_is_sent_over_the_filing_limits(core, world, monkeypatch):
    monkeypatch.setattr(core.config.voice, "max_cases_per_citizen", 1)
    world.voice.file_case(BODY, self_service=True, origin="10.0.0.9")
    with pytest.raises(TooMany):
        core.voice.drafts.start(BODY, [], origin="10.0.0.1")
    assert count(core, Notification.__table__) == 1  # the first case's acknowledgement


def test_a_fourth_photo_is_refused_before_the_code(core, world):
    with pytest.raises(InvalidRequest):
        core.voice.drafts.start(BODY, [NewAttachment("photo", "image/png", PNG)] * 4,
                                origin=None)
    assert count(core, OneTimeCode) == 0


def test_the_upkeep_forgets_old_drafts_and_codes(core, world):
    core.voice.drafts.start(BODY, [NewAttachment("photo", "image/png", PNG)], origin=None)
    assert core.upkeep.forget_old_codes(now=utcnow()) == 0
    assert core.upkeep.forget_old_codes(now=utcnow() + timedelta(days=2)) == 2
    assert count(core, CaseDraft) == count(core, OneTimeCode) == 0


def test_one_cases_mobile_is_guessed_once_per_place_when_under_attack(core, world):
    tracking = world.file()
    under_attack = core.voice.lookups.per_tracking * 2
    for n in range(under_attack):
        with pytest.raises(NotFound):
            core.voice.citizens.look_up(tracking, f"05698765{n:02d}", origin=f"10.0.{n}.1")
    # Every place that guessed has had its one guess, the right mobile or not.
    with pytest.raises(TooMany):
        core.voice.citizens.look_up(tracking, CITIZEN_MOBILE, origin="10.0.0.1")
    # A new place gets one; the citizen's own is answered.
    with pytest.raises(NotFound):
        core.voice.citizens.look_up(tracking, "0569876599", origin="10.7.7.7")
    with pytest.raises(TooMany):
        core.voice.citizens.look_up(tracking, "0569876598", origin="10.7.7.7")
    assert core.voice.citizens.look_up(tracking, CITIZEN_MOBILE, origin="10.9.9.9").tracking \
        == tracking
    with core.db.read() as session:  # the counters' keys fit their column (PostgreSQL)
        assert max(len(key) for key in session.scalars(select(FailureCount.key))) <= 64
