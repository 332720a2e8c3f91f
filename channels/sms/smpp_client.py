"""smpplib's client as the SMPP session needs it: the last PDU remembered, each
``deliver_sm`` held (as a ``DeliverSm``) for the session to answer, an unknown command or
a PDU whose body cannot be read answered with an error instead of ending the session, a
window's submits in one write, the socket read a buffer at a time (``buffered``: a whole
PDU waits there). ``deliver_sm`` and ``submit_sm_resp`` are read by ``frames`` (smpplib
only when that cannot), and the session writes ``submit_sm`` and ``deliver_sm_resp``
with it too (``send_frames``).

Used by the session thread alone (smpplib is not thread-safe).
"""

from __future__ import annotations

import logging
import socket
import struct
import time

import smpplib.client
import smpplib.command_codes
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from channels.sms import frames
from channels.sms.pdus import ESME_RX_P_APPN, DeliverSm

log = logging.getLogger(__name__)

_RINVCMDID = 0x03
_RINVCMDLEN = 0x02
_MAX_PDU = 64 * 1024  # far above any PDU an SMSC sends; a larger length is a broken stream
# Bytes asked of the socket at once: a flood's PDUs (100-200 bytes each) by the hundred.
_RECV = 64 * 1024
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def field_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1").strip("\x00")
    return str(value)


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _deliver_sm(pdu) -> DeliverSm:
    short_message = pdu.short_message or b""
    if not short_message and getattr(pdu, "message_payload", None):
        short_message = pdu.message_payload
    receipted = getattr(pdu, "receipted_message_id", None)
    return DeliverSm(
        source_addr=field_text(pdu.source_addr), destination_addr=field_text(pdu.destination_addr),
        esm_class=pdu.esm_class or 0, data_coding=pdu.data_coding or 0,
        short_message=bytes(short_message), sequence=pdu.sequence,
        sar_msg_ref_num=_optional_int(getattr(pdu, "sar_msg_ref_num", None)),
        sar_total_segments=_optional_int(getattr(pdu, "sar_total_segments", None)),
        sar_segment_seqnum=_optional_int(getattr(pdu, "sar_segment_seqnum", None)),
        receipted_message_id=field_text(receipted) or None,
        message_state=_optional_int(getattr(pdu, "message_state", None)),
    )


class _Read:
    """A ``deliver_sm`` or ``submit_sm_resp`` read by ``frames``, as much of smpplib's PDU
    as ``read_once`` and the session look at."""

    __slots__ = ("command", "sequence", "status", "message_id", "deliver")

    def __init__(self, command: str, sequence: int, status: int, *,
                 message_id: str = "", deliver: DeliverSm | None = None) -> None:
        self.command = command
        self.sequence = sequence
        self.status = status
        self.message_id = message_id
        self.deliver = deliver

    def is_error(self) -> bool:
        return self.status != 0


def _framed(command_id: int, status: int, sequence: int, body: bytes) -> _Read | None:
    """The PDU read by ``frames``, or None for smpplib to read."""
    try:
        if command_id == frames.DELIVER_SM and status == 0:
            return _Read("deliver_sm", sequence, status,
                         deliver=frames.deliver_sm(body, sequence))
        if command_id == frames.SUBMIT_SM_RESP:
            return _Read("submit_sm_resp", sequence, status,
                         message_id=frames.submit_sm_resp(body))
    except ValueError:
        return None
    return None


class SmppClient(smpplib.client.Client):
    """smpplib's client, remembering the last PDU read (``read_once`` hides an unbind) and
    holding each ``deliver_sm`` for the session to answer, instead of answering it at once.
    """

    last_pdu = None
    last_read_at = 0.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # (sequence, the PDU as values or None when it could not be read) in arrival order.
        self.delivered: list[tuple[int, DeliverSm | None]] = []
        # What the socket gave and no PDU has taken yet (from ``_at`` on).
        self._buffer = b""
        self._at = 0

    def buffered(self) -> bool:
        """Whether a whole PDU waits in the buffer (the socket may have nothing more: a
        ``select`` on it does not tell)."""
        left = len(self._buffer) - self._at
        if left < 4:
            return False
        (length,) = struct.unpack_from(">L", self._buffer, self._at)
        return left >= length

    def _recv_exact(self, exact_size: int) -> bytes:
        """``exact_size`` bytes from the buffer, refilled by as much as the socket holds
        (smpplib asks the socket for each PDU's length, then for its body: two system
        calls a PDU, each one a turn of the GIL for the other threads)."""
        while len(self._buffer) - self._at < exact_size:
            try:
                part = self._socket.recv(max(_RECV, exact_size))
            except TimeoutError:
                raise
            except OSError as exc:
                log.warning("SMPP socket read failed: %s", exc)
                raise smpplib.exceptions.ConnectionError() from exc
            if not part:
                raise smpplib.exceptions.ConnectionError()
            if _QUICKACK is not None:
                # Acknowledge at once (Linux resets this after each read): an SMSC whose
                # socket runs Nagle's algorithm otherwise waits for our delayed ACK, up to
                # 40 ms, before the next response of a round goes out.
                self._socket.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            self._buffer = self._buffer[self._at:] + part
            self._at = 0
        data = self._buffer[self._at:self._at + exact_size]
        self._at += exact_size
        return data

    def read_pdu(self):
        """smpplib's read, less its eager hex dump, and alive after an unknown command.

        smpplib raises UnknownCommandError (not a PDUError) for a command it does not know
        (a vendor's own, cancel_sm): that would end the session thread. It is answered
        with generic_nack ESME_RINVCMDID, as SMPP 3.4 asks, and the session goes on.
        Any other failure to parse a PDU whose length was right (a truncated optional
        parameter raises struct.error) is answered too (``_unreadable``): dropping the
        bind for it would bring the same PDU back after the next bind, for ever.
        """
        raw_len = self._recv_exact(4)
        (length,) = struct.unpack(">L", raw_len)
        if not 16 <= length <= _MAX_PDU:
            raise smpplib.exceptions.PDUError(f"a PDU of {length} bytes")
        raw = raw_len + self._recv_exact(length - 4)
        command_id, status, sequence = struct.unpack(">LLL", raw[4:16])
        framed = _framed(command_id, status, sequence, raw[16:])
        if framed is not None:
            self.last_pdu = framed
            self.last_read_at = time.monotonic()
            return framed
        try:
            pdu = smpplib.smpp.parse_pdu(raw, client=self,
                                         allow_unknown_opt_params=self.allow_unknown_opt_params)
        except smpplib.exceptions.UnknownCommandError:
            log.warning("SMPP command 0x%08x is unknown: answered with generic_nack",
                        command_id)
            pdu = self._refuse("generic_nack", _RINVCMDID, sequence)
        except Exception as exc:
            pdu = self._unreadable(command_id, sequence, exc)
        if not pdu.is_error() and pdu.command in smpplib.consts.STATE_SETTERS:
            self.state = smpplib.consts.STATE_SETTERS[pdu.command]
        self.last_pdu = pdu
        self.last_read_at = time.monotonic()
        return pdu

    def _refuse(self, answer: str, status: int, sequence: int):
        """Send ``answer`` with ``status`` to the PDU ``sequence``; a PDU that asks for
        nothing more in its place (read_once and the session skip it)."""
        refusal = smpplib.smpp.make_pdu(answer, client=self, status=status)
        refusal.sequence = sequence
        self.send_pdu(refusal)
        return self._nothing(sequence)

    def _nothing(self, sequence: int):
        pdu = smpplib.smpp.make_pdu("enquire_link_resp", client=self)
        pdu.sequence = sequence
        return pdu

    def _unreadable(self, command_id: int, sequence: int, exc: Exception):
        """A known command whose body smpplib cannot parse (a truncated optional
        parameter, a length that runs past the PDU): refused, and the session reads on.

        Not logged with its bytes: a deliver_sm carries a citizen's number and text.
        """
        command = smpplib.command_codes.get_command_name(command_id)
        if command.endswith("_resp") or command == "generic_nack":
            # An answer cannot be answered: a submit left without its response is retried
            # when its response is late (``response_timeout``).
            log.warning("SMPP %s (sequence %s) cannot be read (%s): dropped", command,
                        sequence, type(exc).__name__)
            return self._nothing(sequence)
        answer, status = ((f"{command}_resp", ESME_RX_P_APPN)
                          if command in ("deliver_sm", "data_sm")
                          else ("generic_nack", _RINVCMDLEN))
        log.warning("SMPP %s (sequence %s) cannot be read (%s): answered %s with status "
                    "0x%02x", command, sequence, type(exc).__name__, answer, status)
        return self._refuse(answer, status, sequence)

    def send_pdu(self, p) -> bool:
        # smpplib's own hex-dumps every PDU for a debug log line even when it is off.
        self.send_pdus([p])
        return True

    def send_pdus(self, pdus: list) -> None:
        """Send several PDUs in one write (one system call for a window's submits)."""
        for p in pdus:
            if self.state not in smpplib.consts.COMMAND_STATES[p.command]:
                raise smpplib.exceptions.PDUError(
                    f"Command {p.command} failed: not allowed in state {self.state}")
        try:
            self._socket.sendall(b"".join(p.generate() for p in pdus))
        except OSError as exc:
            raise smpplib.exceptions.ConnectionError() from exc

    def send_frames(self, command: str, data: list[bytes]) -> None:
        """Send PDUs of ``command`` that ``frames`` wrote, in one write."""
        if self.state not in smpplib.consts.COMMAND_STATES[command]:
            raise smpplib.exceptions.PDUError(
                f"Command {command} failed: not allowed in state {self.state}")
        try:
            self._socket.sendall(b"".join(data))
        except OSError as exc:
            raise smpplib.exceptions.ConnectionError() from exc

    def _message_received(self, pdu) -> None:
        if isinstance(pdu, _Read):
            self.delivered.append((pdu.sequence, pdu.deliver))
            return
        try:
            self.delivered.append((pdu.sequence, _deliver_sm(pdu)))
        except Exception as exc:
            # The same bytes would fail again: refused for good (no traceback: its
            # values are a citizen's number and text).
            log.warning("deliver_sm %s cannot be read (%s): refused", pdu.sequence,
                        type(exc).__name__)
            self.delivered.append((pdu.sequence, None))
