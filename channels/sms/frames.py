"""The PDUs of the short code's hot path read and written with ``struct``, not smpplib.

smpplib builds a Python object per PDU and sets each field through setattr and its
parameter tables: for a flood of inquiries that was a fifth of the channel's CPU (an MO
``deliver_sm`` read, its ``deliver_sm_resp``, the answer's ``submit_sm`` and its
``submit_sm_resp``). These four are framed here, as SMPP 3.4 (sections 4.4, 4.6, 5.3)
lays them out; the session still uses smpplib for the rest (bind, unbind, enquire_link,
generic_nack, any PDU these do not read). A ``deliver_sm`` or ``submit_sm_resp`` whose
body does not read here raises ``ValueError``: the caller hands the PDU to smpplib,
which reads it or answers it as unreadable.
"""

from __future__ import annotations

import struct

from channels.sms.pdus import DeliverSm, SubmitRequest

__all__ = ["DELIVER_SM", "SUBMIT_SM_RESP", "deliver_sm", "deliver_sm_resp",
           "submit_sm", "submit_sm_resp"]

DELIVER_SM = 0x00000005
SUBMIT_SM_RESP = 0x80000004
_SUBMIT_SM = 0x00000004
_DELIVER_SM_RESP = 0x80000005

_HEADER = struct.Struct(">LLLL")
_TLV = struct.Struct(">HH")

# The optional parameters a deliver_sm is read for (SMPP 3.4 section 5.3.2).
_SAR_MSG_REF_NUM = 0x020C
_SAR_TOTAL_SEGMENTS = 0x020E
_SAR_SEGMENT_SEQNUM = 0x020F
_RECEIPTED_MESSAGE_ID = 0x001E
_MESSAGE_STATE = 0x0427
_MESSAGE_PAYLOAD = 0x0424


def _cstring(body: bytes, at: int) -> tuple[bytes, int]:
    end = body.index(b"\0", at)  # ValueError when it runs past the body
    return body[at:end], end + 1


def _text(value: bytes) -> str:
    return value.decode("latin-1")


def deliver_sm(body: bytes, sequence: int) -> DeliverSm:
    """A ``deliver_sm``'s body (after the 16-byte header) as values; ``ValueError`` when
    it does not read."""
    try:
        return _deliver_sm(body, sequence)
    except (IndexError, struct.error) as exc:
        raise ValueError(f"a deliver_sm cut short: {exc}") from exc


def _deliver_sm(body: bytes, sequence: int) -> DeliverSm:
    _service_type, at = _cstring(body, 0)
    at += 2  # source_addr_ton, source_addr_npi
    source, at = _cstring(body, at)
    at += 2  # dest_addr_ton, dest_addr_npi
    destination, at = _cstring(body, at)
    esm_class = body[at]
    at += 3  # esm_class, protocol_id, priority_flag
    _schedule, at = _cstring(body, at)
    _validity, at = _cstring(body, at)
    data_coding, length = body[at + 2], body[at + 4]
    at += 5  # registered_delivery, replace_if_present, data_coding, default id, length
    short_message = body[at:at + length]
    if len(short_message) != length:
        raise ValueError("short_message runs past the PDU")
    at += length
    tlvs: dict[int, bytes] = {}
    while at < len(body):
        tag, size = _TLV.unpack_from(body, at)
        value = body[at + 4:at + 4 + size]
        if len(value) != size:
            raise ValueError("an optional parameter runs past the PDU")
        tlvs[tag] = value
        at += 4 + size
    if not short_message and tlvs.get(_MESSAGE_PAYLOAD):
        short_message = tlvs[_MESSAGE_PAYLOAD]
    receipted = tlvs.get(_RECEIPTED_MESSAGE_ID)
    return DeliverSm(
        source_addr=_text(source), destination_addr=_text(destination),
        esm_class=esm_class, data_coding=data_coding, short_message=short_message,
        sequence=sequence,
        sar_msg_ref_num=_number(tlvs.get(_SAR_MSG_REF_NUM)),
        sar_total_segments=_number(tlvs.get(_SAR_TOTAL_SEGMENTS)),
        sar_segment_seqnum=_number(tlvs.get(_SAR_SEGMENT_SEQNUM)),
        receipted_message_id=(_text(receipted).strip("\x00") or None) if receipted else None,
        message_state=_number(tlvs.get(_MESSAGE_STATE)),
    )


def _number(value: bytes | None) -> int | None:
    return int.from_bytes(value, "big") if value else None


def submit_sm_resp(body: bytes) -> str:
    """A ``submit_sm_resp``'s message id (empty when the body has none: a refusal)."""
    if not body:
        return ""
    message_id, _ = _cstring(body, 0)
    return _text(message_id)


def deliver_sm_resp(sequence: int, status: int) -> bytes:
    """A ``deliver_sm_resp`` (its message_id empty, as SMPP 3.4 asks)."""
    return _HEADER.pack(17, _DELIVER_SM_RESP, status, sequence) + b"\0"


def submit_sm(sequence: int, request: SubmitRequest) -> bytes:
    """A ``submit_sm`` for ``request``: no service type, schedule or validity, protocol
    and priority 0, the short message in the body (at most 254 octets: a segment)."""
    message = request.short_message
    if len(message) > 254:
        raise ValueError("a segment is at most 254 octets")
    body = b"".join((
        b"\0", bytes((request.source_addr_ton, request.source_addr_npi)),
        request.source_addr.encode("latin-1"), b"\0",
        bytes((request.dest_addr_ton, request.dest_addr_npi)),
        request.destination_addr.encode("latin-1"), b"\0",
        bytes((request.esm_class, 0, 0)), b"\0\0",
        bytes((1 if request.registered_delivery else 0, 0, request.data_coding, 0,
               len(message))), message))
    return _HEADER.pack(16 + len(body), _SUBMIT_SM, 0, sequence) + body
