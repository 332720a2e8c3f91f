"""Inbound messages: store what came in, then record its answer in the outbox.

Channel-neutral storage and bookkeeping; what to answer is the channel's (a ``Respond``
it passes in). The SMPP adapter decodes a ``deliver_sm``, stores it and acknowledges the
SMSC only after the store returns (a failure there becomes a temporary error, so the SMSC
redelivers). ``answer_pending`` runs later, in a loop or a job: it asks the channel's
``Respond`` for each stored message and queues the reply in the outbox, in the
transaction that marks the message answered. A crash anywhere loses no message and sends
no second answer.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from core.identity.phones import InvalidMobile, normalize_mobile
from core.messaging import outbox
from core.messaging.models import InboundMessage
from core.platform import raw_rows
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.settings import CoreSettings

log = logging.getLogger(__name__)

RECEIVED = "received"
ANSWERED = "answered"
IGNORED = "ignored"

_INBOUND = InboundMessage.__table__

# Column sizes of inbound_messages (PostgreSQL enforces them, SQLite does not).
_SENDER_MAX, RECIPIENT_MAX, _DEDUPE_MAX = 254, 64, 128


@dataclass(frozen=True)
class Received:
    """The stored message; ``duplicate`` when it was a redelivery of one stored before."""

    id: int
    status: str
    duplicate: bool = False


@dataclass(frozen=True)
class Inbound:
    """One inbound SMS as the adapter decoded it (see ``receive``), or as stored when the
    channel answers it (``Respond``: the sender normalized, the key as stored)."""

    sender: str
    recipient: str
    text: str
    dedupe_key: str
    # The key the same message had in the adapter's previous time window: a redelivery
    # that straddles the window's edge is recognised by it.
    earlier_key: str | None = None


@dataclass(frozen=True)
class Reply:
    """What to send back to one message: ``body`` in ``language``, or nothing (``body``
    None: the message is marked "ignored")."""

    body: str | None
    language: str


class InboundRow(TypedDict):
    """A row of inbound_messages as stored "received"."""

    channel: str
    dedupe_key: str
    sender: str
    recipient: str
    text: str
    received_at: datetime
    status: str


class NewRow(InboundRow):
    """A row to insert (``new_rows``), with its message's key in the previous window."""

    _earlier: str | None


# The channel's answer to one message: its sender (E.164 when a mobile), its text and the
# key it is stored under (``dedupe_key``; ``earlier_key`` when the adapter gave one), so
# that what the answer does (a case filed, a citizen's reply added) is done once per
# message however often it is answered. May raise: the message then stays "received",
# to be answered later.
Respond = Callable[[Inbound], Reply]


def _nothing(connection: Connection) -> None:
    """Nothing left to write."""


@dataclass(frozen=True)
class Burst:
    """A channel's replies to one read burst (``receive_and_answer``): ``respond`` to each
    message, and ``write`` what those replies left to record (the inquiries' failures),
    run in the transaction that stores the burst, so the burst costs no other."""

    respond: Respond
    write: Callable[[Connection], None] = _nothing


# The channel's replies to a burst, given its messages' (sender, text) before any is
# answered: what it will read for all of them, it can read at once.
Answering = Callable[[list[tuple[str, str]]], Burst]


# --- storing what came in ----------------------------------------------------------------


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as both databases accept it: PostgreSQL refuses NUL, and neither driver
    encodes a lone surrogate (a decoder's leftover); a valid surrogate pair is joined."""
    if not _UNSTORABLE.search(text):
        return text  # nearly every text: one scan, no copy
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\x00", "\ufffd")


def _dedupe(key: str) -> str:
    key = storable(key)
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
    return storable(sender.strip())[:_SENDER_MAX]


def _row(config: CoreSettings, message: Inbound, key: str, now: datetime) -> InboundRow:
    """The inbound_messages row of one message, "received"."""
    return {
        "channel": "sms", "dedupe_key": key,
        "sender": normalize_sender(message.sender, config.locale.phone_region),
        "recipient": storable(message.recipient.strip())[:RECIPIENT_MAX],
        "text": storable(message.text), "received_at": now, "status": RECEIVED,
    }


def receive(db: Database, config: CoreSettings, *, sender: str, recipient: str, text: str,
            dedupe_key: str) -> Received:
    """Store one inbound SMS (status "received") in its own committed transaction.

    A redelivery (same ``dedupe_key``) returns the row stored before, adding none. Any text
    is stored (empty, long, odd Unicode); only a database failure raises, and then the
    adapter must not acknowledge the message.
    """
    key = _dedupe(dedupe_key)
    row = _row(config, Inbound(sender, recipient, text, dedupe_key), key, utcnow())
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


def new_rows(config: CoreSettings, messages: list[Inbound]) -> list[NewRow]:
    """The rows to insert, one per dedupe key (a redelivery within the batch drops out)."""
    now = utcnow()
    rows: dict[str, NewRow] = {}
    for message in messages:
        key = _dedupe(message.dedupe_key)
        if key not in rows:
            rows[key] = {**_row(config, message, key, now), "_earlier": _dedupe(
                message.earlier_key) if message.earlier_key else None}
    return list(rows.values())


def insert_new(connection: Connection, rows: list[NewRow],
               outcomes: dict[str, str] | None = None) -> dict[str, int]:
    """Insert the rows (``new_rows``) not stored before; the new ones' ids by dedupe key.
    ``outcomes``: the status a row goes in with, by dedupe key, when it was answered
    (or ignored) already (else "received").

    On the driver's cursor (``raw_rows``), in the caller's transaction: this runs for
    every SMS received."""
    earlier = [row["_earlier"] for row in rows if row["_earlier"]]
    if earlier:
        stored = set(raw_rows.select_in(connection, _INBOUND, "dedupe_key", earlier))
        rows = [row for row in rows if row["_earlier"] not in stored]
    outcomes = outcomes or {}
    now = utcnow()
    values = []
    for row in rows:
        status = outcomes.get(row["dedupe_key"], row["status"])
        values.append((row["channel"], row["dedupe_key"], row["sender"], row["recipient"],
                       row["text"], row["received_at"], status,
                       now if status == ANSWERED else None))
    inserted = raw_rows.insert_many(connection, _INBOUND, _INSERTED, values,
                                    unique="dedupe_key", returning=("id", "dedupe_key"))
    return {key: message_id for message_id, key in inserted}


_INSERTED = ("channel", "dedupe_key", "sender", "recipient", "text", "received_at", "status",
             "answered_at")


def receive_and_answer(db: Database, config: CoreSettings, messages: list[Inbound],
                       answering: Answering, *, claim_limit: int,
                       holder: str | None = None) -> list[outbox.Claimed]:
    """Store a batch of inbound SMS and answer them (``answering``'s burst), in one
    transaction; up to ``claim_limit`` answers come back claimed, for the adapter to
    submit at once.

    The fast path of the short code: a citizen's message and its answer are committed
    together (the message "answered", the answer in the outbox), so an answer costs no
    second transaction; the first ``claim_limit`` answers go in as "sending" (claimed),
    the rest as "pending" for the sender's next claim. The replies are chosen before the
    transaction (they read, and may log; what they leave to write, the burst writes in
    it, failed replies' included); the claimed ones name ``holder`` (the
    adapter's heartbeat holder, see ``outbox.claim``); a redelivery of a message stored
    before is then skipped, its inquiry wasted but its message not answered twice. A message whose
    reply failed stays "received" for ``answer_pending``. Only a database failure
    raises, and then nothing is stored (the adapter must acknowledge none of them).
    """
    rows = new_rows(config, messages)
    if not rows:
        return []
    burst = answering([(row["sender"], row["text"]) for row in rows])
    replies: dict[str, _Answer] = {}
    for row in rows:
        try:
            replies[row["dedupe_key"]] = _answer(burst.respond, Inbound(
                row["sender"], row["recipient"], row["text"], row["dedupe_key"],
                row["_earlier"]))
        except Exception:
            log.exception("could not answer an inbound SMS; it is left to answer later")
    with db.write_engine.begin() as connection:
        # Stored answered (or ignored) at once: the answers go in with them.
        new = insert_new(connection, rows,
                         {key: reply.status for key, reply in replies.items()})
        answers: list[dict[str, object]] = [
            {**reply.message, "cause_key": f"mo:{new[key]}:answer"}
            for key, reply in replies.items() if key in new and reply.message is not None]
        claim_limit = max(claim_limit, 0)
        outbox.enqueue_many(connection, answers[claim_limit:])
        claimed = outbox.enqueue_claimed(connection, answers[:claim_limit], holder=holder)
        burst.write(connection)  # last: the shared counters' rows are locked the least
        return claimed


# --- answering ---------------------------------------------------------------------------


def answer_pending(db: Database, respond: Respond, *, limit: int = 100) -> int:
    """Answer up to ``limit`` stored messages, oldest first; returns how many were answered.

    Each answer goes to the outbox (priority ``PRIORITY_ANSWER``, kind "answer") in the
    transaction that marks its message "answered", and only if the message was still
    "received": two processes may look the same message up, only one answers it. The
    batch is recorded in one transaction. A citizen's answer is never held by quiet
    hours: the scheduler applies those to notifications, not to kind "answer". A message
    ``respond`` gives no body (a sender that is not a mobile number, say) is marked
    "ignored".
    """
    with db.read() as session:
        # Ids grow with arrival: ordering by id is oldest first, on the status index.
        pending = session.execute(
            select(InboundMessage.id, InboundMessage.sender, InboundMessage.recipient,
                   InboundMessage.text, InboundMessage.dedupe_key)
            .where(InboundMessage.status == RECEIVED)
            .order_by(InboundMessage.id).limit(limit)).all()
    replies = []
    for message in pending:
        try:
            reply = _answer(respond, Inbound(message.sender, message.recipient,
                                             message.text, message.dedupe_key))
            replies.append(_Answer(message.id, reply.status, reply.message and {
                **reply.message, "cause_key": f"mo:{message.id}:answer"}))
        except Exception:
            # One message that cannot be answered must not hold up those behind it;
            # it stays "received" and is tried again on the next pass.
            log.exception("could not answer inbound message %s", message.id)
    if not replies:
        return 0
    try:
        return _record(db, replies)
    except Exception:
        log.exception("a batch of %d SMS answers could not be recorded; one by one",
                      len(replies))
    answered = 0
    for reply in replies:
        try:
            answered += _record(db, [reply])
        except Exception:
            log.exception("could not record the answer to inbound message %s",
                          reply.message_id)
    return answered


@dataclass(frozen=True)
class _Answer:
    message_id: int
    status: str  # ANSWERED (with ``message``) or IGNORED
    message: dict[str, object] | None = None  # its outbox row (``outbox.enqueue_many``)


def _answer(respond: Respond, message: Inbound) -> _Answer:
    """The answer to one message (its outbox row less the cause key), or IGNORED."""
    reply = respond(message)
    if reply.body is None:
        return _Answer(0, IGNORED)
    return _Answer(0, ANSWERED, {
        "kind": "answer", "audience": "citizen",
        "recipient": message.sender, "language": reply.language, "body": reply.body,
        "priority": outbox.PRIORITY_ANSWER})


def _record(db: Database, replies: list[_Answer]) -> int:
    """Move the messages on from "received" and queue the answers of those that moved, in
    one transaction; a message another process moved on first is left to it."""
    now = utcnow()
    with db.write.begin() as session:
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
