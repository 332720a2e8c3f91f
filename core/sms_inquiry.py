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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, delete, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from core.config import CoreConfig
from core.identity.phones import InvalidMobile, mask_mobile, normalize_mobile
from core.messaging import outbox
from core.messaging.models import InboundMessage, InboundPart
from core.platform.db import Database, utcnow
from core.platform.ratelimit import FailureLimiter
from core.transactions import render
from core.transactions.answer import Outcome
from core.transactions.inquiry import InquiryRequest, InquiryService

if TYPE_CHECKING:
    from core.service import Core

log = logging.getLogger(__name__)

RECEIVED = "received"
ANSWERED = "answered"
IGNORED = "ignored"

_INBOUND = InboundMessage.__table__

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
    not valid as a local one, it is tried as international (first, when it looks like one:
    eleven digits or more, no leading 0).
    """
    bare = sender.strip()
    candidates = (sender, "+" + bare)
    if bare.isascii() and bare.isdigit() and len(bare) >= 11 and not bare.startswith("0"):
        candidates = candidates[::-1]
    for candidate in candidates:
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


@dataclass(frozen=True)
class Inbound:
    """One inbound SMS as the adapter decoded it (see ``receive``)."""

    sender: str
    recipient: str
    text: str
    dedupe_key: str
    # The key the same message had in the adapter's previous time window: a redelivery
    # that straddles the window's edge is recognised by it.
    earlier_key: str | None = None


def _rows(config: CoreConfig, messages: list[Inbound]) -> list[dict]:
    """The rows to insert, one per dedupe key (a redelivery within the batch drops out)."""
    now = utcnow()
    rows: dict[str, dict] = {}
    for message in messages:
        key = _dedupe(message.dedupe_key)
        rows.setdefault(key, {
            "channel": "sms", "dedupe_key": key,
            "sender": normalize_sender(message.sender, config.phone_region),
            "recipient": _storable(message.recipient.strip())[:_RECIPIENT_MAX],
            "text": _storable(message.text), "received_at": now, "status": RECEIVED,
            "_earlier": _dedupe(message.earlier_key) if message.earlier_key else None,
        })
    return list(rows.values())


def _insert_new(connection: Connection, rows: list[dict]) -> dict[str, int]:
    """Insert the rows not stored before; the new ones' ids by dedupe key.

    A connection and the table, not an ORM session: this runs for every SMS received."""
    earlier = [row["_earlier"] for row in rows if row["_earlier"]]
    if earlier:
        stored = set(connection.scalars(
            select(_INBOUND.c.dedupe_key).where(_INBOUND.c.dedupe_key.in_(earlier))))
        rows = [row for row in rows if row["_earlier"] not in stored]
    rows = [{key: value for key, value in row.items() if key != "_earlier"} for row in rows]
    if not rows:
        return {}
    insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    inserted = connection.execute(
        insert(_INBOUND).on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(_INBOUND.c.id, _INBOUND.c.dedupe_key), rows)
    return {key: message_id for message_id, key in inserted}


def receive_and_answer(core: Core, messages: list[Inbound], *, claim_limit: int,
                       holder: str | None = None) -> list[outbox.Claimed]:
    """Store a batch of inbound SMS and answer them, in one transaction; up to
    ``claim_limit`` answers come back claimed, for the adapter to submit at once.

    The fast path of the short code: a citizen's message and its answer are committed
    together (the message "answered", the answer in the outbox), so an answer costs no
    second transaction; the first ``claim_limit`` answers go in as "sending" (claimed),
    the rest as "pending" for the sender's next claim. The inquiries run before the
    transaction (they read, and may log); the claimed ones name ``holder`` (the
    adapter's heartbeat holder, see ``outbox.claim``); a redelivery of a message stored
    before is then skipped, its inquiry wasted but its message not answered twice. A message whose
    inquiry failed stays "received" for ``answer_pending``. Only a database failure
    raises, and then nothing is stored (the adapter must acknowledge none of them).
    """
    rows = _rows(core.config, messages)
    if not rows:
        return []
    replies: dict[str, _Reply] = {}
    for row in rows:
        try:
            replies[row["dedupe_key"]] = _reply(core, row["sender"], row["text"])
        except Exception:
            log.exception("could not answer an inbound SMS; it is left to answer later")
    with core.db.write_engine.begin() as connection:
        new = _insert_new(connection, rows)
        answers, moved = [], {ANSWERED: [], IGNORED: []}
        for key, reply in replies.items():
            if key in new:
                moved[reply.status].append(new[key])
                if reply.message is not None:
                    answers.append({**reply.message, "cause_key": f"mo:{new[key]}:answer"})
        for status, ids in moved.items():
            if ids:
                connection.execute(
                    update(_INBOUND).where(_INBOUND.c.id.in_(ids))
                    .values(status=status, answered_at=utcnow() if status == ANSWERED else None))
        claim_limit = max(claim_limit, 0)
        outbox.enqueue_many(connection, answers[claim_limit:])
        return outbox.enqueue_claimed(connection, answers[:claim_limit], holder=holder)


# --- answering ---------------------------------------------------------------------------


def answer_pending(core: Core, *, limit: int = 100) -> int:
    """Answer up to ``limit`` stored messages, oldest first; returns how many were answered.

    Each answer goes to the outbox (priority ``PRIORITY_ANSWER``, kind "answer") in the
    transaction that marks its message "answered", and only if the message was still
    "received": two processes may look the same message up, only one answers it. The
    batch is recorded in one transaction. A citizen's answer is never held by quiet
    hours: the scheduler applies those to notifications, not to kind "answer". A sender
    that is not a mobile number (an alphanumeric sender id) cannot be answered: its
    message is marked "ignored".
    """
    with core.db.read() as session:
        # Ids grow with arrival: ordering by id is oldest first, on the status index.
        pending = session.execute(
            select(InboundMessage.id, InboundMessage.sender, InboundMessage.text)
            .where(InboundMessage.status == RECEIVED)
            .order_by(InboundMessage.id).limit(limit)).all()
    replies = []
    for message in pending:
        try:
            reply = _reply(core, message.sender, message.text)
            replies.append(_Reply(message.id, reply.status, reply.message and {
                **reply.message, "cause_key": f"mo:{message.id}:answer"}))
        except Exception:
            # One message that cannot be answered must not hold up those behind it;
            # it stays "received" and is tried again on the next pass.
            log.exception("could not answer inbound message %s", message.id)
    if not replies:
        return 0
    try:
        return _record(core, replies)
    except Exception:
        log.exception("a batch of %d SMS answers could not be recorded; one by one",
                      len(replies))
    answered = 0
    for reply in replies:
        try:
            answered += _record(core, [reply])
        except Exception:
            log.exception("could not record the answer to inbound message %s",
                          reply.message_id)
    return answered


@dataclass(frozen=True)
class _Reply:
    message_id: int
    status: str  # ANSWERED (with ``message``) or IGNORED
    message: dict | None = None


@dataclass(frozen=True)
class SmsLimits:
    """What SMS replies count against: the inquiry service (its failure limits per
    mobile and per number), the answers budget per mobile and the "too many attempts"
    notices. The short code uses the core's; a simulator its own (``apart``), so a
    trainee typing a citizen's number never locks the citizen's mobile out."""

    inquiries: InquiryService
    answers: FailureLimiter
    notices: FailureLimiter

    @classmethod
    def of(cls, core: Core) -> SmsLimits:
        return cls(core.inquiries, core.sms_answers, core.sms_limit_notices)

    @classmethod
    def apart(cls, core: Core) -> SmsLimits:
        """The same rules as the short code's, counted on their own."""
        config = core.config
        return cls(InquiryService(core.db.lookup, config, core.inquiry_log),
                   FailureLimiter(config.sms_answers_per_sender,
                                  config.sms_answers_window_seconds),
                   FailureLimiter(1, config.failure_window_seconds))


@dataclass(frozen=True)
class SmsReply:
    """What the short code sends back to one message: ``body`` in ``language``, or
    nothing (``body`` None: the sender is not a mobile, or its answers budget is spent)."""

    body: str | None
    language: str


def sms_reply(core: Core, sender: str, text: str, *, channel: str = "sms",
              limits: SmsLimits | None = None) -> SmsReply:
    """The short code's reply to ``text`` from ``sender`` (E.164): the language from the
    text, the inquiry with the sender's mobile as the credential (logged under
    ``channel``), the rate limits and the answers budget (``limits``, the core's unless
    given), rendered as the SMS."""
    limits = limits or SmsLimits.of(core)
    lang = reply_language(text, core.config.default_language)
    if not _is_mobile(sender, core.config.phone_region):
        return SmsReply(None, lang)
    if limits.answers.blocked(sender):
        # Its budget of answers is spent: stored, not answered (see below).
        return SmsReply(None, lang)
    answer = limits.inquiries.inquire(InquiryRequest(
        channel=channel, number_text=text, mobile=sender, lang=lang, origin=sender))
    if answer.outcome == Outcome.RATE_LIMITED:
        # A flood from one number gets the "too many attempts" text once per window, not
        # an SMS (paid for by the emirate) for every message it sends.
        if limits.notices.blocked(sender):
            return SmsReply(None, lang)
        limits.notices.failed(sender)
    body = render.sms_text(answer, lang, core.config.tz, core.config.short_code)
    limits.answers.failed(sender)  # counted: one more answer to this number
    if limits.answers.blocked(sender):
        # Found answers are not rate limited as failures are: a phone that echoes each
        # answer back (an auto-responder) would make an endless, paid-for loop.
        log.warning("SMS to %s: %d answers within %d s; its next messages are stored and "
                    "not answered until the window passes (an auto-responder loop?)",
                    mask_mobile(sender), core.config.sms_answers_per_sender,
                    core.config.sms_answers_window_seconds)
    return SmsReply(body, lang)


def _reply(core: Core, sender: str, text: str) -> _Reply:
    """The answer to one message (its outbox row less the cause key), or IGNORED."""
    reply = sms_reply(core, sender, text)
    if reply.body is None:
        return _Reply(0, IGNORED)
    return _Reply(0, ANSWERED, {
        "kind": "answer", "audience": "citizen",
        "recipient": sender, "language": reply.language, "body": reply.body,
        "priority": outbox.PRIORITY_ANSWER})


def _record(core: Core, replies: list[_Reply]) -> int:
    """Move the messages on from "received" and queue the answers of those that moved, in
    one transaction; a message another process moved on first is left to it."""
    now = utcnow()
    with core.db.write.begin() as session:
        moved: set[int] = set()
        for status in (ANSWERED, IGNORED):
            ids = [reply.message_id for reply in replies if reply.status == status]
            if ids:
                moved.update(session.scalars(
                    update(InboundMessage)
                    .where(InboundMessage.id.in_(ids), InboundMessage.status == RECEIVED)
                    .values(status=status, answered_at=now if status == ANSWERED else None)
                    .returning(InboundMessage.id)
                    .execution_options(synchronize_session=False)))
        answers = [reply.message for reply in replies
                   if reply.message is not None and reply.message_id in moved]
        outbox.enqueue_many(session, answers)
    return len(answers)


def _is_mobile(sender: str, region: str) -> bool:
    try:
        return normalize_mobile(sender, region) == sender
    except InvalidMobile:
        return False


# --- multi-part messages -----------------------------------------------------------------
#
# A long SMS comes as parts, each acknowledged on its own; an SMSC never redelivers a part
# it was told arrived. So each part is stored before its acknowledgement, and the message
# is stored from its parts in the transaction that brings the last one: a restart between
# parts loses nothing. Decoding stays with the adapter (a character may straddle two
# parts): it hands over the raw bytes and, to join them, a function from a message's parts
# to the ``Inbound`` to store.


@dataclass(frozen=True)
class Part:
    """One part of a multi-part SMS as the adapter received it, undecoded.

    ``payload`` is the part without its header; ``coding`` is what the adapter needs to
    decode it (SMPP's data_coding). (``sender``, ``reference``, ``total``) ties the parts of
    one message together; ``seq`` is this part's place, 1 to ``total``.
    """

    sender: str
    recipient: str
    reference: int
    total: int
    seq: int
    payload: bytes
    coding: int = 0


# The adapter's joiner: the parts that arrived of one message, in order (all ``total``, or
# fewer once it waited too long), to the message to store. It must not raise.
Assemble = Callable[[list[Part]], Inbound]

_PARTS = InboundPart.__table__
_PART_SENDER_MAX = 64
_MESSAGE = (_PARTS.c.sender, _PARTS.c.reference, _PARTS.c.total)
_WAITING = _PARTS.c.joined_at.is_(None)


def receive_parts(db: Database, config: CoreConfig, parts: list[Part],
                  assemble: Assemble) -> int:
    """Store parts of multi-part SMS in one committed transaction, and with them every
    message they complete (assembled by ``assemble``, stored "received" for
    ``answer_pending``, same dedupe rule as ``receive_and_answer``); how many were completed.

    A redelivered part changes nothing, also for a while after its message was stored; a
    different part under a finished message's numbers starts a new message (a phone may
    reuse a reference). Only a database failure raises, and then the adapter must
    acknowledge none of the parts.
    """
    if not parts:
        return 0
    now = utcnow()
    with db.write_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes (two binds) storing two parts of one message at once would
            # each see only its own part and neither join them: one at a time per
            # message, in a fixed order (no deadlock).
            for key in sorted({_part_key(part) for part in parts}):
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                                   {"key": repr(key)})
        _store_parts(connection, parts, now)
        waiting = _waiting(connection, _OF_MESSAGES, {
            "messages": sorted({_part_key(part) for part in parts})})
        complete = [found for found in waiting if len(found[1]) == found[1][0].total]
        _join(connection, config, complete, assemble, now)
    return len(complete)


def expire_parts(db: Database, config: CoreConfig, older_than: timedelta,
                 assemble: Assemble, *, now: datetime | None = None) -> int:
    """Store, as they are, the messages still missing parts whose oldest part came
    ``older_than`` ago (also parts stored by a process that has since stopped), and forget
    parts of stored messages as old; how many messages were stored.

    Cheap when there is nothing to do (two indexed reads, no write lock): run it often.
    """
    now = now or utcnow()
    cutoff = now - older_than
    with db.lookup.connect() as connection:
        due = connection.execute(_ANY_OVERDUE, {"cutoff": cutoff}).first()
        stale = connection.execute(_ANY_FORGOTTEN, {"cutoff": cutoff}).first()
    if due is None and stale is None:
        return 0
    with db.write_engine.begin() as connection:
        connection.execute(_FORGET, {"cutoff": cutoff})
        waiting = _waiting(connection, _OF_OVERDUE_MESSAGES, {"cutoff": cutoff})
        _join(connection, config, waiting, assemble, now)
    return len(waiting)


# The statements, built once (this runs for every part received).
_OVERDUE = _WAITING & (_PARTS.c.received_at <= bindparam("cutoff"))
_FORGOTTEN = _PARTS.c.joined_at <= bindparam("cutoff")
_ANY_OVERDUE = select(_PARTS.c.id).where(_OVERDUE).limit(1)
_ANY_FORGOTTEN = select(_PARTS.c.id).where(_FORGOTTEN).limit(1)
_FORGET = delete(_PARTS).where(_FORGOTTEN)
# Locked, so that of two transactions joining one message (its last part and the
# timeout), the second finds the parts joined and leaves them.
_OF_MESSAGES = select(_PARTS).where(
    _WAITING, tuple_(*_MESSAGE).in_(bindparam("messages", expanding=True))
).order_by(_PARTS.c.id).with_for_update()
_OF_OVERDUE_MESSAGES = select(_PARTS).where(
    _WAITING, tuple_(*_MESSAGE).in_(select(*_MESSAGE).where(_OVERDUE))
).order_by(_PARTS.c.id).with_for_update()
_MARK_JOINED = update(_PARTS).where(
    _PARTS.c.id.in_(bindparam("ids", expanding=True))).values(joined_at=bindparam("now"))


def _upsert_parts(dialect: str):
    """Insert a part; one already waiting, or the same bytes again after its message was
    joined, is left as it is; different bytes under a joined part's numbers take its place
    (a new message reusing the reference)."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(_PARTS)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["sender", "reference", "total", "seq"],
        set_={"recipient": new.recipient, "payload": new.payload, "coding": new.coding,
              "received_at": new.received_at, "joined_at": None},
        where=_PARTS.c.joined_at.is_not(None) & (_PARTS.c.payload != new.payload))


_UPSERT_PARTS = {name: _upsert_parts(name) for name in ("postgresql", "sqlite")}


def _part_key(part: Part) -> tuple[str, int, int]:
    return (_storable(part.sender.strip())[:_PART_SENDER_MAX], part.reference, part.total)


def _store_parts(connection: Connection, parts: list[Part], now: datetime) -> None:
    rows: dict[tuple, dict] = {}
    for part in parts:
        sender, reference, total = _part_key(part)
        # One row per part and statement: PostgreSQL refuses to upsert a row twice in one.
        rows.setdefault((sender, reference, total, part.seq), {
            "sender": sender, "reference": reference, "total": total, "seq": part.seq,
            "recipient": _storable(part.recipient.strip())[:_RECIPIENT_MAX],
            "payload": part.payload, "coding": part.coding, "received_at": now,
            "joined_at": None,
        })
    connection.execute(_UPSERT_PARTS[connection.dialect.name], list(rows.values()))


def _waiting(connection: Connection, statement, parameters: dict
             ) -> list[tuple[list[int], list[Part]]]:
    """The waiting parts ``statement`` selects, grouped by message: (ids, parts in order)."""
    found: dict[tuple[str, int, int], tuple[list[int], list[Part]]] = {}
    rows = connection.execute(statement, parameters).all()
    for row in sorted(rows, key=lambda row: row.seq):
        ids, parts = found.setdefault((row.sender, row.reference, row.total), ([], []))
        ids.append(row.id)
        parts.append(Part(row.sender, row.recipient, row.reference, row.total, row.seq,
                          bytes(row.payload), row.coding))
    return list(found.values())


def _join(connection: Connection, config: CoreConfig,
          messages: list[tuple[list[int], list[Part]]], assemble: Assemble,
          now: datetime) -> None:
    """Store each message from its parts and mark the parts joined."""
    if not messages:
        return
    _insert_new(connection, _rows(config, [assemble(parts) for _, parts in messages]))
    connection.execute(_MARK_JOINED, {
        "ids": [part_id for ids, _ in messages for part_id in ids], "now": now})
