"""The SMS channel: SMPP in and out of the core.

Inbound, each ``deliver_sm`` (on the session thread) is either a delivery receipt, applied
to the outbox, or a citizen's message, reassembled when it comes in parts and stored with
``core.receive_sms`` before the SMSC gets its ``deliver_sm_resp``; a failure to store
answers ESME_RX_T_APPN (0x64) so the SMSC redelivers.

Outbound, the channel's loop answers stored messages (``core.answer_pending_sms``), claims
due outbox rows (answers first), splits each into segments and submits them through the
session; every segment accepted → ``mark_sent`` with the SMSC's ids, a temporary status
or a lost connection → ``mark_retry`` with backoff, any other status → ``mark_failed``.

Limits, stated once: each part of a multi-part MO is stored (``core.sms_inquiry``'s
``inbound_parts``) before it is acknowledged, and the message with the part that completes
it, so a restart between parts loses none; a part costs a commit of its own (the burst's
single messages share one), its message is answered by the loop rather than in that
commit, and one whose other parts never come is stored as it is after
``Timings.reassembly_timeout`` (also when a previous process stored its parts). A message
whose submit was in flight when the connection or the process died is sent again, so each
crash or drop can duplicate at most the messages in the window.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta

from channels.sms import metrics
from channels.sms.encoding import UndecodableMessage, sms_parts
from channels.sms.reassembly import Assembled, Fragment, parse_fragment
from channels.sms.receipts import (
    InvalidReceipt,
    Receipt,
    ReceiptStatus,
    canonical_message_id,
    is_delivery_receipt,
    parse_receipt,
)
from channels.sms.smpp import (
    ESME_ROK,
    ESME_RX_T_APPN,
    ChannelUnavailable,
    DeliverSm,
    DeliveryFailed,
    SmppSession,
    SubmitRequest,
    SubmitResult,
    status_name,
)
from core import outbox
from core.db import utcnow
from core.service import Core
from core.settings import SmsSettings
from core.sms_inquiry import Inbound, Part, expire_parts, receive_parts

log = logging.getLogger(__name__)

__all__ = ["SmsChannel", "TEMPORARY_STATUSES"]

# Stored messages answered per pass of the loop (the session thread answers most itself).
_ANSWER_BATCH = 100

# ESME_RSYSERR, ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_RX_T_APPN: try again later.
TEMPORARY_STATUSES = frozenset({0x08, 0x14, 0x58, 0x64})


@dataclass(frozen=True)
class Timings:
    """How fast the channel polls, retries and reconnects (short in tests)."""

    poll_interval: float = 1.0
    retry_backoff: float = 30.0  # first retry; doubles per attempt
    retry_backoff_max: float = 3600.0
    reconnect_delay: float = 10.0
    reconnect_max: float = 60.0
    enquire_link_interval: float = 30.0
    silence_timeout: float | None = None
    response_timeout: float = 30.0
    receipt_hold: float = 120.0  # how long a receipt waits for its mark_sent
    reassembly_timeout: float = 300.0
    stale_claims_after: timedelta = timedelta(minutes=5)


@dataclass
class _Outgoing:
    """A claimed message and its segments' submits (or why it cannot be sent)."""

    message: outbox.Claimed
    submitted: list[Future] | str

    @property
    def futures(self) -> list[Future]:
        return [] if isinstance(self.submitted, str) else self.submitted

    @property
    def refused(self) -> str | None:
        return self.submitted if isinstance(self.submitted, str) else None

    def finished(self) -> bool:
        return all(future.done() for future in self.futures)


class _Slots:
    """A count of claim slots two threads take from and give back, never blocking."""

    def __init__(self, total: int) -> None:
        self._free = total
        self._lock = threading.Lock()

    @property
    def free(self) -> int:
        return self._free

    def take(self, wanted: int) -> int:
        """Take up to ``wanted`` slots; how many were taken (maybe 0)."""
        with self._lock:
            taken = max(0, min(wanted, self._free))
            self._free -= taken
            return taken

    def give(self, count: int) -> None:
        with self._lock:
            self._free += count


@dataclass
class _HeldReceipt:
    receipt: Receipt
    until: float


class SmsChannel:
    """The short code over one SMPP bind; ``start``/``stop`` or ``run_until``."""

    def __init__(self, core: Core, settings: SmsSettings, *, timings: Timings | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.core = core
        self.settings = settings
        self.timings = timings or Timings()
        self._clock = clock
        smpp = settings.smpp
        self.session = SmppSession(
            host=smpp.host, port=smpp.port, system_id=smpp.system_id, password=smpp.password,
            system_type=smpp.system_type, window=smpp.window,
            throughput_per_second=smpp.throughput_per_second, on_deliver=self._on_deliver,
            enquire_link_interval=self.timings.enquire_link_interval,
            silence_timeout=self.timings.silence_timeout,
            response_timeout=self.timings.response_timeout,
            reconnect_delay=self.timings.reconnect_delay,
            reconnect_max=self.timings.reconnect_max, clock=clock,
        )
        self._next_parts_check = 0.0  # when to look for multi-part MO that expired
        self._held: list[_HeldReceipt] = []
        # Claimed messages whose submits are in flight, oldest first (the loop's own).
        self._outgoing: list[_Outgoing] = []
        self._inbound_waiting = threading.Event()
        self._next_inbound_check = 0.0
        # Answers the session thread submitted itself, for the loop to record.
        self._handed: queue.SimpleQueue[_Outgoing] = queue.SimpleQueue()
        # Messages claimed and not yet recorded, by either thread: at most 2 * window,
        # which bounds what a crash can send twice.
        self._slots = _Slots(2 * settings.smpp.window)
        self._held_lock = threading.Lock()
        self._work = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- running ---------------------------------------------------------------------

    def start(self) -> None:
        recovered = outbox.recover_stale_claims(self.core.db, self.timings.stale_claims_after)
        if recovered:
            log.warning("%d SMS claimed by a sender that stopped are queued again", recovered)
        self.session.start()
        self._thread = threading.Thread(target=self._loop, name="sms-channel", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        self._work.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.session.stop()

    def run_until(self, stop: threading.Event) -> None:
        """Run in the foreground until ``stop`` is set (``gateway sms``)."""
        self.start()
        try:
            while not stop.wait(1.0):
                pass
        finally:
            self.stop()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self._pass()
            except Exception:
                # The loop must outlive a database hiccup; the outbox keeps the work.
                log.exception("SMS channel pass failed")
                busy = False
            if not busy:
                self._work.wait(self.timings.poll_interval)
                self._work.clear()
        self._abandon_outgoing()

    def _pass(self) -> bool:
        """Answer, record what finished, top the claims up; True when it did work.

        The window is kept full rather than worked in rounds: finished messages are
        recorded on every pass, and more are claimed whenever a window's worth of room
        has opened. At most ``2 * window`` messages are claimed and unrecorded at a time;
        of those, only the ones the SMSC had accepted when a crash came are sent twice.
        """
        answered = 0
        now = self._clock()
        if self._inbound_waiting.is_set() or now >= self._next_inbound_check:
            # Stored messages are answered as they come, and looked for once a poll
            # interval besides (one whose answer failed, one stored by another process).
            self._inbound_waiting.clear()
            self._next_inbound_check = now + self.timings.poll_interval
            answered = self.core.answer_pending_sms(limit=_ANSWER_BATCH)
            if answered >= _ANSWER_BATCH:
                self._inbound_waiting.set()  # there may be more
        self._apply_held_receipts()
        self._flush_reassembly()
        while True:
            try:
                self._outgoing.append(self._handed.get_nowait())
            except queue.Empty:
                break
        recorded = self._record_finished()
        window = self.settings.smpp.window
        if not self.session.bound or (self._slots.free < window and self._outgoing):
            return bool(answered or recorded)
        slots = self._slots.take(self._slots.free)
        claimed: list[outbox.Claimed] = []
        try:
            claimed = outbox.claim_due(self.core.db, channel="sms", limit=slots,
                                       quiet_hours=self.core.config.quiet_hours)
        finally:
            self._slots.give(slots - len(claimed))
        self._outgoing.extend(self._send(message) for message in claimed)
        return bool(answered or recorded or claimed)

    def _send(self, message: outbox.Claimed) -> _Outgoing:
        """Submit a claimed message's segments; it holds one claim slot until recorded."""
        outgoing = _Outgoing(message, self._submit(message))
        for future in outgoing.futures:
            future.add_done_callback(self._wake)
        return outgoing

    def _wake(self, _future: Future | None = None) -> None:
        self._work.set()

    def _record_finished(self) -> int:
        """Record every message whose segments are all answered; how many."""
        finished = [o for o in self._outgoing if o.finished()]
        if not finished:
            return 0
        sent: list[tuple[int, list[str]]] = []
        for outgoing in finished:
            ids = self._record(outgoing.message, outgoing.refused or outgoing.futures)
            if ids:
                sent.append((outgoing.message.id, ids))
        if sent:
            # The finished messages' successes in one transaction.
            outbox.mark_sent_many(self.core.db, sent)
            metrics.SUBMITS.labels(result="sent").inc(len(sent))
        # Only now: should recording fail half-way, the next pass records them again, and
        # each outbox transition moves a row only from "sending", once.
        done = {id(o) for o in finished}
        self._outgoing = [o for o in self._outgoing if id(o) not in done]
        self._slots.give(len(finished))
        if sent:
            self._apply_held_receipts()
        return len(finished)

    def _abandon_outgoing(self) -> None:
        """At stop: wait a little for answers in flight, record what came, leave the rest
        claimed (recovered as stale, and resent, by the next start)."""
        deadline = self._clock() + 5.0
        while self._outgoing and self._clock() < deadline:
            self._record_finished()
            if self._outgoing:
                self._work.wait(0.05)
                self._work.clear()
        self._record_finished()

    # --- outbound --------------------------------------------------------------------

    def _submit(self, message: outbox.Claimed) -> list[Future] | str:
        """Queue every segment; the futures, or the reason the text cannot be sent."""
        try:
            segments = sms_parts(message.body, message.id % 256)
        except ValueError as exc:
            return f"cannot encode: {exc}"
        destination = message.recipient.removeprefix("+")
        return [
            self.session.submit(SubmitRequest(
                source_addr=self.settings.short_code, destination_addr=destination,
                short_message=segment.payload, data_coding=segment.data_coding,
                esm_class=segment.esm_class,
                # On every segment: the first segment's receipt is the one matched, the
                # others are ignored, and some SMSCs only report segments asked for.
                registered_delivery=True))
            for segment in segments
        ]

    def _record(self, message: outbox.Claimed,
                futures: list[Future] | str) -> list[str] | None:
        """Record a refusal or a retry now; for a message the SMSC accepted whole, return
        its provider ids (the caller marks the finished messages sent in one transaction)."""
        if isinstance(futures, str):
            outbox.mark_failed(self.core.db, message.id, futures)
            metrics.SUBMITS.labels(result="failed").inc()
            return None
        results: list[SubmitResult] = []
        problem: str | None = None
        for future in futures:
            try:
                results.append(future.result(timeout=0))
            except (ChannelUnavailable, DeliveryFailed, FutureTimeout) as exc:
                problem = problem or (str(exc) or "no submit_sm_resp")
        if problem is not None:
            self._retry(message, problem)
            return None
        refused = [result for result in results if not result.accepted]
        if not refused:
            ids = [canonical_message_id(result.message_id or "") for result in results]
            if all(ids):
                return ids
            outbox.mark_failed(self.core.db, message.id,
                               "the SMSC accepted it without a message id")
            metrics.SUBMITS.labels(result="failed").inc()
            return None
        status = refused[0].status
        if status in TEMPORARY_STATUSES:
            self._retry(message, status_name(status))
        else:
            outbox.mark_failed(self.core.db, message.id, f"refused: {status_name(status)}")
            metrics.SUBMITS.labels(result="failed").inc()
        return None

    def _retry(self, message: outbox.Claimed, reason: str) -> None:
        backoff = min(self.timings.retry_backoff * 2 ** max(message.attempts - 1, 0),
                      self.timings.retry_backoff_max)
        outbox.mark_retry(self.core.db, message.id, reason,
                          utcnow() + timedelta(seconds=backoff))
        metrics.SUBMITS.labels(result="retry").inc()
        log.info("SMS %s will be retried in %.1f s: %s", message.id, backoff, reason)

    # --- inbound (on the session thread) ---------------------------------------------

    def _on_deliver(self, pdus: list[DeliverSm]) -> list[int]:
        """One read burst: receipts applied, citizens' messages stored, all in as few
        commits as the burst allows; a status for each PDU, in order."""
        statuses = [ESME_ROK] * len(pdus)
        receipts: list[tuple[int, Receipt]] = []
        stored: list[tuple[int, Inbound]] = []
        for k, pdu in enumerate(pdus):
            if is_delivery_receipt(pdu.esm_class):
                receipt = self._read_receipt(pdu)
                if receipt is not None:
                    receipts.append((k, receipt))
            else:
                stored.extend((k, message) for message in self._inbound(pdu))
        if receipts:
            self._apply_receipts(receipts, statuses)
        if stored:
            self._store_and_answer([message for _, message in stored],
                                   [k for k, _ in stored], statuses)
        return statuses

    def _store_and_answer(self, messages: list[Inbound], indexes: list[int],
                          statuses: list[int]) -> None:
        """Store the burst's messages and answer as many as the claim slots allow, in one
        commit, then submit those answers from here (the session thread) at once."""
        slots = self._slots.take(len(messages))
        try:
            answers = self.core.receive_and_answer_sms(messages, claim_limit=slots)
        except Exception:
            self._slots.give(slots)
            log.exception("%d inbound SMS could not be stored; the SMSC will redeliver "
                          "them", len(messages))
            metrics.MO_RECEIVED.labels(result="store_failed").inc(len(messages))
            for k in indexes:
                statuses[k] = ESME_RX_T_APPN
            return
        self._slots.give(slots - len(answers))
        metrics.MO_RECEIVED.labels(result="stored").inc(len(messages))
        for message in answers:
            self._handed.put(self._send(message))
        if len(answers) < len(messages):
            # Answers beyond the slots wait in the outbox for the loop's claim; a message
            # whose lookup failed is "received" still: the loop looks at it again.
            self._inbound_waiting.set()
        self._work.set()

    def _inbound(self, pdu: DeliverSm) -> list[Inbound]:
        """The message a citizen's deliver_sm is, for the burst to store; none for a part
        of a multi-part message, which is stored here before it is acknowledged (and the
        message with the part that completes it, for the loop to answer)."""
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
            return [_inbound(pdu.source_addr, pdu.destination_addr, "", pdu.short_message)]
        if fragment.total == 1:
            return [_assembled(Assembled(fragment.source, 0, 1, (fragment,)),
                               pdu.destination_addr)]
        part = Part(fragment.source, pdu.destination_addr, fragment.reference,
                    fragment.total, fragment.seq, fragment.payload, fragment.data_coding)
        try:
            joined = receive_parts(self.core.db, self.core.config, [part], _assemble_parts)
        except Exception:
            # Raised on, the whole burst is refused with a temporary error and redelivered
            # (what was stored of it is recognised then).
            metrics.MO_RECEIVED.labels(result="store_failed").inc()
            raise
        if joined:
            metrics.MO_RECEIVED.labels(result="stored").inc(joined)
            self._inbound_waiting.set()
            self._work.set()
        return []

    def _flush_reassembly(self) -> None:
        """Store, as they are, multi-part messages whose parts stopped coming; looked for
        once a poll interval, in the database (parts a stopped process stored count)."""
        now = self._clock()
        if now < self._next_parts_check:
            return
        self._next_parts_check = now + self.timings.poll_interval
        expired = expire_parts(self.core.db, self.core.config,
                               timedelta(seconds=self.timings.reassembly_timeout),
                               _assemble_parts)
        if expired:
            metrics.MO_RECEIVED.labels(result="stored").inc(expired)
            self._inbound_waiting.set()
            self._work.set()

    def _read_receipt(self, pdu: DeliverSm) -> Receipt | None:
        """The receipt worth applying (a final state), or None to acknowledge and forget."""
        try:
            receipt = parse_receipt(pdu.short_message.decode("latin-1"),
                                    pdu.receipted_message_id, pdu.message_state)
        except InvalidReceipt:
            log.warning("a delivery receipt without a message id is ignored")
            metrics.RECEIPTS.labels(status="invalid").inc()
            return None
        metrics.RECEIPTS.labels(status=str(receipt.status)).inc()
        if not receipt.status.final or receipt.status == ReceiptStatus.ACCEPTD:
            return None
        return receipt

    def _apply_receipts(self, receipts: list[tuple[int, Receipt]], statuses: list[int]) -> None:
        try:
            matched = self._mark_delivered([receipt for _, receipt in receipts])
        except Exception:
            log.exception("%d delivery receipts could not be applied; the SMSC will "
                          "redeliver them", len(receipts))
            for k, _ in receipts:
                statuses[k] = ESME_RX_T_APPN
            return
        unmatched = [receipt for (_, receipt), ok in zip(receipts, matched, strict=True)
                     if not ok]
        if unmatched:
            # Maybe ahead of their submit_sm_resp: held and tried again after mark_sent.
            until = self._clock() + self.timings.receipt_hold
            with self._held_lock:
                self._held.extend(_HeldReceipt(receipt, until) for receipt in unmatched)
            self._work.set()

    def _mark_delivered(self, receipts: list[Receipt]) -> list[bool]:
        when = utcnow()
        batch = []
        for receipt in receipts:
            if receipt.status == ReceiptStatus.DELIVRD:
                final, reason = "delivered", None
            else:
                final = "failed"
                reason = (f"delivery receipt: {receipt.stat or receipt.status} "
                          f"err:{receipt.error}")
            exact = canonical_message_id(receipt.message_id)
            # The canonical form first; hex/decimal readings only when it misses (a
            # digits-only id is ambiguous).
            forms = (exact, *sorted(receipt.message_ids - {exact}))
            batch.append(outbox.Receipt(forms, when, final, reason))
        return outbox.mark_delivered_many(self.core.db, batch)

    def _apply_held_receipts(self) -> None:
        with self._held_lock:
            held, self._held = self._held, []
        if not held:
            return
        now = self._clock()
        matched = self._mark_delivered([entry.receipt for entry in held])
        keep = [entry for entry, ok in zip(held, matched, strict=True)
                if not ok and entry.until > now]
        with self._held_lock:
            self._held[:0] = keep


def _assemble_parts(parts: list[Part]) -> Inbound:
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
    return Inbound(sender=sender, recipient=recipient, text=text,
                   dedupe_key=_dedupe_key(sender, raw))


def _dedupe_key(sender: str, raw: bytes) -> str:
    """One key per sender, content and ten minutes of wall time: SMPP gives an MO no id
    of its own, so a redelivery is recognised by what it says; the same text sent again
    in a later window is a new inquiry (one straddling a window edge is stored twice)."""
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return f"smpp:{sender}:{digest}:{int(time.time() // 600)}"
