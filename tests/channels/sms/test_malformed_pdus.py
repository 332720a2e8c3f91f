"""A PDU from the SMSC that cannot be read (a truncated optional parameter) is refused
with an error status, and the session reads on: the bind stays up and the next MO is
stored. Sent through the SMSC peer as raw bytes (node-smpp would not build them)."""

from __future__ import annotations

import struct

import pytest
from sqlalchemy import select

from core.messaging.models import InboundMessage
from tests import factories as f

DELIVER_SM = 0x00000005
ESME_RX_P_APPN = 0x65
APPLICANT = "966551234567"
SAR_MSG_REF_NUM = 0x020C  # a 2-byte optional parameter


def deliver_sm(sequence: int, text: bytes, tlvs: bytes) -> bytes:
    body = (b"\0" + bytes([1, 1]) + APPLICANT.encode() + b"\0" + bytes([0, 0])
            + b"74747\0" + bytes([0, 0, 0]) + b"\0\0" + bytes([0, 0, 0, 0])
            + bytes([len(text)]) + text + tlvs)
    return struct.pack(">LLLL", 16 + len(body), DELIVER_SM, 0, sequence) + body


TRUNCATED = {
    # sar_msg_ref_num says 2 bytes; the PDU ends after 1.
    "value": struct.pack(">HH", SAR_MSG_REF_NUM, 2) + b"\x07",
    # Half an optional parameter's header.
    "header": struct.pack(">H", SAR_MSG_REF_NUM)[:1],
}


def stored(core) -> list[InboundMessage]:
    with core.db.read() as session:
        return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))


@pytest.mark.parametrize("cut", sorted(TRUNCATED))
def test_a_truncated_optional_parameter_is_refused_and_the_session_reads_on(
        core, smsc, make_channel, cut):
    core.upsert_department("RIGHTS", f.department())
    channel = make_channel()
    assert channel.session.wait_bound(10)
    bad_sequence = 0x7000_0001

    smsc.send_raw(deliver_sm(bad_sequence, b"status 4471234", TRUNCATED[cut]))
    smsc.send_mo("status 4471234", source_addr=APPLICANT, encoding="ascii")

    resps = smsc.wait_for(lambda s: len(s["deliver_sm_resps"]) == 2 and s["deliver_sm_resps"])
    by_sequence = {r["sequence"]: r["status"] for r in resps}
    assert by_sequence.pop(bad_sequence) == ESME_RX_P_APPN  # refused for good
    assert list(by_sequence.values()) == [0]  # the good one: stored and acknowledged
    [row] = stored(core)
    assert (row.sender, row.text) == (f.MOBILE_E164, "status 4471234")
    state = smsc.state()
    assert len(state["binds"]) == 1 and state["disconnects"] == 0, state["binds"]
    assert channel.session.binds == 1 and channel.session.bound
