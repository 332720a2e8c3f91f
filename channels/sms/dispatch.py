"""The SMS outbox's dispatch: claims kept topped up, the window kept full, results recorded.

The loop records the messages whose segments are all answered and claims the next due
outbox rows (answers first, quiet hours honoured) in one commit, and submits their
segments through the session (answers on its urgent level, ahead of notifications
queued before them). Every segment accepted → sent, with the SMSC's ids; a temporary
status or a connection lost while on the wire → retried with backoff (the outbox's one
``RetrySchedule``), sending only the segments not yet accepted; never on the wire
(``NotSent``) → queued again at once, no attempt counted; any other status → failed,
with the SMSC's reason. At most ``SLOTS_PER_WINDOW * window`` messages are claimed and
unrecorded at a time (the claim slots, shared with the deliveries thread's answers).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from channels.sms import metrics
from channels.sms.heartbeat import Heartbeat
from channels.sms.outgoing import Outgoing, outcome, segments
from channels.sms.pdus import Submitted
from channels.sms.receipt_matching import DeliveryReceipts
from channels.sms.settings import SmsSettings
from channels.sms.smpp import SmppSession
from channels.sms.timings import Timings
from core.calendar.quiet_hours import QuietHours
from core.messaging import outbox
from core.platform import leases
from core.platform.clock import utcnow
from core.service import Core

log = logging.getLogger(__name__)

# Messages claimed and not yet recorded, per message the SMSC window holds. The slots
# beyond the window let the loop record and claim in batches while the window stays full
# (4 measured 20-40 % more MO answers and segments a second than 2 in bench/sms.py); they
# are also what a crash of the gateway can send twice, at most.
SLOTS_PER_WINDOW = 4

# The longest a finished message waits to be recorded while others are in flight.
SETTLE_EVERY = 0.05


class Slots:
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


class Dispatch:
    """The channel's outbound side; ``refill`` on the loop, ``send`` from either thread."""

    def __init__(self, core: Core, settings: SmsSettings, timings: Timings,
                 session: SmppSession, clock: Callable[[], float], *,
                 heartbeat: Heartbeat, receipts: DeliveryReceipts,
                 work: threading.Event) -> None:
        self.core = core
        self.settings = settings
        self.timings = timings
        self.quiet_hours = QuietHours.of(core.config)
        self.session = session
        self._clock = clock
        self.heartbeat = heartbeat
        self.receipts = receipts
        self._work = work
        self._backoff = timings.retry_schedule()
        # Claims are made when rows may be due: once a poll interval (rows queued by other
        # processes, retries coming due), and at once when this process queued some or
        # the last claim was full. Set from both threads; cleared by the loop's claim.
        self.claim_wanted = True
        self._next_claim = 0.0
        # Claimed messages whose submits are in flight, oldest first (the loop's own).
        self.outgoing: list[Outgoing] = []
        self._settled_at = 0.0
        # Submits answered since the loop was last woken for them (approximate: counted
        # by the session thread, reset by whoever wakes the loop).
        self._answered = 0
        # When the deliveries thread last handed answers over (the loop's clock), and
        # whether the loop sleeps longer than SETTLE_EVERY (then a hand-over wakes it).
        self.handed_at = 0.0
        self.napping = False
        # Answers the deliveries thread submitted itself, for the loop to record.
        self.handed: queue.SimpleQueue[Outgoing] = queue.SimpleQueue()
        # Messages claimed and not yet recorded, by either thread, which bounds what a
        # crash can send twice.
        self.slots = Slots(SLOTS_PER_WINDOW * settings.smpp.window)
        # Other channels' heartbeats as this one has seen them, to give back the claims of
        # those that stopped.
        self._heartbeats = outbox.Heartbeats(leases.SMS_CHANNEL_PREFIX, clock=clock)
        self._next_orphan_check = 0.0
        self._next_recovery = 0.0

    # --- recovering others' claims -------------------------------------------------------

    def recover_stale_claims(self) -> None:
        """Give back, at start and once a minute, the claims a sender that names no holder
        left behind once older than the stale-claim age (this channel's own are never
        that old): ``gateway sms`` on its own machine needs no scheduler for a crash's
        messages to go out again."""
        now = self._clock()
        if now < self._next_recovery:
            return
        self._next_recovery = now + 60.0
        self._recovered(outbox.recover_stale_claims(
            self.core.db, self.timings.stale_claims_after, channel="sms"))

    def recover_orphaned_claims(self) -> None:
        """Give back the claims of SMS channels whose heartbeat has stopped (a SIGKILLed
        ``gateway sms``: at once when it ran on this machine, else once its heartbeat has
        stood still for its lifetime as this channel's clock counts it, not the stale-claim
        age); a live channel's, on this machine or another, never."""
        self._recovered(outbox.recover_claims_of_stopped_holders(
            self.core.db, self._heartbeats, channel="sms"))

    def recover_orphans_due(self) -> None:
        """``recover_orphaned_claims`` once a heartbeat interval, on the loop."""
        now = self._clock()
        if now >= self._next_orphan_check:
            self._next_orphan_check = now + self.timings.heartbeat_interval
            self.recover_orphaned_claims()

    def _recovered(self, recovered: int) -> None:
        if recovered:
            self.claim_wanted = True
            log.warning("%d SMS claimed by a sender that stopped are queued again", recovered)

    # --- the window ------------------------------------------------------------------------

    def idle_wait(self) -> float:
        """How long the loop may sleep: SETTLE_EVERY while answers are in flight or were
        handed over within the poll interval; else until the next claim (a retry coming
        due) or the poll interval."""
        now = self._clock()
        if (self.outgoing or not self.handed.empty()
                or now - self.handed_at < self.timings.poll_interval):
            # Busy lately: answers the deliveries thread hands over are recorded within
            # SETTLE_EVERY without its waking the loop for each.
            return SETTLE_EVERY
        until_claim = self._next_claim - now
        return (min(self.timings.poll_interval, until_claim) if until_claim > 0
                else self.timings.poll_interval)

    def refill(self) -> bool:
        """Record what finished, top the claims up; True when it did work.

        The window is kept full rather than worked in rounds: finished messages are
        recorded, and more claimed, in one commit whenever a window's worth of room has
        opened (or nothing else is in flight, or SETTLE_EVERY has passed). Of the claimed
        messages, only the ones the SMSC had accepted when a crash came are sent twice.
        """
        self.take_handed()
        window = self.settings.smpp.window
        done_count = sum(outgoing.finished() for outgoing in self.outgoing)
        busy = len(self.outgoing) - done_count
        now = self._clock()
        # A claim only when rows may be due (see claim_wanted): an empty claim would take
        # every free slot for its commit and leave the deliveries thread's answers none.
        epoch = self.heartbeat.epoch  # read first: a lapse after it shows as a new epoch
        claiming = (self.session.bound and self.heartbeat.valid()
                    and (self.claim_wanted or now >= self._next_claim)
                    and (self.slots.free + done_count >= window or not busy))
        # Finished messages are recorded in batches: when a window's worth of slots can be
        # refilled, when nothing else is in flight, or after SETTLE_EVERY at the latest.
        settling = done_count and (not busy or now - self._settled_at >= SETTLE_EVERY)
        if not (claiming or settling):
            return False
        self._settled_at = now
        finished, sent = self._settle_finished()
        # The finished messages' slots pass to the messages claimed in the same commit.
        taken = self.slots.take(self.slots.free) if claiming else 0
        limit = taken + len(finished) if claiming else 0
        if claiming:
            # Cleared before the claim reads: a wish set meanwhile is kept for the next.
            self.claim_wanted = False
        claimed: list[outbox.Claimed] = []
        try:
            claimed = outbox.mark_sent_and_claim(
                self.core.db, sent, limit=limit, channel="sms",
                quiet_hours=self.quiet_hours, holder=self.heartbeat.holder)
        except Exception:
            self.slots.give(taken)  # the finished keep theirs, to be recorded again
            self.claim_wanted = self.claim_wanted or claiming
            raise
        self.slots.give(taken + len(finished) - len(claimed))
        if claimed and not self.heartbeat.claims_valid(epoch):
            # The commit outlasted the deadline (a busy writer lock): a peer may give
            # these back, and send them, any moment now.
            self.give_back(claimed)
            self.slots.give(len(claimed))
            claimed = []
        if claiming:
            if 0 < limit <= len(claimed):
                self.claim_wanted = True  # a full claim: more may be due
            else:
                self._next_claim = now + self.timings.poll_interval
        # Only now: should recording fail half-way, the next pass records them again, and
        # each outbox transition moves a row only from "sending", once.
        self._forget(finished)
        if sent:
            metrics.SUBMITS.labels(result="sent").inc(len(sent))
            self.receipts.remember_sent(sent)
            self.receipts.recorded_sent()
        self.outgoing.extend(self.send(claimed, epoch))
        return bool(finished or claimed)

    def give_back(self, messages: list[outbox.Claimed]) -> None:
        """Give claims back untried (``mark_unsent``): they were made, or waited, past the
        heartbeat's deadline. Should that fail, the heartbeat's lapse gives them back."""
        log.warning("%d SMS claimed as the heartbeat's deadline passed are given back "
                    "unsent", len(messages))
        self.claim_wanted = True
        try:
            for message in messages:
                outbox.mark_unsent(self.core.db, message.id, attempt=message.attempts)
        except Exception:
            log.exception("the SMS claimed past the heartbeat's deadline could not be "
                          "given back; they go back once the heartbeat is seen stopped")
        metrics.SUBMITS.labels(result="unsent").inc(len(messages))

    def send(self, messages: list[outbox.Claimed], epoch: int) -> list[Outgoing]:
        """Submit claimed messages' segments, in order, with one hand-over to the session
        per level: answers to inquiries jump the session's queue of notifications. Each
        message holds one claim slot until it is recorded; a segment whose turn comes
        after the claims of ``epoch`` lapsed is not sent (``NotSent``: queued again)."""
        encoded = [segments(message, self.settings.short_code) for message in messages]
        urgent = [message.priority <= outbox.PRIORITY_ANSWER for message in messages]
        futures = {}
        for level in (True, False):
            requests = [request for each, is_urgent in zip(encoded, urgent, strict=True)
                        if is_urgent is level and not isinstance(each, str)
                        for _, request in each]
            futures[level] = iter(self.session.submit_many(
                requests, urgent=level, sendable=lambda: self.heartbeat.claims_valid(epoch))
                if requests else ())
        outgoing = []
        for message, indexed, level in zip(messages, encoded, urgent, strict=True):
            if isinstance(indexed, str):
                outgoing.append(Outgoing(message, indexed))
            else:
                outgoing.append(Outgoing(message, [next(futures[level]) for _ in indexed],
                                         [index for index, _ in indexed]))
            for future in outgoing[-1].futures:
                future.add_done_callback(self._wake)
        return outgoing

    def take_handed(self) -> None:
        """The answers the deliveries thread submitted, into the loop's own list."""
        while True:
            try:
                self.outgoing.append(self.handed.get_nowait())
            except queue.Empty:
                return

    def _wake(self, _future: Submitted | None = None) -> None:
        """A submit was answered: the loop is woken once a window's worth have been (as
        many as its next claim needs room for), else its own timer (``idle_wait``: at
        most SETTLE_EVERY) records them. Waking another thread for every answer cost
        more than the answer: on a busy machine the waker, holding the GIL, is often
        descheduled the moment the other thread is woken, and both wait."""
        self._answered += 1
        if self._answered >= self.settings.smpp.window and not self._work.is_set():
            self._answered = 0
            self._work.set()

    def _forget(self, finished: list[Outgoing]) -> None:
        done = {id(o) for o in finished}
        self.outgoing = [o for o in self.outgoing if id(o) not in done]

    # --- recording ---------------------------------------------------------------------

    def _settle_finished(self) -> tuple[list[Outgoing], list[outbox.Sent]]:
        """The messages whose segments are all answered, and the provider ids of those the
        SMSC accepted whole (to mark sent); refusals and retries are recorded now."""
        finished = [o for o in self.outgoing if o.finished()]
        sent: list[outbox.Sent] = []
        for outgoing in finished:
            ids = self._record(outgoing)
            if ids:
                sent.append((outgoing.message.id, ids, outgoing.message.attempts))
        return finished, sent

    def record_finished(self) -> int:
        """Record every finished message now, claiming nothing; how many (at stop)."""
        finished, sent = self._settle_finished()
        if sent:
            outbox.mark_sent_many(self.core.db, sent)
            metrics.SUBMITS.labels(result="sent").inc(len(sent))
            try:
                self.receipts.recorded_sent()
            except Exception:  # the receipts are only an update; stopping goes on
                log.exception("held delivery receipts could not be applied at stop")
        self._forget(finished)
        self.slots.give(len(finished))
        return len(finished)

    def abandon(self) -> None:
        """At stop: wait a little for answers in flight, record what came, leave the rest
        claimed (recovered as stale, and resent, by the next start)."""
        deadline = self._clock() + 5.0
        self.take_handed()
        while self.outgoing and self._clock() < deadline:
            self.record_finished()
            if self.outgoing:
                self._work.wait(0.05)
                self._work.clear()
        self.record_finished()

    def _record(self, outgoing: Outgoing) -> list[str] | None:
        """Record a refusal or a retry now; for a message the SMSC accepted whole, return
        its provider ids (the caller marks the finished messages sent in one transaction)."""
        message = outgoing.message
        result = outcome(outgoing)
        if result.result == "sent":
            return [pid for pid in result.ids if pid]
        if result.result == "failed":
            outbox.mark_failed(self.core.db, message.id, result.reason,
                               attempt=message.attempts)
            metrics.SUBMITS.labels(result="failed").inc()
        elif result.result == "unsent":
            outbox.mark_unsent(self.core.db, message.id, attempt=message.attempts,
                               segments_accepted=result.ids)
            self.claim_wanted = True
            metrics.SUBMITS.labels(result="unsent").inc()
        else:
            self._retry(message, result.reason, result.ids)
        return None

    def _retry(self, message: outbox.Claimed, reason: str,
               segments_accepted: list[str | None] | None = None) -> None:
        """Try again after the backoff, sending only the parts not accepted yet."""
        backoff = self._backoff.after(message.attempts)
        outbox.mark_retry(self.core.db, message.id, reason, utcnow() + backoff,
                          segments_accepted=segments_accepted, attempt=message.attempts)
        self._next_claim = min(self._next_claim, self._clock() + backoff.total_seconds())
        metrics.SUBMITS.labels(result="retry").inc()
        log.info("SMS %s will be retried in %.1f s: %s", message.id,
                 backoff.total_seconds(), reason)

