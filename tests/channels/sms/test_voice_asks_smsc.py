"""``استفسار <transaction number> <question>`` against the SMSC peer (node-smpp): the
applicant's question is filed about their transaction, held by the department holding it,
answered with its tracking number; the department's answer comes back by SMS. A
stranger's question about the same number files an ordinary enquiry and is told alike."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.access.actors import COORDINATOR, Actor
from core.access.models import StaffUser
from core.directory.models import Department
from core.voice import notices
from core.voice.models import VoiceCase
from tests import factories as f
from tests.channels.sms.test_channel import until
from tests.channels.sms.test_voice_smsc import parts_to, received
from tests.core.voice.conftest import EMIRATE, add_user, build_world

APPLICANT = "966551234567"  # f.MOBILE as the SMSC writes it
STRANGER = "966501239876"
NUMBER = "4471234"


@pytest.fixture
def world(core):
    world = build_world(core)
    core.upsert_department("RIGHTS", f.department())
    core.record_event(f.registered(NUMBER, "2026-11-20T09:15:00+03:00"))
    core.record_event(f.event("referred", NUMBER, "2026-11-20T10:00:00+03:00",
                              department="RIGHTS"))
    return world


@pytest.fixture
def channel(make_channel):
    channel = make_channel()
    assert channel.session.wait_bound(10)
    return channel


def cases(core) -> list[VoiceCase]:
    with core.db.read() as session:
        return list(session.scalars(select(VoiceCase).order_by(VoiceCase.id)))


def rights(core) -> int:
    with core.db.read() as session:
        return session.scalars(select(Department.id).where(Department.code == "RIGHTS")).one()


def texts_with(smsc, destination: str, needle: str) -> list[str]:
    """The whole messages the phone received that carry ``needle``, once one is in (the
    applicant's phone has the registration notice too)."""
    def found(state):
        texts = ["".join(parts) for parts in parts_to(state, destination)]
        return [text for text in texts if needle in text] or None
    return smsc.wait_for(found, timeout=15)


def test_an_sms_question_about_a_transaction(world, core, smsc, channel):
    smsc.send_mo(f"استفسار {NUMBER} هل ينقص معاملتي مستند؟", source_addr=APPLICANT)
    [case] = until(lambda: cases(core))
    [reply] = texts_with(smsc, APPLICANT, case.tracking)
    assert (case.case_type, case.channel, case.citizen_mobile) == \
        ("enquiry", "sms", f.MOBILE_E164)
    assert case.department_id == rights(core) and case.transaction_id is not None
    assert reply == notices.received("enquiry", case.tracking, "74747", "ar")

    # The department's coordinator answers; the answer comes back by SMS.
    user = add_user(core, "coord_rights", COORDINATOR, world.agencies[EMIRATE])
    with core.db.write.begin() as session:
        session.get(StaffUser, user.user_id).department_id = rights(core)
    coordinator = Actor(user.user_id, user.login, user.name, user.role, user.agency_id,
                        department_id=rights(core))
    core.voice.act(coordinator, case.tracking, {"action": "answer",
                                                "text": "لا ينقصها شيء."})
    [answer] = texts_with(smsc, APPLICANT, "لا ينقصها شيء.")
    assert case.tracking in answer

    # A stranger asks about the same number: an ordinary enquiry, told alike.
    smsc.send_mo(f"استفسار {NUMBER} هل ينقص معاملتي مستند؟", source_addr=STRANGER)
    [told] = received(smsc, STRANGER, 1)
    _, theirs = until(lambda: len(cases(core)) == 2 and cases(core))
    assert (theirs.case_type, theirs.transaction_id, theirs.department_id) == \
        ("enquiry", None, None)
    assert told == notices.received("enquiry", theirs.tracking, "74747", "ar")
