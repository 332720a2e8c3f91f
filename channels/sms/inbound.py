"""Citizens' messages to the short code (MO), from the SMPP session's deliveries thread
into the core.

Citizens' messages of a read burst are stored and answered in one commit before the SMSC
gets any ``deliver_sm_resp``, and the answers that fit the claim slots are submitted at
once; parts of multi-part messages are stored on their own (``inbound_parts``), the
message with the part that completes it, and one whose other parts never come is stored
as it is after ``Timings.reassembly_timeout`` (also when a previous process stored its
parts). A failure to store answers ESME_RX_T_APPN (0x64), so the SMSC redelivers (a
redelivery is recognised and stored once).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from channels.sms import metrics
from channels.sms.dispatch import Dispatch
from channels.sms.encoding import UndecodableMessage
from channels.sms.inquiry import ShortCode
from channels.sms.pdus import ESME_RX_T_APPN, DeliverSm
from channels.sms.reassembly import Assembled, Fragment, parse_fragment
from channels.sms.timings import Timings
from core.messaging.inbound import Inbound
from core.messaging.parts import Part, expire_parts, receive_parts

log = logging.getLogger(__name__)

# Stored messages answered per pass of the loop (the deliveries thread answers most itself).
_ANSWER_BATCH = 100

# SMPP gives an MO no id of its own: a redelivery is recognised by its sender and content
# within this many seconds (the current window, or the one before).
_DEDUPE_WINDOW = 120


class MobileOriginated:
    """The channel's inbound side: ``store`` on the session's deliveries thread,
    ``answer_stored`` and ``flush_reassembly`` on the loop."""

    def __init__(self, short_code: ShortCode, timings: Timings, clock: Callable[[], float],
                 *, dispatch: Dispatch, stopping: threading.Event,
                 work: threading.Event) -> None:
        self.short_code = short_code
        self.core = short_code.core
        self.timings = timings
        self._clock = clock
        self.dispatch = dispatch
        self._stopping = stopping
        self._work = work
        self._waiting = threading.Event()  # stored messages may wait for an answer
        self._next_check = 0.0
        self._next_parts_check = 0.0  # when to look for multi-part MO that expired

    def store(self, pdus: list[tuple[int, DeliverSm]], statuses: list[int]) -> None:
        """Store a read burst's citizens' messages (``statuses``, by index: refused
        temporarily when they could not be)."""
        stored: list[tuple[int, Inbound]] = []
        parts: list[tuple[int, Part]] = []
        for k, pdu in pdus:
            inbound = self._inbound(pdu)
            if isinstance(inbound, Part):
                parts.append((k, inbound))
            else:
                stored.append((k, inbound))
        if parts:
            self._store_parts(parts, statuses)
        if stored:
            self._store_and_answer([message for _, message in stored],
                                   [k for k, _ in stored], statuses)

    def _store_and_answer(self, messages: list[Inbound], indexes: list[int],
                          statuses: list[int]) -> None:
        """Store the burst's messages and answer as many as the claim slots allow, in one
        commit, then submit those answers from here (the deliveries thread) at once."""
        if self._stopping.is_set():
            # Stopping: an answer submitted now might not be recorded before the end (and
            # would go twice); the SMSC redelivers these to the next process.
            for k in indexes:
                statuses[k] = ESME_RX_T_APPN
            return
        dispatch, heartbeat = self.dispatch, self.dispatch.heartbeat
        # No answer is claimed while the heartbeat is not held (the loop claims them later).
        epoch = heartbeat.epoch
        slots = dispatch.slots.take(len(messages)) if heartbeat.valid() else 0
        try:
            answers = self.short_code.receive_and_answer(messages, claim_limit=slots,
                                                         holder=heartbeat.holder)
        except Exception:
            dispatch.slots.give(slots)
            log.exception("%d inbound SMS could not be stored; the SMSC will redeliver "
                          "them", len(messages))
            metrics.MO_RECEIVED.labels(result="store_failed").inc(len(messages))
            for k in indexes:
                statuses[k] = ESME_RX_T_APPN
            return
        dispatch.slots.give(slots - len(answers))
        metrics.MO_RECEIVED.labels(result="stored").inc(len(messages))
        if answers and not heartbeat.claims_valid(epoch):
            dispatch.give_back(answers)  # the commit outlasted the deadline, as in refill
            dispatch.slots.give(len(answers))
            answers = []
        for outgoing in dispatch.send(answers, epoch):
            dispatch.handed.put(outgoing)
        if answers:
            dispatch.handed_at = self._clock()
            if dispatch.napping:
                self._work.set()  # the first answers after a quiet spell
        if len(answers) < len(messages):
            # Answers beyond the slots wait in the outbox for the loop's claim; a message
            # whose lookup failed is "received" still: the loop looks at it again.
            dispatch.claim_wanted = True
            self._waiting.set()
            self._work.set()
        # Else the loop, busy lately, is not woken: it records the answers handed to it
        # when a window's worth of them are answered, or on its SETTLE_EVERY timer.

    def _inbound(self, pdu: DeliverSm) -> Inbound | Part:
        """What a citizen's deliver_sm is: a message, or a part of a multi-part message
        (stored on its own, the message with the part that completes it)."""
        try:
            fragment = parse_fragment(
                pdu.source_addr, pdu.short_message, pdu.esm_class, pdu.data_coding,
                sar_msg_ref_num=pdu.sar_msg_ref_num,
                sar_total_segments=pdu.sar_total_segments,
                sar_segment_seqnum=pdu.sar_segment_seqnum)
        except UndecodableMessage:
            fragment = None
        if fragment is None:
            log.warning("deliver_sm %s has a malformed header; stored as is", pdu.sequence)
            return _inbound(pdu.source_addr, pdu.destination_addr, "", pdu.short_message)
        if fragment.total == 1:
            return _assembled(Assembled(fragment.source, 0, 1, (fragment,)),
                              pdu.destination_addr)
        return Part(fragment.source, pdu.destination_addr, fragment.reference,
                    fragment.total, fragment.seq, fragment.payload, fragment.data_coding)

    def _store_parts(self, parts: list[tuple[int, Part]], statuses: list[int]) -> None:
        """Store the burst's parts of multi-part messages in one commit, before they are
        acknowledged; a message they complete is stored with them, for the loop to answer."""
        try:
            joined = receive_parts(self.core.db, self.core.config,
                                   [part for _, part in parts], assemble_parts)
        except Exception:
            log.exception("%d parts of inbound SMS could not be stored; the SMSC will "
                          "redeliver them", len(parts))
            metrics.MO_RECEIVED.labels(result="store_failed").inc(len(parts))
            for k, _ in parts:
                statuses[k] = ESME_RX_T_APPN
            return
        self._stored(joined)

    def _stored(self, count: int) -> None:
        """``count`` messages were stored for the loop to answer."""
        if count:
            metrics.MO_RECEIVED.labels(result="stored").inc(count)
            self._waiting.set()
            self._work.set()

    def answer_stored(self) -> int:
        """On the loop: answer stored messages as they come, and look for them once a poll
        interval besides (one whose answer failed, one stored by another process)."""
        now = self._clock()
        if not (self._waiting.is_set() or now >= self._next_check):
            return 0
        self._waiting.clear()
        self._next_check = now + self.timings.poll_interval
        answered = self.short_code.answer_pending(limit=_ANSWER_BATCH)
        if answered:
            self.dispatch.claim_wanted = True  # their answers wait in the outbox
        if answered >= _ANSWER_BATCH:
            self._waiting.set()  # there may be more
        return answered

    def flush_reassembly(self) -> None:
        """Store, as they are, multi-part messages whose parts stopped coming; looked for
        once a poll interval, in the database (parts a stopped process stored count)."""
        now = self._clock()
        if now < self._next_parts_check:
            return
        self._next_parts_check = now + self.timings.poll_interval
        self._stored(expire_parts(self.core.db, self.core.config,
                                  timedelta(seconds=self.timings.reassembly_timeout),
                                  assemble_parts))


def assemble_parts(parts: list[Part]) -> Inbound:
    """The message in a multi-part SMS's stored parts (all, or what came before the
    timeout), for the core to store: its bytes decoded as one, missing parts marked."""
    first = parts[0]
    assembled = Assembled(first.sender, first.reference, first.total, tuple(
        Fragment(part.sender, part.payload, part.coding, part.reference, part.total,
                 part.seq) for part in parts))
    if not assembled.complete:
        log.warning("a %d-part SMS arrived incomplete (missing %s); stored as is",
                    assembled.total, assembled.missing)
    return _assembled(assembled, first.recipient)


def _assembled(assembled: Assembled, recipient: str) -> Inbound:
    try:
        text = assembled.decode().text
    except UndecodableMessage:
        text = ""
    raw = b"".join(fragment.payload for fragment in assembled.fragments)
    return _inbound(assembled.source, recipient, text, raw)


def _inbound(sender: str, recipient: str, text: str, raw: bytes) -> Inbound:
    window = int(time.time() // _DEDUPE_WINDOW)
    return Inbound(sender=sender, recipient=recipient, text=text,
                   dedupe_key=_dedupe_key(sender, raw, window),
                   earlier_key=_dedupe_key(sender, raw, window - 1))


def _dedupe_key(sender: str, raw: bytes, window: int) -> str:
    """One key per sender, content and two minutes of wall time. The same text stored in
    this window or the last one is a redelivery (the SMSC repeats a message whose
    deliver_sm_resp it missed within seconds); sent again two to four minutes later or
    more, it is a new inquiry and answered."""
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return f"smpp:{sender}:{digest}:{window}"
