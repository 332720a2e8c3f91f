"""Delivery receipts applied to the outbox: each matched to the message it reports on.

A receipt may come before its submit_sm_resp has been recorded (the message is not
"sent" yet): it is held, and tried again after each recording, for ``receipt_hold``
seconds; its last try accepts every reading of its id (hex or decimal). A receipt for
the second or later segment of a message is matched by that segment's id: a delivery
there changes nothing (the first segment's tells), a failure fails the message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from channels.sms import metrics
from channels.sms.pdus import ESME_RX_T_APPN, DeliverSm
from channels.sms.receipts import (
    InvalidReceipt,
    Receipt,
    ReceiptStatus,
    canonical_message_id,
    parse_receipt,
    readings_evident,
)
from channels.sms.timings import Timings
from core.messaging import outbox
from core.platform.clock import utcnow
from core.service import Core

log = logging.getLogger(__name__)

# Receipts held for a message not recorded as sent yet, at most.
_HELD_RECEIPTS_MAX = 5_000


class _LaterParts:
    """The SMSC's ids of the second and later segments of messages recorded lately, each
    with its message's id and part number; bounded, oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._ids: dict[str, tuple[int, int]] = {}
        self._size = size
        self._lock = threading.Lock()

    def remember(self, parts: Iterable[tuple[str, int, int]]) -> None:
        """``parts``: (segment id, message id, part number) triples."""
        with self._lock:
            for pid, message_id, number in parts:
                self._ids[pid] = (message_id, number)
            while len(self._ids) > self._size:
                del self._ids[next(iter(self._ids))]

    def find(self, forms: Iterable[str]) -> tuple[int, int] | None:
        for form in forms:
            found = self._ids.get(form)
            if found is not None:
                return found
        return None


@dataclass
class _HeldReceipt:
    receipt: Receipt
    until: float


class DeliveryReceipts:
    """The receipts of one channel: applied on the session's deliveries thread as they
    come, the held ones again on the loop (``wake`` asks the loop for a pass)."""

    def __init__(self, core: Core, timings: Timings, clock: Callable[[], float],
                 wake: Callable[[], None]) -> None:
        self.core = core
        self.timings = timings
        self._clock = clock
        self._wake = wake
        self.held: list[_HeldReceipt] = []
        self._lock = threading.Lock()
        # Counts the loop's recordings of sent messages (under _lock): a receipt the
        # deliveries thread missed while a recording committed is tried again at once.
        self._recordings = 0
        self._recheck = False
        self._next_retry = 0.0
        # Ids of the second and later segments of messages recorded lately: their
        # receipts are expected; a delivery is ignored (the first segment's tells), a
        # failure fails the message. 10,000 (about 2 MB) covers minutes of a busy short
        # code's answers, where receipts come in seconds; a failure for one forgotten is
        # still looked up in the outbox on its last try (``_other_processes_parts``).
        # 50,000 (about 10 MB at 190 bytes an id) fill in some 23 minutes at the soak's
        # 36 answers of two segments a second, the process's memory growing all along.
        self._later_parts = _LaterParts(10_000)

    def read(self, pdu: DeliverSm) -> Receipt | None:
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

    def apply(self, receipts: list[tuple[int, Receipt]], statuses: list[int]) -> None:
        """Apply a read burst's receipts (``statuses``, by index: refused temporarily when
        they could not be); the unmatched ones are held."""
        recordings = self._recordings
        try:
            matched = self.mark_delivered([receipt for _, receipt in receipts])
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
            with self._lock:
                self.held.extend(_HeldReceipt(receipt, until) for receipt in unmatched)
                # Bounded: receipts for messages this gateway never sent must not pile up.
                del self.held[:-_HELD_RECEIPTS_MAX]
                # A recording committed while these were looked up, and the loop may have
                # tried its held receipts before these joined them: it tries again.
                if self._recordings != recordings:
                    self._recheck = True
            self._wake()

    def mark_delivered(self, receipts: list[Receipt],
                       last_try: list[bool] | None = None) -> list[bool]:
        """Apply receipts; for each, whether it found its message (else it may be held).

        The exact id wins: a known later segment's (a failure there fails its message),
        else a first segment's in any state (a repeat for a delivered message changes
        nothing, and never another message). The hex/decimal readings are tried only
        when the exact id matches nothing, and only when the id's base is evident
        (``readings_evident``) or on the ``last_try`` of a held receipt: a bare run of
        digits may be the exact id of a message whose submit_sm_resp is still coming.
        """
        when = utcnow()
        batch: list[outbox.Receipt] = []
        readings: list[tuple[str, ...]] = []
        for k, receipt in enumerate(receipts):
            if receipt.status == ReceiptStatus.DELIVRD:
                final, reason = "delivered", None
            else:
                final = "failed"
                reason = (f"delivery receipt: {receipt.stat or receipt.status} "
                          f"err:{receipt.error}")
            exact = canonical_message_id(receipt.message_id)
            others: tuple[str, ...] = ()
            if (last_try and last_try[k]) or readings_evident(receipt.message_id):
                others = tuple(sorted(receipt.message_ids - {exact}))
            readings.append(others)
            batch.append(_as_outbox_receipt(self._later_parts.find((exact,)),
                                            (exact, *others), when, final, reason))
        applied = outbox.mark_delivered_many(self.core.db, batch)
        # Not found, but another reading is a later segment's id: that message's.
        again = [(k, part) for k, (outcome, others) in enumerate(
            zip(applied, readings, strict=True)) if not outcome.matched and others
            for part in (self._later_parts.find(others),) if part is not None]
        if again:
            retried = outbox.mark_delivered_many(self.core.db, [_as_outbox_receipt(
                part, (), when, batch[k].final_status, batch[k].reason) for k, part in again])
            for (k, _), outcome in zip(again, retried, strict=True):
                applied[k] = outcome
        self._other_processes_parts(batch, applied, receipts, last_try)
        return [outcome.matched for outcome in applied]

    def _other_processes_parts(self, batch: list[outbox.Receipt],
                               applied: list[outbox.Applied], receipts: list[Receipt],
                               last_try: list[bool] | None) -> None:
        """On its last try, a failure still unmatched may be for a later segment sent by
        another process's bind (this process never saw its id): looked up in the outbox,
        so the message it cut short fails whichever process sent it."""
        if not last_try:
            return
        for k, outcome in enumerate(applied):
            if outcome.matched or not last_try[k] or batch[k].final_status != "failed":
                continue
            part = outbox.later_part(self.core.db, batch[k].message_ids
                                     or tuple(receipts[k].message_ids))
            if part is not None:
                applied[k] = outbox.mark_delivered_many(self.core.db, [_as_outbox_receipt(
                    part, (), batch[k].at, batch[k].final_status, batch[k].reason)])[0]

    def remember_sent(self, sent: list[outbox.Sent]) -> None:
        """Messages just recorded as sent: their later segments' receipts are expected."""
        self._later_parts.remember(
            (pid, item[0], number) for item in sent
            for number, pid in enumerate(item[1][1:], start=2))

    def recorded_sent(self) -> None:
        """After messages were recorded as sent: the held receipts may match them now."""
        with self._lock:
            self._recordings += 1
        self.apply_held()

    def retry_due(self, now: float) -> None:
        """On the loop: the held receipts tried again after a recording the deliveries thread
        saw late, and once a poll interval besides (which also lets the expired ones go
        when nothing is being sent)."""
        if self._recheck or (self.held and now >= self._next_retry):
            self._recheck = False
            self._next_retry = now + self.timings.poll_interval
            self.apply_held()

    def apply_held(self) -> None:
        """Try the held receipts again (after a recording: only new ``sent`` rows can
        match them); one past its hold gets a last try, with every reading of its id."""
        with self._lock:
            held, self.held = self.held, []
        if not held:
            return
        now = self._clock()
        last_try = [entry.until <= now for entry in held]
        try:
            matched = self.mark_delivered([entry.receipt for entry in held], last_try)
        except Exception:
            with self._lock:
                self.held[:0] = held  # kept for the next try; the SMSC has its resp
            raise
        keep = [entry for entry, ok, last in zip(held, matched, last_try, strict=True)
                if not ok and not last]
        with self._lock:
            self.held[:0] = keep


def _as_outbox_receipt(part: tuple[int, int] | None, ids: tuple[str, ...], when,
                       final: str, reason: str | None) -> outbox.Receipt:
    if part is None:
        return outbox.Receipt(ids, when, final, reason)
    message_id, number = part
    if reason is not None:
        reason = reason.replace("delivery receipt:", f"delivery receipt for part {number}:", 1)
    return outbox.Receipt((), when, final, reason, part_of=message_id)
