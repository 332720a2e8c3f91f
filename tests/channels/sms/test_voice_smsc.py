"""A case's whole life by SMS alone, against the SMSC peer (node-smpp): a long complaint in
concatenated parts filed once and answered with its tracking number, a question from the
agency answered by SMS, the answer received in whole words, rated with 4 and reopened
with 0; a stranger's SMS with the tracking number tells nothing, and a redelivered MO
files nothing twice."""

from __future__ import annotations

import re

import pytest

from channels.sms.encoding import segment_count
from core.transactions import render
from core.voice import notices
from tests import factories as f
from tests.channels.sms.test_channel import until
from tests.core.voice.conftest import EMIRATE, PROOF, cases
from tests.core.voice.conftest import world as world  # noqa: F401  (the fixture)

CITIZEN = "966551234567"  # the world's citizen (f.MOBILE) as the SMSC writes it
STRANGER = "966501239876"
COMPLAINT = ("شكوى الرصيف أمام مدرسة النور الابتدائية في حي النزهة مكسور منذ شهرين، "
             "وقد سقط عليه طفلان هذا الأسبوع، والحفرة تمتلئ بالماء كلما سقى البلدية "
             "الأشجار، فنرجو إصلاحه قبل بداية الفصل الدراسي القادم.")
ANSWER = ("أصلحت البلدية الرصيف أمام مدرسة النور الابتدائية يوم الأحد، وردمت الحفرة، "
          "وعدّلت مسار مياه السقي بعيدًا عن الممر، ونشكر لك بلاغك.")


@pytest.fixture
def channel(make_channel):
    channel = make_channel()
    assert channel.session.wait_bound(10)
    return channel


def parts_to(state, destination: str) -> list[list[str]]:
    """Each message the phone at ``destination`` has whole, its parts in order as texts
    (a concatenated one once all its parts are in)."""
    grouped: dict[str, dict[int, str]] = {}
    totals: dict[str, int] = {}
    for submit in state["submits"]:
        if submit["message_id"] and submit["destination_addr"] == destination:
            udh = submit["udh"] or ""
            key = udh[6:8] if udh else f"single-{submit['sequence']}"
            totals[key] = int(udh[8:10], 16) if udh else 1
            grouped.setdefault(key, {})[int(udh[10:12], 16) if udh else 1] = submit["text"]
    return [[parts[seq] for seq in sorted(parts)] for key, parts in grouped.items()
            if len(parts) == totals[key]]


def received(smsc, destination: str, count: int) -> list[str]:
    """The first ``count`` whole messages the phone received, once they are in."""
    return smsc.wait_for(lambda state: (texts := ["".join(p) for p in
                                                  parts_to(state, destination)])
                         and len(texts) >= count and texts, timeout=15)


def test_a_case_s_whole_life_by_sms_alone(world, core, smsc, channel):
    # File: a complaint longer than one SMS, in concatenated UCS-2 parts (out of order).
    sent = smsc.send_mo(COMPLAINT, source_addr=CITIZEN, split="udh", reference=0x33,
                        reverse_parts=True)
    assert len(sent) == 3
    [ack] = received(smsc, CITIZEN, 1)
    [case] = until(lambda: cases(core))
    assert case.text == COMPLAINT.removeprefix("شكوى ").strip()
    assert (case.case_type, case.channel, case.citizen_mobile) == (
        "complaint", "sms", f.MOBILE_E164)
    assert ack == notices.received("complaint", case.tracking, "74747", "ar")
    tracking = case.tracking

    # Redelivered (the SMSC missed our responses): nothing is filed or answered twice.
    smsc.send_mo(COMPLAINT, source_addr=CITIZEN, split="udh", reference=0x33)
    smsc.wait_for(lambda s: len([r for r in s["deliver_sm_resps"]
                                 if r.get("kind", "mo") == "mo"]) == 6)

    # The state, by sending the tracking number alone.
    smsc.send_mo(" ".join([tracking[:4], tracking[4:]]), source_addr=CITIZEN)
    state_sms = received(smsc, CITIZEN, 2)[1]
    assert state_sms == f"طلبك {tracking}: مستلم."

    # The staff ask for more information.
    coordinator, specialist = world.coordinator(EMIRATE), world.specialist(EMIRATE)
    core.voice.act(coordinator, tracking, {"action": "assign", "user": specialist.login})
    core.voice.act(specialist, tracking, {"action": "start"})
    core.voice.act(specialist, tracking, {"action": "request_info",
                                          "text": "ما رقم المبنى الأقرب إلى الحفرة؟"})
    question = received(smsc, CITIZEN, 3)[2]
    assert question == notices.info_requested(tracking, "ما رقم المبنى الأقرب إلى الحفرة؟",
                                              "ar")

    # The citizen answers by SMS: added to the case, the clock runs again.
    smsc.send_mo("المبنى رقم 12 بجانب البقالة", source_addr=CITIZEN)
    thanks = received(smsc, CITIZEN, 4)[3]
    assert thanks.startswith("شكرًا لك: أُضيف ردك إلى طلبك " + tracking)
    view = core.voice.citizen_view(tracking, PROOF)
    assert view.state == "in_progress" and view.history[-1].text == \
        "المبنى رقم 12 بجانب البقالة"

    # The answer: drafted, approved, sent by SMS in whole words.
    core.voice.act(specialist, tracking, {"action": "answer", "text": ANSWER})
    core.voice.act(coordinator, tracking, {"action": "approve"})
    view = core.voice.citizen_view(tracking, PROOF)
    expected = notices.answered(tracking, ANSWER, view.reopen_until, "ar")
    answer = received(smsc, CITIZEN, 5)[4]
    assert answer == expected
    [answer_parts] = [p for p in parts_to(smsc.state(), CITIZEN) if "".join(p) == expected]
    # 250-odd characters: as few UCS-2 parts of 67 as splitting between words allows.
    assert len(answer_parts) == segment_count(expected) == 4
    assert all(re.search(r"\s$", part) for part in answer_parts[:-1])

    # Rated with 4, then reopened with 0.
    smsc.send_mo("٤", source_addr=CITIZEN)
    assert received(smsc, CITIZEN, 6)[5] == f"شكرًا لك: سُجّل تقييمك للرد على طلبك {tracking}."
    assert core.voice.citizen_view(tracking, PROOF).rating == 4
    smsc.send_mo("0", source_addr=CITIZEN)
    assert received(smsc, CITIZEN, 7)[6] == (
        f"أُعيد فتح طلبك {tracking}، وستردّ عليه الجهة من جديد.")
    assert core.voice.citizen_view(tracking, PROOF).state == "assigned"

    # A stranger's SMS with the tracking number: the text any unknown number gets.
    smsc.send_mo(tracking, source_addr=STRANGER)
    [stranger] = received(smsc, STRANGER, 1)
    assert stranger == render.not_found_text("ar")

    # One case, and the citizen got exactly the seven messages above.
    assert len(cases(core)) == 1
    assert len(parts_to(smsc.state(), CITIZEN)) == 7
