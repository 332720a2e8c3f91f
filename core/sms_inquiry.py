"""Inquiries by SMS to the short code: store what came in, then answer it from the outbox.

Channel-neutral: the SMPP adapter decodes a ``deliver_sm``, calls ``receive`` and
acknowledges the SMSC only after it returns (a failure there becomes a temporary error,
so the SMSC redelivers). ``answer_pending`` runs later, in a loop or a job: it answers
each stored message through the inquiry service (which verifies the sender, rate limits
and logs, channel "sms") and queues the reply in the outbox, in the transaction that
marks the message answered. A crash anywhere loses no message and sends no second answer.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core import outbox, render
from core.config import CoreConfig
from core.db import Database, utcnow
from core.identity import InvalidMobile, normalize_mobile
from core.inquiry import InquiryRequest
from core.models import InboundMessage

if TYPE_CHECKING:
    from core.service import Core

log = logging.getLogger(__name__)

RECEIVED = "received"
ANSWERED = "answered"
IGNORED = "ignored"

# Column sizes of inbound_messages (PostgreSQL enforces them, SQLite does not).
_SENDER_MAX, _RECIPIENT_MAX, _DEDUPE_MAX = 254, 64, 128


@dataclass(frozen=True)
class Received:
    """The stored message; ``duplicate`` when it was a redelivery of one stored before."""

    id: int
    status: str
    duplicate: bool = False


# --- language ----------------------------------------------------------------------------


def _is_arabic_letter(char: str) -> bool:
    code = ord(char)
    return char.isalpha() and (
        0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x077F or 0x08A0 <= code <= 0x08FF
        or 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF
    )


def _is_latin_letter(char: str) -> bool:
    return "a" <= char <= "z" or "A" <= char <= "Z"


def reply_language(text: str, default: str = "ar") -> str:
    """The language to answer ``text`` in: English when it is Latin (letters A-Z and no
    Arabic letter), Arabic when it has an Arabic letter, else ``default`` (digits only)."""
    if any(_is_arabic_letter(char) for char in text):
        return "ar"
    if any(_is_latin_letter(char) for char in text):
        return "en"
    return default


# --- storing what came in ----------------------------------------------------------------


def _storable(text: str) -> str:
    """``text`` as both databases accept it: PostgreSQL refuses NUL, and neither driver
    encodes a lone surrogate (a decoder's leftover); a valid surrogate pair is joined."""
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\x00", "\ufffd")


def _dedupe(key: str) -> str:
    key = _storable(key)
    if len(key) <= _DEDUPE_MAX:
        return key
    # Still one key per message, just shorter.
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def normalize_sender(sender: str, region: str = "SA") -> str:
    """The sender in E.164 when it is a mobile number, else the raw value (trimmed).

    SMSCs give international numbers without the '+' ("971501234567"): when the number is
    not valid as a local one, it is tried as international.
    """
    for candidate in (sender, "+" + sender.strip()):
        try:
            return normalize_mobile(candidate, region)
        except InvalidMobile:
            continue
    return _storable(sender.strip())[:_SENDER_MAX]


def receive(db: Database, config: CoreConfig, *, sender: str, recipient: str, text: str,
            dedupe_key: str) -> Received:
    """Store one inbound SMS (status "received") in its own committed transaction.

    A redelivery (same ``dedupe_key``) returns the row stored before, adding none. Any text
    is stored (empty, long, odd Unicode); only a database failure raises, and then the
    adapter must not acknowledge the message.
    """
    key = _dedupe(dedupe_key)
    row = {
        "channel": "sms", "dedupe_key": key,
        "sender": normalize_sender(sender, config.phone_region),
        "recipient": _storable(recipient.strip())[:_RECIPIENT_MAX],
        "text": _storable(text), "received_at": utcnow(), "status": RECEIVED,
    }
    try:
        with db.write.begin() as session:
            message = InboundMessage(**row)
            session.add(message)
            session.flush()
        return Received(id=message.id, status=RECEIVED)
    except IntegrityError:
        # The unique dedupe_key: this message (or a concurrent delivery of it) is stored.
        with db.read() as session:
            existing = session.execute(
                select(InboundMessage.id, InboundMessage.status)
                .where(InboundMessage.dedupe_key == key)).one_or_none()
        if existing is None:
            raise
        return Received(id=existing.id, status=existing.status, duplicate=True)


# --- answering ---------------------------------------------------------------------------


def answer_pending(core: Core, *, limit: int = 100) -> int:
    """Answer up to ``limit`` stored messages, oldest first; returns how many were answered.

    Each answer goes to the outbox (priority ``PRIORITY_ANSWER``, kind "answer") in the
    transaction that marks its message "answered", and only if the message was still
    "received": two processes may look the same message up, only one answers it. A
    citizen's answer is never held by quiet hours: the scheduler applies those to
    notifications, not to kind "answer". A sender that is not a mobile number (an
    alphanumeric sender id) cannot be answered: its message is marked "ignored".
    """
    with core.db.read() as session:
        # Ids grow with arrival: ordering by id is oldest first, on the status index.
        pending = session.execute(
            select(InboundMessage.id, InboundMessage.sender, InboundMessage.text)
            .where(InboundMessage.status == RECEIVED)
            .order_by(InboundMessage.id).limit(limit)).all()
    answered = 0
    for message in pending:
        try:
            answered += _answer(core, message.id, message.sender, message.text)
        except Exception:
            # One message that cannot be answered must not hold up those behind it;
            # it stays "received" and is tried again on the next pass.
            log.exception("could not answer inbound message %s", message.id)
    return answered


def _answer(core: Core, message_id: int, sender: str, text: str) -> int:
    if not _is_mobile(sender, core.config.phone_region):
        with core.db.write.begin() as session:
            _mark(session, message_id, IGNORED)
        return 0
    lang = reply_language(text, core.config.default_language)
    answer = core.inquire(InquiryRequest(channel="sms", number_text=text, mobile=sender,
                                         lang=lang, origin=sender))
    body = render.sms_text(answer, lang, core.config.tz, core.config.short_code)
    with core.db.write.begin() as session:
        if not _mark(session, message_id, ANSWERED):
            return 0  # another process answered it first
        outbox.enqueue(session, cause_key=f"mo:{message_id}:answer", kind="answer",
                       audience="citizen", recipient=sender, language=lang, body=body,
                       priority=outbox.PRIORITY_ANSWER)
    return 1


def _is_mobile(sender: str, region: str) -> bool:
    try:
        return normalize_mobile(sender, region) == sender
    except InvalidMobile:
        return False


def _mark(session, message_id: int, status: str) -> bool:
    """Move a message on from "received"; False when it had already moved on."""
    result = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == message_id, InboundMessage.status == RECEIVED)
        .values(status=status, answered_at=utcnow() if status == ANSWERED else None)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1
