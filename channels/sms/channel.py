"""The SMS channel: SMPP in and out of the core.

Inbound, on the session thread, one read burst at a time: delivery receipts are applied to
the outbox; citizens' messages are stored and answered in one commit
(``core.receive_and_answer_sms``) before the SMSC gets any ``deliver_sm_resp``, and the
answers that fit the claim slots are submitted at once; parts of multi-part messages are
stored on their own (``inbound_parts``), the message with the part that completes it. A
failure to store answers ESME_RX_T_APPN (0x64), so the SMSC redelivers (a redelivery is
recognised and stored once).

Outbound, the channel's loop keeps the window full: it records the messages whose
segments are all answered and claims the next due outbox rows (answers first, quiet
hours honoured) in one commit, and submits their segments through the session (answers
on its urgent level, ahead of notifications queued before them). Every segment accepted
→ sent, with the SMSC's ids; a temporary status or a connection lost while on the wire
→ retried with backoff, sending only the segments not yet accepted; never on the wire
(``NotSent``) → queued again at once, no attempt counted; any other status → failed,
with the SMSC's reason.

Limits, stated once: at most ``SLOTS_PER_WINDOW * window`` (4 × window) messages are
claimed and unrecorded at a time (the claim slots, shared by both threads), each claim
naming this channel's heartbeat holder; a crash resends those once the heartbeat has
stopped (the restarted channel on the same machine gives them back at once, another
channel once the heartbeat has stood still for its lifetime, ``Timings.heartbeat_lifetime``,
on that channel's own clock), and only the ones the SMSC had accepted reach the phone
twice. The heartbeat is renewed by a thread of its own, so a stalled loop keeps its
claims; nothing is claimed while the heartbeat is not held, nor once its last renewal
is so old that a submit made now might outlast its lifetime. A dropped connection resends
only the submits that had no answer (at most ``window``). A multi-part message whose
other parts never come is stored as it is after ``Timings.reassembly_timeout``, also when
a previous process stored its parts.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
    readings_evident,
)
from channels.sms.smpp import (
    ESME_ROK,
    ESME_RX_T_APPN,
    ChannelUnavailable,
    DeliverSm,
    DeliveryFailed,
    NotSent,
    SmppSession,
    SubmitRequest,
    SubmitResult,
    Submitted,
    status_name,
)
from core.messaging import outbox
from core.platform import leases
from core.platform.db import utcnow
from core.platform.settings import Settings, SmsSettings
from core.service import Core
from core.sms_inquiry import Inbound, Part, expire_parts, receive_parts

log = logging.getLogger(__name__)

__all__ = ["SLOTS_PER_WINDOW", "SmsChannel", "TEMPORARY_STATUSES"]

# Messages claimed and not yet recorded, per message the SMSC window holds. The slots
# beyond the window let the loop record and claim in batches while the window stays full
# (4 measured 20-40 % more MO answers and segments a second than 2 in bench/sms.py); they
# are also what a crash of the gateway can send twice, at most.
SLOTS_PER_WINDOW = 4

# Receipts held for a message not recorded as sent yet, at most.
_HELD_RECEIPTS_MAX = 5_000

# The longest a finished message waits to be recorded while others are in flight.
_SETTLE_EVERY = 0.05

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
    heartbeat_interval: float = 10.0  # how often the bind state is written for /healthz
    # How long a heartbeat stands for this channel without a renewal. Another channel
    # takes this one's claims once its heartbeat has stood still that long (on the other
    # channel's own clock): well past a submit's response_timeout, with a margin for the
    # database's writer lock held by someone else (raised when too short: see
    # ``heartbeat_lease``).
    heartbeat_lifetime: float = 90.0
    stale_claims_after: timedelta = timedelta(minutes=5)

    def heartbeat_lease(self) -> tuple[float, float]:
        """The heartbeat's lifetime and the margin before its end after which nothing is
        claimed, in seconds.

        A claim made just before the margin starts is submitted, answered within
        ``response_timeout`` and recorded (10 s more) before the lifetime ends: the margin
        is ``response_timeout + 10``, whatever the lifetime. The lifetime is at least twice
        that plus a heartbeat interval, so claims can be made for at least half of it.
        """
        margin = self.response_timeout + 10.0
        return max(self.heartbeat_lifetime, 2 * margin + self.heartbeat_interval), margin


@dataclass
class _Outgoing:
    """A claimed message and its segments' submits (or why it cannot be sent)."""

    message: outbox.Claimed
    submitted: list[Submitted] | str
    # Which of the message's segments the futures are for (a retry skips those accepted).
    indexes: list[int] = field(default_factory=list)

    @property
    def futures(self) -> list[Submitted]:
        return [] if isinstance(self.submitted, str) else self.submitted

    @property
    def refused(self) -> str | None:
        return self.submitted if isinstance(self.submitted, str) else None

    def finished(self) -> bool:
        return all(future.done() for future in self.futures)


class _LaterParts:
    """The SMSC's ids of the second and later segments of messages recorded lately, each
    with its message's id and part number; bounded, oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._ids: dict[str, tuple[int, int]] = {}
        self._size = size
        self._lock = threading.Lock()

    def remember(self, parts) -> None:
        """``parts``: (segment id, message id, part number) triples."""
        with self._lock:
            for pid, message_id, number in parts:
                self._ids[pid] = (message_id, number)
            while len(self._ids) > self._size:
                del self._ids[next(iter(self._ids))]

    def find(self, forms) -> tuple[int, int] | None:
        for form in forms:
            found = self._ids.get(form)
            if found is not None:
                return found
        return None


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


def shorten_gil_turns() -> None:
    """Let the SMS channel's threads hand the GIL over in 0.5 ms instead of CPython's 5 ms.

    The session thread (the socket) and the channel's loop (the outbox) pass work to each
    other hundreds of times a second; with the default switch interval, a thread woken by
    the other waits up to 5 ms for the GIL whenever the other is busy, which capped the
    short code's answers well below what the CPU allows. Process-wide: the composition
    root (``gateway sms``, ``gateway run`` with SMS on) calls it, never a library import.
    """
    sys.setswitchinterval(0.0005)


def timings_for(settings: Settings) -> Timings:
    """The production timings, with the stale-claim age the operator configured."""
    return Timings(stale_claims_after=timedelta(
        seconds=settings.scheduler.stale_claim_seconds))


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
        # Claims are made when rows may be due: once a poll interval (rows queued by other
        # processes, retries coming due), and at once when this process queued some or
        # the last claim was full. Set from both threads; cleared by the loop's claim.
        self._claim_wanted = True
        self._next_claim = 0.0
        self._held: list[_HeldReceipt] = []
        # Counts the loop's recordings of sent messages (under _held_lock): a receipt the
        # session thread missed while a recording committed is tried again at once.
        self._recordings = 0
        self._recheck_held = False
        self._next_held_retry = 0.0
        # Claimed messages whose submits are in flight, oldest first (the loop's own).
        self._outgoing: list[_Outgoing] = []
        self._settled_at = 0.0
        # Ids of the second and later segments of messages recorded lately: their
        # receipts are expected; a delivery is ignored (the first segment's tells), a
        # failure fails the message.
        self._later_parts = _LaterParts(50_000)
        self._inbound_waiting = threading.Event()
        self._next_inbound_check = 0.0
        # Answers the session thread submitted itself, for the loop to record.
        self._handed: queue.SimpleQueue[_Outgoing] = queue.SimpleQueue()
        # Messages claimed and not yet recorded, by either thread, which bounds what a
        # crash can send twice.
        self._slots = _Slots(SLOTS_PER_WINDOW * settings.smpp.window)
        # The bind state, written where any gateway machine's /healthz reads it.
        self._holder = leases.holder_name("sms")
        self._heartbeat_name = heartbeat_name(self._holder)
        lifetime, self._beat_margin = self.timings.heartbeat_lease()
        self._heartbeat_ttl = timedelta(seconds=lifetime)
        # Written by a thread of its own (``_beating``), so a busy or stalled loop does not
        # let it lapse. No claim is made after ``_beat_valid_until`` (our clock when the
        # last good beat began, plus its lifetime, less a margin for a submit in flight
        # to be answered and recorded): another channel takes the claims of a heartbeat
        # that has stood still for its lifetime as orphans, and sends them again. A
        # deadline, not a flag, so a beat that hangs (a row lock, a dead socket) or a
        # heartbeat thread that died stops the claims all the same.
        self._beat_valid_until = 0.0
        self._beat_epoch = 0  # one more each time the deadline is gained after a lapse
        self._beat_stop = threading.Event()
        self._beat_thread: threading.Thread | None = None
        self._beat_failing = False
        self._beat_retry = 0.0
        self._next_heartbeat = 0.0
        self._last_beat = (0.0, 0)
        self._beat_bound: bool | None = None
        # Other channels' heartbeats as this one has seen them, to give back the claims of
        # those that stopped.
        self._heartbeats = outbox.Heartbeats(leases.SMS_CHANNEL_PREFIX, clock=clock)
        self._next_orphan_check = 0.0
        self._next_recovery = 0.0
        self._held_lock = threading.Lock()
        self._work = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- running ---------------------------------------------------------------------

    def start(self) -> None:
        # The heartbeat first: the claims this channel makes carry its holder, and another
        # channel gives back those of a holder without a live heartbeat. Should it fail,
        # its thread tries again and nothing is claimed meanwhile.
        self._beat()
        self._recover_orphaned_claims()
        self._recover_stale_claims()
        self.session.start()
        self._thread = threading.Thread(target=self._loop, name="sms-channel", daemon=True)
        self._thread.start()
        self._beat_thread = threading.Thread(target=self._beating, name="sms-heartbeat",
                                             daemon=True)
        self._beat_thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        self._work.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.session.stop()
        if self._thread is not None and not self._thread.is_alive():
            # Answers the session thread claimed while the loop was stopping: recorded
            # now that the session has ended them, before the heartbeat goes (then their
            # claims would go back at once, and be sent again).
            try:
                self._take_handed()
                self._record_finished()
            except Exception:
                log.exception("the SMS answers sent while stopping could not be recorded")
        # The heartbeat goes last: until the session has stopped, answers may still be in
        # flight under this channel's claims.
        self._beat_stop.set()
        if self._beat_thread is not None:
            self._beat_thread.join(timeout)
        stuck = [name for name, thread_alive in (
            ("loop", self._thread is not None and self._thread.is_alive()),
            ("SMPP session", self.session.running),
            # A beat stuck in its write would write the row again after a release: a
            # heartbeat that looks live and claims no one gives back until it expires.
            ("heartbeat", self._beat_thread is not None and self._beat_thread.is_alive()),
        ) if thread_alive]
        if stuck:
            # Its claims are still this channel's: the heartbeat lapses on its own.
            log.warning("the SMS channel's %s thread did not stop in %.0f s; its heartbeat "
                        "is left to expire", " and ".join(stuck), timeout)
            return
        try:
            leases.release(self.core.db, self._heartbeat_name, self._holder)
        except Exception:
            log.exception("could not clear the SMS channel's heartbeat")

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
                self._recover_orphans_due()
                busy = self._pass()
            except Exception:
                # The loop must outlive a database hiccup; the outbox keeps the work.
                log.exception("SMS channel pass failed")
                busy = False
            if not busy:
                # Something finished but not recorded yet: back by the settle deadline;
                # else by the next claim (a retry coming due) or the poll interval.
                until_claim = self._next_claim - self._clock()
                idle = (min(self.timings.poll_interval, until_claim) if until_claim > 0
                        else self.timings.poll_interval)
                self._work.wait(_SETTLE_EVERY if self._outgoing else idle)
                self._work.clear()
        self._abandon_outgoing()

    def _recover_stale_claims(self) -> None:
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

    def _recover_orphaned_claims(self) -> None:
        """Give back the claims of SMS channels whose heartbeat has stopped (a SIGKILLed
        ``gateway sms``: at once when it ran on this machine, else once its heartbeat has
        stood still for its lifetime as this channel's clock counts it, not the stale-claim
        age); a live channel's, on this machine or another, never."""
        self._recovered(outbox.recover_claims_of_stopped_holders(
            self.core.db, self._heartbeats, channel="sms"))

    def _recover_orphans_due(self) -> None:
        """``_recover_orphaned_claims`` once a heartbeat interval, on the loop."""
        now = self._clock()
        if now >= self._next_orphan_check:
            self._next_orphan_check = now + self.timings.heartbeat_interval
            self._recover_orphaned_claims()

    def _recovered(self, recovered: int) -> None:
        if recovered:
            self._claim_wanted = True
            log.warning("%d SMS claimed by a sender that stopped are queued again", recovered)

    def _beating(self) -> None:
        """The heartbeat's thread: on time whatever the loop is doing, and at once when
        the bind comes up or goes down (/metrics, /healthz)."""
        while not self._beat_stop.is_set():
            try:
                wait = self._next_heartbeat - self._clock()
                if wait > 0 and self.session.bound == self._beat_bound:
                    self._beat_stop.wait(min(wait, 0.25))
                    continue
                self._beat()
            except Exception:
                # Never silently dead: the claims stop at the deadline anyway.
                log.exception("the SMS channel's heartbeat failed")
                self._beat_stop.wait(min(1.0, self.timings.heartbeat_interval))

    def _beat_valid(self) -> bool:
        """Whether claims may be made now (see ``_beat_valid_until``)."""
        return self._clock() < self._beat_valid_until

    def _beat(self) -> None:
        """Write the heartbeat (the bind state, the throughput); retried with backoff (up
        to the heartbeat interval) while it cannot be, and not written at all once a
        thread it stands for is dead, nor once the channel stops."""
        if self._beat_stop.is_set():
            return
        now = self._clock()
        bound = self.session.bound
        # Noted on every attempt, written or not: a bind that changed while the database
        # fails is one more attempt, not one after another until it is back.
        self._beat_bound = bound
        if self._thread is not None and not (self._thread.is_alive() and self.session.running):
            # Its claims would never be recorded: let the heartbeat lapse, so another
            # channel (or the restarted one) gives them back.
            if self._beat_valid() and not self._stopping.is_set():
                log.error("a thread of the SMS channel has died; its heartbeat is no "
                          "longer renewed")
            self._beat_valid_until = 0.0
            self._next_heartbeat = now + self.timings.heartbeat_interval
            return
        # Throughput since the last beat: segments submitted per second.
        sent, since = self.session.segments_sent, self._last_beat
        rate = (sent - since[1]) / (now - since[0]) if now > since[0] and since[0] else 0.0
        smpp = self.settings.smpp
        try:
            held = leases.acquire(self.core.db, self._heartbeat_name, self._holder,
                                  self._heartbeat_ttl, state={
                                      "bound": bound, "binds": self.session.binds,
                                      "smsc": f"{smpp.host}:{smpp.port}",
                                      "in_flight": len(self._outgoing),
                                      "segments_per_second": round(rate, 1)})
        except Exception:
            log.exception("the SMS channel's heartbeat could not be written")
            held = False
        if held:
            self._beat_failing = False
            self._last_beat = (now, sent)
            self._next_heartbeat = now + self.timings.heartbeat_interval
            was_valid = self._beat_valid()
            if not was_valid:
                # Claims made before the lapse are not sent any more (_claims_valid).
                self._beat_epoch += 1
            # From when this beat began: the row was written after that.
            self._beat_valid_until = (now + self._heartbeat_ttl.total_seconds()
                                      - self._beat_margin)
            if not was_valid:
                self._claim_wanted = True
                self._work.set()
            return
        interval = self.timings.heartbeat_interval
        if not self._beat_failing:
            log.error("the SMS channel does not hold its heartbeat %s; nothing is claimed "
                      "until it does", self._heartbeat_name)
            self._beat_retry = min(1.0, interval)
        else:
            self._beat_retry = min(self._beat_retry * 2, interval)
        self._beat_failing = True
        self._beat_valid_until = 0.0
        self._next_heartbeat = now + self._beat_retry

    def _pass(self) -> bool:
        """Answer, record what finished, top the claims up; True when it did work.

        The window is kept full rather than worked in rounds: finished messages are
        recorded, and more claimed, in one commit whenever a window's worth of room has
        opened (or nothing else is in flight, or _SETTLE_EVERY has passed). At most
        ``SLOTS_PER_WINDOW * window`` messages are claimed and unrecorded at a time;
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
            if answered:
                self._claim_wanted = True  # their answers wait in the outbox
            if answered >= _ANSWER_BATCH:
                self._inbound_waiting.set()  # there may be more
        self._flush_reassembly()
        self._recover_stale_claims()
        if self._recheck_held or (self._held and now >= self._next_held_retry):
            # Tried again after a recording, and once a poll interval besides (which also
            # lets the expired ones go when nothing is being sent).
            self._recheck_held = False
            self._next_held_retry = now + self.timings.poll_interval
            self._apply_held_receipts()
        self._take_handed()
        window = self.settings.smpp.window
        done_count = sum(outgoing.finished() for outgoing in self._outgoing)
        busy = len(self._outgoing) - done_count
        now = self._clock()
        # A claim only when rows may be due (see _claim_wanted): an empty claim would take
        # every free slot for its commit and leave the session thread's answers none.
        epoch = self._beat_epoch  # read first: a lapse after it shows as a new epoch
        claiming = (self.session.bound and self._beat_valid()
                    and (self._claim_wanted or now >= self._next_claim)
                    and (self._slots.free + done_count >= window or not busy))
        # Finished messages are recorded in batches: when a window's worth of slots can be
        # refilled, when nothing else is in flight, or after _SETTLE_EVERY at the latest.
        settling = done_count and (not busy or now - self._settled_at >= _SETTLE_EVERY)
        if not (claiming or settling):
            return bool(answered)
        self._settled_at = now
        finished, sent = self._settle_finished()
        # The finished messages' slots pass to the messages claimed in the same commit.
        taken = self._slots.take(self._slots.free) if claiming else 0
        limit = taken + len(finished) if claiming else 0
        if claiming:
            # Cleared before the claim reads: a wish set meanwhile is kept for the next.
            self._claim_wanted = False
        claimed: list[outbox.Claimed] = []
        try:
            claimed = outbox.mark_sent_and_claim(
                self.core.db, sent, limit=limit, channel="sms",
                quiet_hours=self.core.config.quiet_hours, holder=self._holder)
        except Exception:
            self._slots.give(taken)  # the finished keep theirs, to be recorded again
            self._claim_wanted = self._claim_wanted or claiming
            raise
        self._slots.give(taken + len(finished) - len(claimed))
        if claimed and not self._claims_valid(epoch):
            # The commit outlasted the deadline (a busy writer lock): a peer may give
            # these back, and send them, any moment now.
            self._give_back(claimed)
            self._slots.give(len(claimed))
            claimed = []
        if claiming:
            if 0 < limit <= len(claimed):
                self._claim_wanted = True  # a full claim: more may be due
            else:
                self._next_claim = now + self.timings.poll_interval
        # Only now: should recording fail half-way, the next pass records them again, and
        # each outbox transition moves a row only from "sending", once.
        done = {id(o) for o in finished}
        self._outgoing = [o for o in self._outgoing if id(o) not in done]
        if sent:
            metrics.SUBMITS.labels(result="sent").inc(len(sent))
            self._later_parts.remember(
                (pid, item[0], number) for item in sent
                for number, pid in enumerate(item[1][1:], start=2))
            self._recorded_sent()
        self._outgoing.extend(self._send(claimed, epoch))
        return bool(answered or finished or claimed)

    def _claims_valid(self, epoch: int) -> bool:
        """Whether claims made under the heartbeat's ``epoch`` may still be sent: the
        deadline has not passed, and has not lapsed since (a beat that came back after a
        lapse starts a new epoch: a peer may have given the old claims back meanwhile)."""
        return self._beat_valid() and self._beat_epoch == epoch

    def _give_back(self, messages: list[outbox.Claimed]) -> None:
        """Give claims back untried (``mark_unsent``): they were made, or waited, past the
        heartbeat's deadline. Should that fail, the heartbeat's lapse gives them back."""
        log.warning("%d SMS claimed as the heartbeat's deadline passed are given back "
                    "unsent", len(messages))
        self._claim_wanted = True
        try:
            for message in messages:
                outbox.mark_unsent(self.core.db, message.id, attempt=message.attempts)
        except Exception:
            log.exception("the SMS claimed past the heartbeat's deadline could not be "
                          "given back; they go back once the heartbeat is seen stopped")
        metrics.SUBMITS.labels(result="unsent").inc(len(messages))

    def _send(self, messages: list[outbox.Claimed], epoch: int) -> list[_Outgoing]:
        """Submit claimed messages' segments, in order, with one hand-over to the session
        per level: answers to inquiries jump the session's queue of notifications. Each
        message holds one claim slot until it is recorded; a segment whose turn comes
        after the claims of ``epoch`` lapsed is not sent (``NotSent``: queued again)."""
        encoded = [self._segments(message) for message in messages]
        urgent = [message.priority <= outbox.PRIORITY_ANSWER for message in messages]
        futures = {}
        for level in (True, False):
            requests = [request for each, is_urgent in zip(encoded, urgent, strict=True)
                        if is_urgent is level and not isinstance(each, str)
                        for _, request in each]
            futures[level] = iter(self.session.submit_many(
                requests, urgent=level, sendable=lambda: self._claims_valid(epoch))
                if requests else ())
        outgoing = []
        for message, requests, level in zip(messages, encoded, urgent, strict=True):
            if isinstance(requests, str):
                outgoing.append(_Outgoing(message, requests))
            else:
                outgoing.append(_Outgoing(message, [next(futures[level]) for _ in requests],
                                          [index for index, _ in requests]))
            for future in outgoing[-1].futures:
                future.add_done_callback(self._wake)
        return outgoing

    def _take_handed(self) -> None:
        """The answers the session thread submitted, into the loop's own list."""
        while True:
            try:
                self._outgoing.append(self._handed.get_nowait())
            except queue.Empty:
                return

    def _wake(self, _future: Submitted | None = None) -> None:
        if not self._work.is_set():
            self._work.set()

    def _settle_finished(self) -> tuple[list[_Outgoing], list[outbox.Sent]]:
        """The messages whose segments are all answered, and the provider ids of those the
        SMSC accepted whole (to mark sent); refusals and retries are recorded now."""
        finished = [o for o in self._outgoing if o.finished()]
        sent: list[outbox.Sent] = []
        for outgoing in finished:
            ids = self._record(outgoing)
            if ids:
                sent.append((outgoing.message.id, ids, outgoing.message.attempts))
        return finished, sent

    def _record_finished(self) -> int:
        """Record every finished message now, claiming nothing; how many (at stop)."""
        finished, sent = self._settle_finished()
        if sent:
            outbox.mark_sent_many(self.core.db, sent)
            metrics.SUBMITS.labels(result="sent").inc(len(sent))
            try:
                self._recorded_sent()
            except Exception:  # the receipts are only an update; stopping goes on
                log.exception("held delivery receipts could not be applied at stop")
        done = {id(o) for o in finished}
        self._outgoing = [o for o in self._outgoing if id(o) not in done]
        self._slots.give(len(finished))
        return len(finished)

    def _abandon_outgoing(self) -> None:
        """At stop: wait a little for answers in flight, record what came, leave the rest
        claimed (recovered as stale, and resent, by the next start)."""
        deadline = self._clock() + 5.0
        self._take_handed()
        while self._outgoing and self._clock() < deadline:
            self._record_finished()
            if self._outgoing:
                self._work.wait(0.05)
                self._work.clear()
        self._record_finished()

    # --- outbound --------------------------------------------------------------------

    def _segments(self, message: outbox.Claimed) -> list[tuple[int, SubmitRequest]] | str:
        """A submit_sm per segment still to send (with its index), or the reason the text
        cannot be sent. The split and the concatenation reference depend only on the text
        and the message id, so a retry's parts match the first attempt's."""
        try:
            segments = sms_parts(message.body, message.id % 256)
        except ValueError as exc:
            return f"cannot encode: {exc}"
        accepted = _accepted(message, len(segments))
        destination = message.recipient.removeprefix("+")
        return [
            (index, SubmitRequest(
                source_addr=self.settings.short_code, destination_addr=destination,
                short_message=segment.payload, data_coding=segment.data_coding,
                esm_class=segment.esm_class,
                # On every segment: the first segment's receipt is the one matched, the
                # others are ignored, and some SMSCs only report segments asked for.
                registered_delivery=True))
            for index, segment in enumerate(segments) if accepted[index] is None
        ]

    def _record(self, outgoing: _Outgoing) -> list[str] | None:
        """Record a refusal or a retry now; for a message the SMSC accepted whole, return
        its provider ids (the caller marks the finished messages sent in one transaction)."""
        message = outgoing.message
        if outgoing.refused is not None:
            outbox.mark_failed(self.core.db, message.id, outgoing.refused,
                               attempt=message.attempts)
            metrics.SUBMITS.labels(result="failed").inc()
            return None
        prior = message.segments_accepted or ()
        ids: list[str | None] = [None] * max(len(prior), max(outgoing.indexes, default=-1) + 1)
        ids[:len(prior)] = prior
        problem: str | None = None
        refused: int | None = None
        untried = False
        for index, future in zip(outgoing.indexes, outgoing.futures, strict=True):
            try:
                result: SubmitResult = future.result(timeout=0)
            except NotSent:
                untried = True  # never on the wire: no attempt made
                continue
            except (ChannelUnavailable, DeliveryFailed, TimeoutError) as exc:
                problem = problem or (str(exc) or "no submit_sm_resp")
                continue
            if result.accepted:
                # The SMSC has it: sent, whatever its id looks like (an id missing or
                # with spaces must not make the part go again, nor stop the recording).
                ids[index] = _storable_id(result.message_id, message.id, index)
            elif refused is None or result.status not in TEMPORARY_STATUSES:
                refused = result.status
        if refused is not None and refused not in TEMPORARY_STATUSES:
            outbox.mark_failed(self.core.db, message.id, f"refused: {status_name(refused)}",
                               attempt=message.attempts)
            metrics.SUBMITS.labels(result="failed").inc()
            return None
        if problem is None and refused is None and all(ids):
            return [pid for pid in ids if pid]
        if untried and problem is None and refused is None:
            # Nothing of it was tried this time: queued again, due now, no attempt counted
            # and no backoff grown (claimed again once the session is bound).
            outbox.mark_unsent(self.core.db, message.id, attempt=message.attempts,
                               segments_accepted=ids)
            self._claim_wanted = True
            metrics.SUBMITS.labels(result="unsent").inc()
            return None
        # Try again later, sending only the parts not accepted yet.
        self._retry(message, problem or status_name(refused or 0), ids)
        return None

    def _retry(self, message: outbox.Claimed, reason: str,
               segments_accepted: list[str | None] | None = None) -> None:
        backoff = min(self.timings.retry_backoff * 2 ** max(message.attempts - 1, 0),
                      self.timings.retry_backoff_max)
        outbox.mark_retry(self.core.db, message.id, reason,
                          utcnow() + timedelta(seconds=backoff),
                          segments_accepted=segments_accepted, attempt=message.attempts)
        self._next_claim = min(self._next_claim, self._clock() + backoff)
        metrics.SUBMITS.labels(result="retry").inc()
        log.info("SMS %s will be retried in %.1f s: %s", message.id, backoff, reason)

    # --- inbound (on the session thread) ---------------------------------------------

    def _on_deliver(self, pdus: list[DeliverSm]) -> list[int]:
        """One read burst: receipts applied, citizens' messages stored, all in as few
        commits as the burst allows; a status for each PDU, in order."""
        statuses = [ESME_ROK] * len(pdus)
        receipts: list[tuple[int, Receipt]] = []
        stored: list[tuple[int, Inbound]] = []
        parts: list[tuple[int, Part]] = []
        for k, pdu in enumerate(pdus):
            if is_delivery_receipt(pdu.esm_class):
                receipt = self._read_receipt(pdu)
                if receipt is not None:
                    receipts.append((k, receipt))
                continue
            inbound = self._inbound(pdu)
            if isinstance(inbound, Part):
                parts.append((k, inbound))
            else:
                stored.append((k, inbound))
        if receipts:
            self._apply_receipts(receipts, statuses)
        if parts:
            self._store_parts(parts, statuses)
        if stored:
            self._store_and_answer([message for _, message in stored],
                                   [k for k, _ in stored], statuses)
        return statuses

    def _store_and_answer(self, messages: list[Inbound], indexes: list[int],
                          statuses: list[int]) -> None:
        """Store the burst's messages and answer as many as the claim slots allow, in one
        commit, then submit those answers from here (the session thread) at once."""
        if self._stopping.is_set():
            # Stopping: an answer submitted now might not be recorded before the end (and
            # would go twice); the SMSC redelivers these to the next process.
            for k in indexes:
                statuses[k] = ESME_RX_T_APPN
            return
        # No answer is claimed while the heartbeat is not held (the loop claims them later).
        epoch = self._beat_epoch
        slots = self._slots.take(len(messages)) if self._beat_valid() else 0
        try:
            answers = self.core.receive_and_answer_sms(messages, claim_limit=slots,
                                                       holder=self._holder)
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
        if answers and not self._claims_valid(epoch):
            self._give_back(answers)  # the commit outlasted the deadline, as in _pass
            self._slots.give(len(answers))
            answers = []
        for outgoing in self._send(answers, epoch):
            self._handed.put(outgoing)
        if len(answers) < len(messages):
            # Answers beyond the slots wait in the outbox for the loop's claim; a message
            # whose lookup failed is "received" still: the loop looks at it again.
            self._claim_wanted = True
            self._inbound_waiting.set()
        self._work.set()

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
                                   [part for _, part in parts], _assemble_parts)
        except Exception:
            log.exception("%d parts of inbound SMS could not be stored; the SMSC will "
                          "redeliver them", len(parts))
            metrics.MO_RECEIVED.labels(result="store_failed").inc(len(parts))
            for k, _ in parts:
                statuses[k] = ESME_RX_T_APPN
            return
        if joined:
            metrics.MO_RECEIVED.labels(result="stored").inc(joined)
            self._inbound_waiting.set()
            self._work.set()

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
        recordings = self._recordings
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
                # Bounded: receipts for messages this gateway never sent must not pile up.
                del self._held[:-_HELD_RECEIPTS_MAX]
                # A recording committed while these were looked up, and the loop may have
                # tried its held receipts before these joined them: it tries again.
                if self._recordings != recordings:
                    self._recheck_held = True
            self._work.set()

    def _mark_delivered(self, receipts: list[Receipt],
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
            batch.append(self._as_outbox_receipt(self._later_parts.find((exact,)),
                                                 (exact, *others), when, final, reason))
        applied = outbox.mark_delivered_many(self.core.db, batch)
        # Not found, but another reading is a later segment's id: that message's.
        again = [(k, part) for k, (outcome, others) in enumerate(
            zip(applied, readings, strict=True)) if not outcome.matched and others
            for part in (self._later_parts.find(others),) if part is not None]
        if again:
            retried = outbox.mark_delivered_many(self.core.db, [self._as_outbox_receipt(
                part, (), when, batch[k].final_status, batch[k].reason) for k, part in again])
            for (k, _), outcome in zip(again, retried, strict=True):
                applied[k] = outcome
        return [outcome.matched for outcome in applied]

    @staticmethod
    def _as_outbox_receipt(part: tuple[int, int] | None, ids: tuple[str, ...], when,
                           final: str, reason: str | None) -> outbox.Receipt:
        if part is None:
            return outbox.Receipt(ids, when, final, reason)
        message_id, number = part
        if reason is not None:
            reason = reason.replace("delivery receipt:", f"delivery receipt for part {number}:",
                                    1)
        return outbox.Receipt((), when, final, reason, part_of=message_id)

    def _recorded_sent(self) -> None:
        """After messages were recorded as sent: the held receipts may match them now."""
        with self._held_lock:
            self._recordings += 1
        self._apply_held_receipts()

    def _apply_held_receipts(self) -> None:
        """Try the held receipts again (after a recording: only new ``sent`` rows can
        match them); one past its hold gets a last try, with every reading of its id."""
        with self._held_lock:
            held, self._held = self._held, []
        if not held:
            return
        now = self._clock()
        last_try = [entry.until <= now for entry in held]
        try:
            matched = self._mark_delivered([entry.receipt for entry in held], last_try)
        except Exception:
            with self._held_lock:
                self._held[:0] = held  # kept for the next try; the SMSC has its resp
            raise
        keep = [entry for entry, ok, last in zip(held, matched, last_try, strict=True)
                if not ok and not last]
        with self._held_lock:
            self._held[:0] = keep


def heartbeat_name(holder: str) -> str:
    """The heartbeat lease's name for ``holder`` (a ``leases.holder_name``): at most the
    column's 64 characters, and unique per holder however long the host name (a hash of
    the whole holder, then its end: the pid and the random suffix)."""
    name = f"{leases.SMS_CHANNEL_PREFIX}{holder}"
    if len(name) <= _LEASE_NAME_MAX:
        return name
    digest = hashlib.sha256(holder.encode()).hexdigest()[:12]
    keep = _LEASE_NAME_MAX - len(leases.SMS_CHANNEL_PREFIX) - len(digest) - 1
    return f"{leases.SMS_CHANNEL_PREFIX}{digest}~{holder[-keep:]}"


_LEASE_NAME_MAX = 64


def _storable_id(message_id: str | None, notification_id: int, index: int) -> str:
    """The SMSC's id for a segment as the outbox stores it: canonical, no spaces, at most
    64 characters; a stand-in id (noid-N-I) when the SMSC gave none (its receipts cannot match)."""
    canonical = "_".join(canonical_message_id(message_id or "").split())[:64]
    return canonical or f"noid-{notification_id}-{index}"


def _accepted(message: outbox.Claimed, count: int) -> list[str | None]:
    """The SMSC's ids of the segments accepted on an earlier attempt (None where not)."""
    prior = list(message.segments_accepted or ())
    if len(prior) != count:  # the text cannot have changed; ignore a record that does not fit
        return [None] * count
    return prior


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
    window = int(time.time() // _DEDUPE_WINDOW)
    return Inbound(sender=sender, recipient=recipient, text=text,
                   dedupe_key=_dedupe_key(sender, raw, window),
                   earlier_key=_dedupe_key(sender, raw, window - 1))


# SMPP gives an MO no id of its own: a redelivery is recognised by its sender and content
# within this many seconds (the current window, or the one before).
_DEDUPE_WINDOW = 120


def _dedupe_key(sender: str, raw: bytes, window: int) -> str:
    """One key per sender, content and two minutes of wall time. The same text stored in
    this window or the last one is a redelivery (the SMSC repeats a message whose
    deliver_sm_resp it missed within seconds); sent again two to four minutes later or
    more, it is a new inquiry and answered."""
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return f"smpp:{sender}:{digest}:{window}"
