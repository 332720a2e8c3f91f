"""The SMPP session on what a real SMSC rarely sends: an SMSC written here byte by byte,
for PDUs the node-smpp peer cannot produce (a command nobody knows, a body cut short)."""

from __future__ import annotations

import socket
import struct
import threading

from channels.sms.smpp import SmppSession

BIND_TRANSCEIVER_RESP = 0x80000009
GENERIC_NACK = 0x80000000
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
VENDOR_COMMAND = 0x00010200  # not in SMPP 3.4: some SMSCs send their own
ESME_RINVCMDID = 0x03
ESME_RINVCMDLEN = 0x02
ALERT_NOTIFICATION = 0x00000102
MS_AVAILABILITY_STATUS = 0x0422  # a 1-byte optional parameter


def _pdu(command: int, sequence: int, body: bytes = b"", status: int = 0) -> bytes:
    return struct.pack(">LLLL", 16 + len(body), command, status, sequence) + body


def _read_pdu(conn: socket.socket) -> tuple[int, int, int]:
    header = b""
    while len(header) < 16:
        chunk = conn.recv(16 - len(header))
        assert chunk, "the gateway closed the connection"
        header += chunk
    length, command, status, sequence = struct.unpack(">LLLL", header)
    remaining = length - 16
    while remaining:
        remaining -= len(conn.recv(remaining))
    return command, status, sequence


def _exchange(first: bytes) -> list[tuple[int, int, int]]:
    """Bind the session to an SMSC that sends ``first`` (sequence 77) then an
    enquire_link (78); what the session answered to each."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(20)
    port = server.getsockname()[1]
    seen: list[tuple[int, int, int]] = []
    errors: list[BaseException] = []

    def smsc() -> None:
        try:
            conn, _ = server.accept()
            conn.settimeout(20)
            _command, _status, bind_sequence = _read_pdu(conn)  # bind_transceiver
            conn.sendall(_pdu(BIND_TRANSCEIVER_RESP, bind_sequence, b"SMSC\0"))
            conn.sendall(first)
            seen.append(_read_pdu(conn))
            conn.sendall(_pdu(ENQUIRE_LINK, 78))  # is anyone still reading?
            seen.append(_read_pdu(conn))
            conn.close()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=smsc, daemon=True)
    thread.start()
    session = SmppSession(host="127.0.0.1", port=port, system_id="gw", password="pw",
                          on_deliver=lambda pdus: [0] * len(pdus), reconnect_delay=60)
    session.start()
    try:
        thread.join(20)
    finally:
        session.stop()
        server.close()
    assert not errors, errors
    return seen


def test_an_unknown_command_is_nacked_and_the_session_lives_on():
    seen = _exchange(_pdu(VENDOR_COMMAND, 77))

    assert seen == [(GENERIC_NACK, ESME_RINVCMDID, 77), (ENQUIRE_LINK_RESP, 0, 78)]


def test_a_request_cut_short_is_nacked_and_the_session_lives_on():
    """An alert_notification whose optional parameter has no value (it has no response
    of its own): generic_nack ESME_RINVCMDLEN, and the next PDU is answered."""
    body = (bytes([1, 1]) + b"966551234567\0" + bytes([0, 0]) + b"gw\0"
            + struct.pack(">HH", MS_AVAILABILITY_STATUS, 1))
    seen = _exchange(_pdu(ALERT_NOTIFICATION, 77, body))

    assert seen == [(GENERIC_NACK, ESME_RINVCMDLEN, 77), (ENQUIRE_LINK_RESP, 0, 78)]
