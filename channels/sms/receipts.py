"""Delivery receipts: recognising them, parsing the ``id:... stat:...`` text, matching ids.

The text format is the de-facto one from SMPP 3.4 Appendix B, as Logica, Kannel and Jasmin
send it::

    id:0123456789 sub:001 dlvrd:001 submit date:2511231015 done date:2511231016
    stat:DELIVRD err:000 text:...

Dates are the SMSC's local time, with no zone; they are kept naive and are for display.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "InvalidReceipt",
    "Receipt",
    "ReceiptStatus",
    "canonical_message_id",
    "is_delivery_receipt",
    "normalize_message_id",
    "parse_receipt",
    "readings_evident",
]

_MESSAGE_TYPE_MASK = 0x3C  # esm_class bits 5-2
_SMSC_DELIVERY_RECEIPT = 0x04
_SME_DELIVERY_ACK = 0x08
_INTERMEDIATE_NOTIFICATION = 0x20


class InvalidReceipt(ValueError):
    """A receipt with no message id in its text nor in ``receipted_message_id``."""


class ReceiptStatus(enum.StrEnum):
    DELIVRD = "DELIVRD"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"
    UNDELIV = "UNDELIV"
    ACCEPTD = "ACCEPTD"
    UNKNOWN = "UNKNOWN"
    REJECTD = "REJECTD"
    ENROUTE = "ENROUTE"

    @property
    def final(self) -> bool:
        """The SMSC will not report again (ENROUTE is intermediate; UNKNOWN says nothing)."""
        return self not in (ReceiptStatus.ENROUTE, ReceiptStatus.UNKNOWN)


# Long spellings some SMSCs use, and the SMPP message_state TLV (0x0427) values.
_STATUS_ALIASES = {
    "DELIVERED": ReceiptStatus.DELIVRD,
    "UNDELIVERABLE": ReceiptStatus.UNDELIV,
    "UNDELIVERED": ReceiptStatus.UNDELIV,
    "ACCEPTED": ReceiptStatus.ACCEPTD,
    "REJECTED": ReceiptStatus.REJECTD,
}
_MESSAGE_STATES = {
    1: ReceiptStatus.ENROUTE, 2: ReceiptStatus.DELIVRD, 3: ReceiptStatus.EXPIRED,
    4: ReceiptStatus.DELETED, 5: ReceiptStatus.UNDELIV, 6: ReceiptStatus.ACCEPTD,
    7: ReceiptStatus.UNKNOWN, 8: ReceiptStatus.REJECTD,
}

_KEY_RE = re.compile(
    r"(?<![^\s])(id|sub|dlvrd|submit[ _]*date|done[ _]*date|stat|err|text)\s*:\s*",
    re.IGNORECASE,
)
_HEX_RE = re.compile(r"[0-9a-f]{1,64}")
_DECIMAL_RE = re.compile(r"[0-9]{1,64}")


@dataclass(frozen=True)
class Receipt:
    """One delivery receipt; fields missing from the text are None."""

    message_id: str
    status: ReceiptStatus
    stat: str | None = None  # as the SMSC wrote it
    submitted: int | None = None
    delivered: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    error: str | None = None
    text: str | None = None

    @property
    def message_ids(self) -> set[str]:
        return normalize_message_id(self.message_id)


def is_delivery_receipt(esm_class: int) -> bool:
    """A deliver_sm that reports on a message (never an inquiry).

    Message type bits 5-2 of ``esm_class``: 0x04 SMSC delivery receipt, 0x08 SME delivery
    acknowledgement, 0x20 intermediate delivery notification.
    """
    return esm_class & _MESSAGE_TYPE_MASK in (
        _SMSC_DELIVERY_RECEIPT, _SME_DELIVERY_ACK, _INTERMEDIATE_NOTIFICATION)


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    matches = list(_KEY_RE.finditer(text))
    for index, match in enumerate(matches):
        key = re.sub(r"[ _]+", " ", match.group(1).lower())
        if key == "text":  # the last field; it may contain anything, even "stat:"
            fields.setdefault(key, text[match.end():])
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields.setdefault(key, text[match.end():end].strip())
    return fields


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    digits = value.split()[0]
    layouts = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S"}
    if not _DECIMAL_RE.fullmatch(digits) or len(digits) not in layouts:
        return None
    try:
        return datetime.strptime(digits, layouts[len(digits)])
    except ValueError:
        return None


def _count(value: str | None) -> int | None:
    return int(value) if value and _DECIMAL_RE.fullmatch(value) else None


def _status(stat: str | None, message_state: int | None) -> ReceiptStatus:
    if message_state in _MESSAGE_STATES:
        return _MESSAGE_STATES[message_state]
    if not stat:
        return ReceiptStatus.UNKNOWN
    word = stat.upper()
    if word in ReceiptStatus.__members__:
        return ReceiptStatus[word]
    return _STATUS_ALIASES.get(word, ReceiptStatus.UNKNOWN)


def parse_receipt(text: str, receipted_message_id: str | None = None,
                  message_state: int | None = None) -> Receipt:
    """Parse a receipt's text; the ``receipted_message_id`` and ``message_state`` TLVs win.

    Keys in any case, extra spaces, missing fields, and 10- or 12-digit dates are
    tolerated; an unrecognised ``stat`` becomes UNKNOWN (the raw word stays in ``stat``).
    """
    fields = _fields(text)
    stat = fields["stat"].split()[0] if fields.get("stat") else None
    from_text = fields["id"].split()[0] if fields.get("id") else ""
    message_id = (receipted_message_id or "").strip().strip("\x00") or from_text
    if not message_id:
        raise InvalidReceipt("no message id in the receipt")
    error = fields["err"].split()[0] if fields.get("err") else None
    return Receipt(
        message_id=message_id,
        status=_status(stat, message_state),
        stat=stat,
        submitted=_count(fields.get("sub")),
        delivered=_count(fields.get("dlvrd")),
        submit_date=_date(fields.get("submit date")),
        done_date=_date(fields.get("done date")),
        error=error,
        text=fields.get("text"),
    )


def canonical_message_id(value: str) -> str:
    """The id as given, lowercased, trimmed and stripped of leading zeros."""
    value = value.strip().strip("\x00").lower()
    return (value.lstrip("0") or "0") if value else ""


def normalize_message_id(value: str) -> set[str]:
    """The comparable forms of an SMSC message id; two ids match when their sets meet.

    The canonical form (``canonical_message_id``), plus its decimal value when it reads as
    hex and its hex value when it reads as decimal: "0000A1F3" gives {"a1f3", "41459"} and
    "41459" gives {"41459", "a1f3", "267353"}. A digits-only id is ambiguous ("10" could
    be ten or sixteen), so match canonical forms first and use the others only for a
    message that found no exact match.
    """
    canonical = canonical_message_id(value)
    if not canonical:
        return set()
    forms = {canonical}
    if _HEX_RE.fullmatch(canonical):
        forms.add(str(int(canonical, 16)))
    if _DECIMAL_RE.fullmatch(canonical):
        forms.add(format(int(canonical), "x"))
    return forms


def readings_evident(value: str) -> bool:
    """Whether an id's other readings (``normalize_message_id``) may be tried as soon as
    its exact form matches nothing: it has hex letters (it can only be hex) or leading
    zeros (a fixed-width id, as SMSCs that write hex ids pad them). A bare run of digits
    ("41459") may be decimal or hex and may be another message's exact id: its other
    readings wait until the receipt's own message has had time to be recorded.
    """
    value = value.strip().strip("\x00")
    canonical = canonical_message_id(value)
    if not _HEX_RE.fullmatch(canonical):
        return False
    return not _DECIMAL_RE.fullmatch(canonical) or (len(value) > 1 and value[0] == "0")
