"""smpplib's client as the SMPP session needs it: the last PDU remembered, each
``deliver_sm`` held (as a ``DeliverSm``) for the session to answer, an unknown command
answered with generic_nack instead of ending the session, a window's submits in one write.

Used by the session thread alone (smpplib is not thread-safe).
"""

from __future__ import annotations

import logging
import struct
import time

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from channels.sms.pdus import DeliverSm

log = logging.getLogger(__name__)

_RINVCMDID = 0x03
_MAX_PDU = 64 * 1024  # far above any PDU an SMSC sends; a larger length is a broken stream


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

    def read_pdu(self):
        """smpplib's read, less its eager hex dump, and alive after an unknown command.

        smpplib raises UnknownCommandError (not a PDUError) for a command it does not know
        (a vendor's own, cancel_sm): that would end the session thread. It is answered
        with generic_nack ESME_RINVCMDID, as SMPP 3.4 asks, and the session goes on.
        """
        raw_len = self._recv_exact(4)
        (length,) = struct.unpack(">L", raw_len)
        if not 16 <= length <= _MAX_PDU:
            raise smpplib.exceptions.PDUError(f"a PDU of {length} bytes")
        raw = raw_len + self._recv_exact(length - 4)
        try:
            pdu = smpplib.smpp.parse_pdu(raw, client=self,
                                         allow_unknown_opt_params=self.allow_unknown_opt_params)
        except smpplib.exceptions.UnknownCommandError:
            command_id, _status, sequence = struct.unpack(">LLL", raw[4:16])
            log.warning("SMPP command 0x%08x is unknown: answered with generic_nack",
                        command_id)
            nack = smpplib.smpp.make_pdu("generic_nack", client=self, status=_RINVCMDID)
            nack.sequence = sequence
            self.send_pdu(nack)
            pdu = smpplib.smpp.make_pdu("enquire_link_resp", client=self)  # nothing to do
            pdu.sequence = sequence
        if not pdu.is_error() and pdu.command in smpplib.consts.STATE_SETTERS:
            self.state = smpplib.consts.STATE_SETTERS[pdu.command]
        self.last_pdu = pdu
        self.last_read_at = time.monotonic()
        return pdu

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

    def _message_received(self, pdu) -> None:
        try:
            self.delivered.append((pdu.sequence, _deliver_sm(pdu)))
        except Exception:
            log.exception("deliver_sm %s cannot be read; asking the SMSC to redeliver",
                          pdu.sequence)
            self.delivered.append((pdu.sequence, None))
