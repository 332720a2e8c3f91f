"""The hot path's PDUs framed by ``channels.sms.frames`` are byte for byte what smpplib
writes, and read as smpplib reads them (the SMSC peer's tests exercise them on the wire)."""

from __future__ import annotations

import pytest
import smpplib.client
import smpplib.smpp

from channels.sms import frames
from channels.sms.pdus import SubmitRequest
from channels.sms.smpp_client import _deliver_sm

CLIENT = smpplib.client.Client("127.0.0.1", 1, allow_unknown_opt_params=True)


def smpplib_bytes(command: str, sequence: int, **fields) -> bytes:
    pdu = smpplib.smpp.make_pdu(command, client=CLIENT, **fields)
    pdu.sequence = sequence
    return pdu.generate()


@pytest.mark.parametrize("request_", [
    SubmitRequest("74747", "966551234567", b"Transaction 1447-001: received", 0),
    SubmitRequest("74747", "966551234567", "المعاملة ١٤٤٧".encode("utf-16-be"), 8,
                  esm_class=0x40, registered_delivery=False),
    SubmitRequest("GOV", "0551234567", b"x" * 140, 4, source_addr_ton=5, source_addr_npi=0,
                  dest_addr_ton=2, dest_addr_npi=9),
])
def test_a_submit_sm_is_what_smpplib_writes(request_):
    assert frames.submit_sm(4242, request_) == smpplib_bytes(
        "submit_sm", 4242, source_addr_ton=request_.source_addr_ton,
        source_addr_npi=request_.source_addr_npi, source_addr=request_.source_addr,
        dest_addr_ton=request_.dest_addr_ton, dest_addr_npi=request_.dest_addr_npi,
        destination_addr=request_.destination_addr, short_message=request_.short_message,
        data_coding=request_.data_coding, esm_class=request_.esm_class,
        registered_delivery=1 if request_.registered_delivery else 0)


@pytest.mark.parametrize("status", [0, 0x64, 0x65])
def test_a_deliver_sm_resp_is_what_smpplib_writes(status):
    assert frames.deliver_sm_resp(77, status) == smpplib_bytes(
        "deliver_sm_resp", 77, status=status)


@pytest.mark.parametrize("fields", [
    {"short_message": "استعلام ١٢٣".encode("utf-16-be"), "data_coding": 8},
    {"short_message": b"\x05\x00\x03\x2a\x02\x01part one", "esm_class": 0x40},
    {"short_message": b"part", "sar_msg_ref_num": 513, "sar_total_segments": 3,
     "sar_segment_seqnum": 2},
    {"short_message": b"id:0A1F stat:DELIVRD", "esm_class": 0x04,
     "receipted_message_id": "0A1F", "message_state": 2},
    {"short_message": b"", "message_payload": b"a long text " * 30},
])
def test_a_deliver_sm_reads_as_smpplib_reads_it(fields):
    raw = smpplib_bytes("deliver_sm", 9, source_addr="966551234567", source_addr_ton=1,
                        source_addr_npi=1, destination_addr="74747", **fields)

    framed = frames.deliver_sm(raw[16:], 9)

    assert framed == _deliver_sm(smpplib.smpp.parse_pdu(raw, client=CLIENT))


def test_a_submit_sm_resp_gives_its_message_id_or_none():
    accepted = smpplib_bytes("submit_sm_resp", 3, message_id="000A0001")
    assert frames.submit_sm_resp(accepted[16:]) == "000A0001"
    assert frames.submit_sm_resp(b"") == ""


@pytest.mark.parametrize("cut", [3, 12, 30, -2])
def test_a_deliver_sm_cut_short_does_not_read(cut):
    raw = smpplib_bytes("deliver_sm", 9, source_addr="966551234567", destination_addr="74747",
                        short_message=b"hello", sar_msg_ref_num=1, sar_total_segments=2,
                        sar_segment_seqnum=1)
    with pytest.raises(ValueError):
        frames.deliver_sm(raw[16:cut], 9)
