"""The SMSC peer speaks real SMPP: a bare smpplib client (no product code) binds,
submits, and receives MO and receipts through it. These also pin the smpplib
behaviours the SMS channel has to guard against (see the `pitfall` tests)."""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable

import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from tests.peers.smsc_peer import (
    ESME_RBINDFAIL,
    ESME_RINVPASWD,
    ESME_RTHROTTLED,
    ESME_RX_T_APPN,
    SmscPeer,
)

SHORT_CODE = "74747"
MOBILE = "9647701234567"
ARABIC_ANSWER = "معاملتك رقم ١٢٣٤٥ قيد المراجعة"


class Esme:
    """A bare smpplib transceiver that records what its handlers see."""

    def __init__(self, smsc: SmscPeer, *, timeout: float = 10.0) -> None:
        self.client = smpplib.client.Client(
            smsc.host, smsc.port, timeout=timeout, allow_unknown_opt_params=True,
        )
        self.events: list[tuple[str, smpplib.smpp.command.Command]] = []
        self.mo_statuses: list[int] = []  # deliver_sm_resp status per MO; then ESME_ROK
        self.client.set_message_sent_handler(lambda pdu: self.events.append(("sent", pdu)))
        self.client.set_message_received_handler(self._received)
        self.client.set_error_pdu_handler(lambda pdu: self.events.append(("error", pdu)))

    def _received(self, pdu) -> int | None:
        self.events.append(("received", pdu))
        return self.mo_statuses.pop(0) if self.mo_statuses else None

    def bind(self, smsc: SmscPeer, password: str | None = None):
        self.client.connect()
        return self.client.bind_transceiver(
            system_id=smsc.system_id, password=password or smsc.password,
        )

    def submit(self, text: str, **fields):
        arabic = not text.isascii()
        return self.client.send_message(
            source_addr_ton=smpplib.consts.SMPP_TON_ALNUM, source_addr=SHORT_CODE,
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL, destination_addr=MOBILE,
            short_message=text.encode("utf-16-be" if arabic else "ascii"),
            data_coding=smpplib.consts.SMPP_ENCODING_ISO10646 if arabic else 0,
            registered_delivery=True, **fields,
        )

    def of(self, kind: str) -> list:
        return [pdu for event, pdu in self.events if event == kind]

    def pump(self, until: Callable[[], object], timeout: float = 10.0):
        """Read PDUs until ``until()`` is truthy; select first, so smpplib never
        times out in the middle of a PDU."""
        deadline = time.monotonic() + timeout
        while not (result := until()):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; events so far: {self.events}"
            readable, _, _ = select.select([self.client._socket], [], [], min(remaining, 0.1))
            if readable:
                self.client.read_once(auto_send_enquire_link=False)
        return result

    def close(self) -> None:
        if self.client._socket is not None:
            self.client.disconnect()


@pytest.fixture
def esme(smsc):
    esme = Esme(smsc)
    yield esme
    esme.close()


def test_an_arabic_submit_is_recorded_as_ucs2_and_answered_with_a_message_id(smsc, esme):
    esme.bind(smsc)
    submit_sm = esme.submit(ARABIC_ANSWER)

    [resp] = esme.pump(lambda: esme.of("sent"))

    assert resp.status == 0 and resp.sequence == submit_sm.sequence
    [recorded] = smsc.submits()
    assert recorded["sequence"] == submit_sm.sequence
    assert recorded["data_coding"] == 8
    assert bytes.fromhex(recorded["short_message"]) == ARABIC_ANSWER.encode("utf-16-be")
    assert recorded["text"] == ARABIC_ANSWER
    assert (recorded["source_addr"], recorded["destination_addr"]) == (SHORT_CODE, MOBILE)
    assert recorded["registered_delivery"] == 1
    assert resp.message_id.decode() == recorded["message_id"] == "655360"
    assert smsc.state()["binds"][0]["command"] == "bind_transceiver"


def test_an_arabic_mo_reaches_the_handler_and_its_deliver_sm_resp_is_recorded(smsc, esme):
    esme.bind(smsc)
    esme.mo_statuses = [0, ESME_RX_T_APPN]  # the second: "could not store it, redeliver"
    [sent] = smsc.send_mo("استعلام ١٢٣٤٥", source_addr=MOBILE)
    smsc.send_mo("حالة 777", source_addr=MOBILE)

    first, second = esme.pump(lambda: len(esme.of("received")) == 2 and esme.of("received"))

    assert first.data_coding == 8 and first.esm_class == 0
    assert first.short_message.decode("utf-16-be") == "استعلام ١٢٣٤٥"
    assert first.source_addr.decode() == MOBILE and first.destination_addr.decode() == SHORT_CODE
    resps = smsc.wait_for(lambda s: len(s["deliver_sm_resps"]) == 2 and s["deliver_sm_resps"])
    assert [(r["sequence"], r["kind"], r["status"]) for r in resps] == [
        (sent["sequence"], "mo", 0), (sent["sequence"] + 1, "mo", ESME_RX_T_APPN),
    ]


@pytest.mark.parametrize("split", ["udh", "sar"])
def test_a_two_part_mo_carries_its_concatenation_info(smsc, esme, split):
    esme.bind(smsc)
    text = "استعلام " * 12  # 96 UCS-2 characters: two parts of at most 67
    smsc.send_mo(text, source_addr=MOBILE, split=split, reference=42)

    parts = esme.pump(lambda: len(esme.of("received")) == 2 and esme.of("received"))

    if split == "udh":
        assert all(p.esm_class & 0x40 for p in parts)
        assert [p.short_message[:6] for p in parts] == [bytes([5, 0, 3, 42, 2, n]) for n in (1, 2)]
        bodies = [p.short_message[6:] for p in parts]
    else:
        assert [(p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum) for p in parts] \
            == [(42, 2, 1), (42, 2, 2)]
        bodies = [p.short_message for p in parts]
    assert b"".join(bodies).decode("utf-16-be") == text


def test_a_delivery_receipt_names_the_submitted_message(smsc, esme):
    smsc.script(message_id_style="hex")
    esme.bind(smsc)
    esme.submit(ARABIC_ANSWER)
    [resp] = esme.pump(lambda: esme.of("sent"))
    assert resp.message_id == b"00000A0000"

    smsc.send_receipt(id_format="hex_lower")
    [receipt] = esme.pump(lambda: esme.of("received"))

    assert receipt.esm_class == 0x04
    assert receipt.receipted_message_id == b"a0000"
    assert b"id:a0000 " in receipt.short_message and b"stat:DELIVRD" in receipt.short_message
    assert receipt.source_addr.decode() == MOBILE  # from the handset back to the short code
    smsc.wait_for(lambda s: [r for r in s["deliver_sm_resps"] if r["kind"] == "receipt"])


def test_a_receipt_can_arrive_before_its_submit_sm_resp(smsc, esme):
    smsc.script(auto_receipt="before")
    esme.bind(smsc)
    esme.submit("status 12345")

    esme.pump(lambda: esme.of("sent"))

    assert [event for event, _ in esme.events] == ["received", "sent"]
    receipt, resp = (pdu for _, pdu in esme.events)
    assert receipt.receipted_message_id == resp.message_id


def test_scripted_throttling_reaches_the_sent_handler_as_an_error_status(smsc, esme):
    smsc.script(next_submit_statuses=[ESME_RTHROTTLED, ESME_RTHROTTLED])
    esme.bind(smsc)
    sequences = [esme.submit(f"notice {n}").sequence for n in range(3)]

    resps = esme.pump(lambda: len(esme.of("sent")) == 3 and esme.of("sent"))

    # pitfall: with a custom error handler, smpplib still calls the sent handler for errors
    assert [(r.sequence, r.status) for r in resps] == list(
        zip(sequences, [ESME_RTHROTTLED, ESME_RTHROTTLED, 0], strict=True))
    assert [r.sequence for r in esme.of("error")] == sequences[:2]
    assert [s["status"] for s in smsc.submits()] == [ESME_RTHROTTLED, ESME_RTHROTTLED, 0]


def test_pitfall_the_default_error_pdu_handler_raises_out_of_the_read_loop(smsc):
    client = smpplib.client.Client(smsc.host, smsc.port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    try:
        client.bind_transceiver(system_id=smsc.system_id, password=smsc.password)
        smsc.script(submit_status=ESME_RTHROTTLED)
        client.send_message(source_addr=SHORT_CODE, destination_addr=MOBILE, short_message=b"x")
        with pytest.raises(smpplib.exceptions.PDUError) as raised:
            client.read_once()
        assert raised.value.args[1] == ESME_RTHROTTLED
    finally:
        client.disconnect()


def test_submit_responses_can_come_out_of_order(smsc, esme):
    smsc.script(reorder_window=2)
    esme.bind(smsc)
    first, second = esme.submit("one"), esme.submit("two")

    resps = esme.pump(lambda: len(esme.of("sent")) == 2 and esme.of("sent"))

    assert [r.sequence for r in resps] == [second.sequence, first.sequence]


def test_a_wrong_password_is_refused_with_esme_rinvpaswd(smsc, esme):
    with pytest.raises(smpplib.exceptions.PDUError) as raised:
        esme.bind(smsc, password="wrong")

    assert raised.value.args[1] == ESME_RINVPASWD
    assert [b["status"] for b in smsc.state()["binds"]] == [ESME_RINVPASWD]


def test_a_refused_bind_is_accepted_on_the_next_attempt(smsc):
    smsc.script(refuse_binds=1)
    refused, accepted = Esme(smsc), Esme(smsc)
    try:
        with pytest.raises(smpplib.exceptions.PDUError) as raised:
            refused.bind(smsc)
        accepted.bind(smsc)
    finally:
        refused.close()
        accepted.close()

    assert raised.value.args[1] == ESME_RBINDFAIL
    assert [b["status"] for b in smsc.state()["binds"]] == [ESME_RBINDFAIL, 0]


def test_pitfall_smpplib_reads_the_smscs_unbind_but_does_not_answer_it(smsc, esme, caplog):
    esme.bind(smsc)
    smsc.unbind()

    with caplog.at_level(logging.INFO):
        esme.client.read_once(auto_send_enquire_link=False)  # blocks until the unbind is in
    assert "Unbind command received" in caplog.text
    # The SMSC records this enquire_link only after anything read_once sent before it.
    esme.client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=esme.client))
    state = smsc.wait_for(lambda s: s["enquire_links"] == 1 and s)
    assert state["unbind_resps"] == []

    unbind_resp = smpplib.smpp.make_pdu("unbind_resp", client=esme.client)
    unbind_resp.sequence = state["unbinds_sent"][0]["sequence"]
    esme.client.send_pdu(unbind_resp)
    assert smsc.wait_for(lambda s: s["unbind_resps"]) == [{"session": 1, "status": 0}]
    assert esme.client.read_pdu().command == "enquire_link_resp"
    with pytest.raises(smpplib.exceptions.ConnectionError):
        esme.client.read_pdu()


def test_a_dropped_connection_surfaces_as_a_connection_error(smsc, esme):
    esme.bind(smsc)
    smsc.drop()

    with pytest.raises(smpplib.exceptions.ConnectionError):
        esme.client.read_pdu()


def test_submits_behind_the_one_that_drops_the_connection_are_never_read(smsc, esme):
    # Two submit_sm in one TCP write: the peer parses both from one chunk. A real SMSC
    # that resets the connection at the first reads nothing after it, so the second
    # must not be recorded, let alone accepted (a test counting duplicates relies on it).
    esme.bind(smsc)
    smsc.script(drop_on_next_submits=1)
    pdus = [smpplib.smpp.make_pdu(
        "submit_sm", client=esme.client, source_addr=SHORT_CODE, destination_addr=MOBILE,
        short_message=text.encode("ascii")) for text in ("first", "second")]

    esme.client._socket.sendall(b"".join(pdu.generate() for pdu in pdus))

    smsc.wait_for(lambda s: s["disconnects"])
    assert [s["text"] for s in smsc.submits()] == ["first"]
    assert not [s for s in smsc.submits() if s["message_id"]]


def test_pitfall_a_silent_smsc_only_makes_smpplib_send_more_enquire_links(smsc):
    esme = Esme(smsc, timeout=0.3)
    try:
        esme.bind(smsc)
        smsc.script(silent=True)

        esme.client.read_once()  # socket timeout: smpplib sends enquire_link and returns
        esme.client.read_once()

        assert smsc.wait_for(lambda s: s["enquire_links"] == 2)
    finally:
        esme.close()
