"""Multi-part MO against the real SMSC peer (node-smpp): each part is stored before its
deliver_sm_resp, so the gateway killed with SIGKILL between the parts loses none, a
redelivered part is no second message, and a message whose other parts never come is
stored as it is after the reassembly timeout, also when its parts outlived the process."""

from __future__ import annotations

import signal
from dataclasses import replace

import pytest
from sqlalchemy import select

from channels.sms.channel import SmsChannel
from channels.sms.reassembly import GAP
from core.messaging.models import InboundPart
from core.transactions import render
from tests import factories as f
from tests import processes
from tests.channels.sms.smsc_settings import sms_environment, sms_settings
from tests.channels.sms.test_channel import (  # noqa: F401 (reference is a fixture)
    APPLICANT,
    FAST,
    accepted,
    inbound,
    notifications,
    reference,
    register,
    status_text,
    until,
)

# 79 characters: two UCS-2 parts of 67 and 12; the number is all in the second.
INQUIRY = "استعلام " * 9 + "٤٤٧١٢٣٤"
FIRST, SECOND = INQUIRY[:67], INQUIRY[67:]


def udh_part(text: str, seq: int, total: int = 2, concat_ref: int = 0x5A) -> dict:
    """One part of a concatenated UCS-2 MO, as the SMSC peer's raw short_message."""
    header = bytes([0x05, 0x00, 0x03, concat_ref, total, seq])
    return {"short_message_hex": (header + text.encode("utf-16-be")).hex(),
            "esm_class": 0x40, "data_coding": 0x08, "source_addr": APPLICANT}


def mo_resps(smsc, count: int) -> list[dict]:
    """The first ``count`` answers to MO deliver_sms, once they are all in."""
    return smsc.wait_for(lambda s: (r := [x for x in s["deliver_sm_resps"]
                                          if x.get("kind", "mo") == "mo"])
                         and len(r) >= count and r[:count])


def stored_parts(core) -> list[InboundPart]:
    with core.db.read() as session:
        return list(session.scalars(select(InboundPart).order_by(InboundPart.id)))


def answers_to_applicant(state) -> list[dict]:
    return [s for s in state["submits"]
            if s["message_id"] and s["destination_addr"] == APPLICANT]


@pytest.fixture
def make_channel(reference, smsc):  # noqa: F811
    made: list[SmsChannel] = []

    def make(timings=FAST) -> SmsChannel:
        channel = SmsChannel(reference, sms_settings(smsc), timings=timings)
        made.append(channel)
        channel.start()
        assert channel.session.wait_bound(10)
        return channel

    yield make
    for channel in made:
        channel.stop()


@pytest.fixture
def killed_after_first_part(reference, smsc, database_url, tmp_path):  # noqa: F811
    """`gateway sms` in a process of its own takes the first part, acknowledges it, and
    is killed with SIGKILL before the second comes."""
    process = processes.start("sms", processes.environment(database_url, tmp_path,
                                                           **sms_environment(smsc)))
    try:
        smsc.wait_for(lambda s: s["bound"], timeout=40)
        smsc.send_mo(**udh_part(FIRST, 1))
        [resp] = mo_resps(smsc, 1)
        assert resp["status"] == 0
    finally:
        output = processes.stop(process, signal.SIGKILL, timeout=20)
    assert process.returncode == -signal.SIGKILL, output
    # Acknowledged, so the SMSC will never send it again: the database has it.
    assert [(p.seq, p.joined_at) for p in stored_parts(reference)] == [(1, None)]
    assert inbound(reference) == []
    smsc.wait_for(lambda s: not s["bound"], timeout=20)


def test_a_gateway_killed_between_two_parts_answers_the_whole_inquiry_once(
        reference, smsc, make_channel, killed_after_first_part):  # noqa: F811
    register(reference)
    expected = status_text(reference)

    make_channel()  # the restart
    smsc.send_mo(**udh_part(SECOND, 2))

    [answer] = smsc.wait_for(lambda s: accepted(s, expected))
    assert answer["destination_addr"] == APPLICANT
    [row] = until(lambda: [m for m in inbound(reference) if m.status == "answered"])
    assert row.text == INQUIRY and row.sender == f.MOBILE_E164
    [reply] = until(lambda: notifications(reference, kind="answer", status="sent"))
    assert reply.body == expected
    assert [r["status"] for r in mo_resps(smsc, 2)] == [0, 0]
    assert all(p.joined_at is not None for p in stored_parts(reference))


def test_an_incomplete_message_is_stored_as_it_is_after_the_timeout_across_a_restart(
        reference, smsc, make_channel, killed_after_first_part):  # noqa: F811
    # The restarted channel waits one second for missing parts instead of five minutes.
    make_channel(replace(FAST, reassembly_timeout=1.0))

    [row] = until(lambda: [m for m in inbound(reference) if m.status == "answered"])

    assert row.text == FIRST + GAP and row.sender == f.MOBILE_E164
    [reply] = until(lambda: notifications(reference, kind="answer", status="sent"))
    assert reply.body == render.help_text("ar", "74747")  # no number in what came
    assert [s["text"] for s in answers_to_applicant(smsc.state())] == [reply.body]


def test_redelivered_parts_make_one_message_answered_once(reference, smsc, make_channel):  # noqa: F811
    register(reference)
    expected = status_text(reference)
    make_channel(replace(FAST, reassembly_timeout=1.0))

    smsc.send_mo(**udh_part(FIRST, 1))
    smsc.send_mo(**udh_part(FIRST, 1))  # the SMSC redelivers a part still waiting
    assert [r["status"] for r in mo_resps(smsc, 2)] == [0, 0]
    smsc.send_mo(**udh_part(SECOND, 2))
    smsc.wait_for(lambda s: accepted(s, expected))
    smsc.send_mo(**udh_part(SECOND, 2))  # ... and one whose message is done
    smsc.send_mo(**udh_part(FIRST, 1))
    assert [r["status"] for r in mo_resps(smsc, 5)] == [0] * 5

    # The joined parts are forgotten a timeout later: by then a stray part would have
    # been stored as a message of its own.
    until(lambda: stored_parts(reference) == [])
    [row] = inbound(reference)
    assert row.text == INQUIRY and row.status == "answered"
    assert len(accepted(smsc.state(), expected)) == 1
    assert len(notifications(reference, kind="answer")) == 1


def test_sar_parts_are_joined_through_the_database(reference, smsc, make_channel):  # noqa: F811
    make_channel()

    smsc.send_mo(INQUIRY, source_addr=APPLICANT, split="sar", reverse_parts=True)

    [row] = until(lambda: inbound(reference))
    assert row.text == INQUIRY
    assert [r["status"] for r in mo_resps(smsc, 2)] == [0, 0]
    assert sorted(p.seq for p in stored_parts(reference)) == [1, 2]
