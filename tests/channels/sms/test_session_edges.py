"""The SMPP session on what a real SMSC rarely sends: an SMSC written here byte by byte,
for PDUs the node-smpp peer cannot produce (a command nobody knows, a body cut short)."""

from __future__ import annotations

import socket
import struct
import threading
import time

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

    thread, session = _started(smsc, port, lambda pdus: [0] * len(pdus))
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


DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004


def _deliver_sm_body(text: bytes) -> bytes:
    return (b"\0" + bytes([1, 1]) + b"966551234567\0" + bytes([0, 0]) + b"74747\0"
            + bytes([0, 0, 0]) + b"\0\0" + bytes([0, 0, 0, 0, len(text)]) + text)


def test_the_window_turns_while_a_burst_is_being_stored():
    """A deliver_sm whose storing takes long (a burst of hundreds on a busy database):
    meanwhile the session sends the queued submits and reads their responses; the
    deliver_sm_resp goes out once the storing returns, with its status."""
    from channels.sms.pdus import SubmitRequest

    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(20)
    port = server.getsockname()[1]
    storing, stored = threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []
    errors: list[BaseException] = []

    def on_deliver(pdus):
        storing.set()
        assert stored.wait(20), "the test never let the burst be stored"
        return [0] * len(pdus)

    def smsc() -> None:
        try:
            conn, _ = server.accept()
            conn.settimeout(20)
            _command, _status, bind_sequence = _read_pdu(conn)
            conn.sendall(_pdu(BIND_TRANSCEIVER_RESP, bind_sequence, b"SMSC\0"))
            conn.sendall(_pdu(DELIVER_SM, 100, _deliver_sm_body(b"4471234")))
            for _ in range(3):  # the submits, answered as they come
                command, _status, sequence = _read_pdu(conn)
                seen.append((command, _status, sequence))
                conn.sendall(_pdu(SUBMIT_SM_RESP, sequence, b"id-%d\0" % sequence))
            seen.append(_read_pdu(conn))  # the deliver_sm_resp, once stored
            conn.close()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread, session = _started(smsc, port, on_deliver)
    try:
        assert storing.wait(20)
        futures = session.submit_many([
            SubmitRequest("74747", f"96655000000{k}", b"status", 0) for k in range(3)],
            urgent=True)
        deadline = time.monotonic() + 20
        while not all(future.done() for future in futures) and time.monotonic() < deadline:
            time.sleep(0.01)
        results = [future.result() for future in futures]  # the burst still being stored
        assert not stored.is_set()
        stored.set()
        thread.join(20)
    finally:
        stored.set()
        session.stop()
        server.close()
    assert not errors, errors
    assert [r.message_id for r in results] == [f"id-{s}" for _, _, s in seen[:3]]
    assert [command for command, _, _ in seen] == [SUBMIT_SM] * 3 + [DELIVER_SM_RESP]
    assert seen[3][1:] == (0, 100)


def _started(smsc, port: int, on_deliver) -> tuple[threading.Thread, SmppSession]:
    """The fake SMSC's thread and a session bound to it, both started."""
    thread = threading.Thread(target=smsc, daemon=True)
    thread.start()
    session = SmppSession(host="127.0.0.1", port=port, system_id="gw", password="pw",
                          on_deliver=on_deliver, reconnect_delay=60)
    session.start()
    return thread, session
