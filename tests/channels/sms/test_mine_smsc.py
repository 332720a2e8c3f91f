""""My transactions" by SMS, against the SMSC peer (node-smpp): ``معاملاتي`` from the
registered mobile lists its transactions, newest first, in as few segments as allowed
(the rest counted); ``my transactions`` from a mobile with none gets a text that says
nothing about any national ID."""

from __future__ import annotations

import pytest

from channels.sms.encoding import segment_count
from channels.sms.voice import MINE_SEGMENTS, MineAsked, classify
from core.transactions import mine
from tests import factories as f
from tests.channels.sms.test_voice_smsc import parts_to

APPLICANT = "966551234567"  # f.MOBILE as the SMSC writes it
STRANGER = "966501239876"


def answer_to(smsc, destination: str, start: str) -> str:
    """The whole message the phone received that starts with ``start`` (the registration
    SMS of the transactions arrive too)."""
    return smsc.wait_for(lambda state: next(
        (text for text in ("".join(p) for p in parts_to(state, destination))
         if text.startswith(start)), None), timeout=15)


@pytest.fixture
def channel(make_channel):
    channel = make_channel()
    assert channel.session.wait_bound(10)
    return channel


@pytest.mark.parametrize("text", ["معاملاتي", " مُعاملاتى ", "معاملاتي؟", "My Transactions",
                                  "my  transactions."])
def test_the_keyword_however_typed(text):
    assert classify(text) == MineAsked()


def test_the_keyword_with_more_is_not_it():
    assert classify("معاملاتي 4470001") != MineAsked()


def test_my_transactions_by_sms(core, smsc, channel):
    for n in range(12):
        core.record_event(f.registered(f"44710{n:02d}",
                                       occurred_at=f"2026-11-{n + 1:02d}T09:00:00+03:00"))
    core.record_event(f.registered("4479999", national_id=f.OTHER_NATIONAL_ID,
                                   mobile=f.OTHER_MOBILE))
    smsc.send_mo("معاملاتي", source_addr=APPLICANT)
    listed = answer_to(smsc, APPLICANT, "معاملاتك")
    lines = listed.splitlines()
    assert lines[0] == "معاملاتك:"
    assert lines[1] == "4471011 مسجلة"  # the newest first
    shown = [line.split()[0] for line in lines[1:-1]]
    assert shown == [f"44710{n:02d}" for n in range(11, 11 - len(shown), -1)]
    assert "4479999" not in listed
    assert segment_count(listed) <= MINE_SEGMENTS
    assert lines[-1].startswith("و") and str(12 - len(shown)) in lines[-1]

    smsc.send_mo("my transactions", source_addr=STRANGER)
    nothing = answer_to(smsc, STRANGER, "")
    assert nothing == mine.sms_list([], 0, "en")
