"""``استفسار <transaction number> <question>`` against the SMSC peer (node-smpp): the
applicant's question is filed about their transaction, held by the department holding it,
answered with its tracking number; the department's answer comes back by SMS. A
stranger's question about the same number files an ordinary enquiry and is told alike."""

from __future__ import annotations

import pytest

from core.voice import notices
from tests import factories as f
from tests.channels.sms.test_channel import until
from tests.channels.sms.test_voice_smsc import parts_to, received
from tests.core.voice.conftest import (
    build_world,
    cases,
    hold_transaction,
    rights_coordinator,
    rights_id,
)

APPLICANT = "966551234567"  # f.MOBILE as the SMSC writes it
STRANGER = "966501239876"
NUMBER = "4471234"


@pytest.fixture
def world(core):
    world = build_world(core)
    hold_transaction(core, NUMBER)
    return world


@pytest.fixture
def channel(make_channel):
    channel = make_channel()
    assert channel.session.wait_bound(10)
    return channel


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
    assert case.department_id == rights_id(core) and case.transaction_id is not None
    assert reply == notices.received("enquiry", case.tracking, "74747", "ar")

    # The department's coordinator answers; the answer comes back by SMS.
    coordinator = rights_coordinator(world)
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
