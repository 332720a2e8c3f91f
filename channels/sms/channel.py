"""The SMS channel: SMPP in and out of the core.

Inbound, each ``deliver_sm`` (on the session thread) is either a delivery receipt, applied
to the outbox, or a citizen's message, reassembled when it comes in parts and stored with
``core.receive_sms`` before the SMSC gets its ``deliver_sm_resp``; a failure to store
answers ESME_RX_T_APPN (0x64) so the SMSC redelivers.

Outbound, the channel's loop answers stored messages (``core.answer_pending_sms``), claims
due outbox rows (answers first), splits each into segments and submits them through the
session; every segment accepted → ``mark_sent`` with the SMSC's ids, a temporary status
or a lost connection → ``mark_retry`` with backoff, any other status → ``mark_failed``.

Limits, stated once: parts of a multi-part MO are held in memory and acknowledged as they
come, so a crash between parts loses those parts (the SMSC does not redeliver acked
parts); a message whose submit was in flight when the connection or the process died is
sent again, so each crash or drop can duplicate at most the messages in the window.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta

from channels.sms import metrics
from channels.sms.encoding import UndecodableMessage, sms_parts
from channels.sms.reassembly import Assembled, Reassembler, parse_fragment
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

log = logging.getLogger(__name__)

__all__ = ["SmsChannel", "TEMPORARY_STATUSES"]

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
        self._reassembler = Reassembler(timeout=self.timings.reassembly_timeout, clock=clock)
        self._held: list[_HeldReceipt] = []
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

    def _pass(self) -> bool:
        """One round of answering, sending and receipt matching; True when it did work."""
        answered = self.core.answer_pending_sms()
        self._apply_held_receipts()
        self._flush_reassembly()
        if not self.session.bound:
            return False
        # One window at a time: a crash can then resend at most `window` messages (those
        # claimed, maybe accepted by the SMSC, not yet recorded as sent).
        claimed = outbox.claim_due(self.core.db, channel="sms",
                                   limit=self.settings.smpp.window)
        if not claimed:
            return bool(answered)
        submitted = [(message, self._submit(message)) for message in claimed]
        sent: list[tuple[int, list[str]]] = []
        for message, futures in submitted:
            ids = self._record(message, futures)
            if ids:
                sent.append((message.id, ids))
        if sent:
            # The round's successes in one transaction: one commit instead of `window`.
            outbox.mark_sent_many(self.core.db, sent)
            metrics.SUBMITS.labels(result="sent").inc(len(sent))
        self._apply_held_receipts()
        return True

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
        its provider ids (the caller marks the round sent in one transaction)."""
        if isinstance(futures, str):
            outbox.mark_failed(self.core.db, message.id, futures)
            metrics.SUBMITS.labels(result="failed").inc()
            return None
        results: list[SubmitResult] = []
        problem: str | None = None
        for future in futures:
            try:
                results.append(future.result(timeout=self.timings.response_timeout + 5))
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

    def _on_deliver(self, pdu: DeliverSm) -> int:
        if is_delivery_receipt(pdu.esm_class):
            return self._on_receipt(pdu)
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
            return self._store(pdu.source_addr, pdu.destination_addr, "", pdu.short_message)
        if fragment.total == 1:
            return self._store_assembled(
                Assembled(fragment.source, 0, 1, (fragment,)), pdu.destination_addr)
        # A part is acknowledged once it is held; the joined message is stored when the
        # last one arrives (see the module's note on a crash between parts).
        for assembled in self._reassembler.add(fragment):
            status = self._store_assembled(assembled, pdu.destination_addr)
            if status != ESME_ROK:
                return status
        return ESME_ROK

    def _store_assembled(self, assembled: Assembled, recipient: str) -> int:
        try:
            text = assembled.decode().text
        except UndecodableMessage:
            text = ""
        raw = b"".join(fragment.payload for fragment in assembled.fragments)
        return self._store(assembled.source, recipient, text, raw)

    def _store(self, sender: str, recipient: str, text: str, raw: bytes) -> int:
        try:
            self.core.receive_sms(sender=sender, recipient=recipient, text=text,
                                  dedupe_key=_dedupe_key(sender, raw))
        except Exception:
            log.exception("an inbound SMS could not be stored; the SMSC will redeliver it")
            metrics.MO_RECEIVED.labels(result="store_failed").inc()
            return ESME_RX_T_APPN
        metrics.MO_RECEIVED.labels(result="stored").inc()
        self._work.set()
        return ESME_ROK

    def _flush_reassembly(self) -> None:
        for assembled in self._reassembler.expire():
            log.warning("a %d-part SMS arrived incomplete (missing %s); stored as is",
                        assembled.total, assembled.missing)
            self._store_assembled(assembled, self.settings.short_code)

    def _on_receipt(self, pdu: DeliverSm) -> int:
        try:
            receipt = parse_receipt(pdu.short_message.decode("latin-1"),
                                    pdu.receipted_message_id, pdu.message_state)
        except InvalidReceipt:
            log.warning("a delivery receipt without a message id is ignored")
            metrics.RECEIPTS.labels(status="invalid").inc()
            return ESME_ROK
        metrics.RECEIPTS.labels(status=str(receipt.status)).inc()
        if not receipt.status.final or receipt.status == ReceiptStatus.ACCEPTD:
            return ESME_ROK
        try:
            applied = self._apply_receipt(receipt)
        except Exception:
            log.exception("a delivery receipt could not be applied; the SMSC will redeliver")
            return ESME_RX_T_APPN
        if not applied:
            # Maybe ahead of its submit_sm_resp: held and tried again after mark_sent.
            with self._held_lock:
                self._held.append(_HeldReceipt(receipt,
                                               self._clock() + self.timings.receipt_hold))
            self._work.set()
        return ESME_ROK

    def _apply_receipt(self, receipt: Receipt) -> bool:
        if receipt.status == ReceiptStatus.DELIVRD:
            final, reason = "delivered", None
        else:
            final = "failed"
            reason = f"delivery receipt: {receipt.stat or receipt.status} err:{receipt.error}"
        when = utcnow()
        exact = canonical_message_id(receipt.message_id)
        # The canonical form first; hex/decimal readings only when it misses (a
        # digits-only id is ambiguous).
        for form in [exact, *sorted(receipt.message_ids - {exact})]:
            if outbox.mark_delivered(self.core.db, form, when, final, reason):
                return True
        return False

    def _apply_held_receipts(self) -> None:
        with self._held_lock:
            held, self._held = self._held, []
        if not held:
            return
        now = self._clock()
        keep = [entry for entry in held
                if not self._apply_receipt(entry.receipt) and entry.until > now]
        with self._held_lock:
            self._held[:0] = keep


def _dedupe_key(sender: str, raw: bytes) -> str:
    """One key per sender, content and ten minutes of wall time: SMPP gives an MO no id
    of its own, so a redelivery is recognised by what it says; the same text sent again
    in a later window is a new inquiry (one straddling a window edge is stored twice)."""
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return f"smpp:{sender}:{digest}:{int(time.time() // 600)}"
