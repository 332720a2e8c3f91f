"""The SMS channel: SMPP in and out of the core, composed of parts with one job each.

- the session (``smpp.SmppSession``): the bind, the window, the reconnects;
- the heartbeat (``heartbeat.Heartbeat``): the bind state for /healthz, and the lease
  every claim stands on, renewed by a thread of its own;
- the dispatch (``dispatch.Dispatch``): outbox claims, submits and their recording;
- inbound (``inbound.MobileOriginated``): citizens' messages stored and answered
  (through the short code's reply policy, ``inquiry.ShortCode``);
- receipts (``receipt_matching.DeliveryReceipts``): delivery receipts applied.

Inbound, on the session's deliveries thread, one read burst at a time: delivery receipts are applied
to the outbox; citizens' messages are stored and answered in one commit before the SMSC
gets any ``deliver_sm_resp``. Outbound, the channel's loop keeps the window full.

Limits, stated once: at most ``SLOTS_PER_WINDOW * window`` (4 × window) messages are
claimed and unrecorded at a time (the claim slots, shared by both threads), each claim
naming this channel's heartbeat holder; a crash resends those once the heartbeat has
stopped (the restarted channel on the same machine gives them back at once, another
channel once the heartbeat has stood still for its lifetime, ``Timings.heartbeat_lifetime``,
on that channel's own clock), and only the ones the SMSC had accepted reach the phone
twice. Nothing is claimed while the heartbeat is not held, nor once its last renewal
is so old that a submit made now might outlast its lifetime. A dropped connection resends
only the submits that had no answer (at most ``window``).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable

from channels.sms.dispatch import SETTLE_EVERY, SLOTS_PER_WINDOW, Dispatch
from channels.sms.heartbeat import Heartbeat
from channels.sms.inbound import MobileOriginated
from channels.sms.inquiry import ShortCode
from channels.sms.outgoing import TEMPORARY_STATUSES
from channels.sms.pdus import ESME_ROK, DeliverSm
from channels.sms.receipt_matching import DeliveryReceipts
from channels.sms.receipts import Receipt, is_delivery_receipt
from channels.sms.settings import SmsSettings
from channels.sms.smpp import SmppSession
from channels.sms.timings import Timings, timings_for
from core.platform.faults import Outage
from core.service import Core

log = logging.getLogger(__name__)

__all__ = ["SLOTS_PER_WINDOW", "SmsChannel", "TEMPORARY_STATUSES", "Timings",
           "shorten_gil_turns", "timings_for"]


def shorten_gil_turns() -> None:
    """Let the SMS channel's threads hand the GIL over in 0.5 ms instead of CPython's 5 ms.

    The session thread (the socket) and the channel's loop (the outbox) pass work to each
    other hundreds of times a second; with the default switch interval, a thread woken by
    the other waits up to 5 ms for the GIL whenever the other is busy, which capped the
    short code's answers well below what the CPU allows. Process-wide: the composition
    root (``gateway sms``, ``gateway run`` with SMS on) calls it, never a library import.
    """
    sys.setswitchinterval(0.0005)


class SmsChannel:
    """The short code over one SMPP bind, started and stopped by the runner.

    ``short_code`` and ``receipts`` are given when the process's binds share them
    (``channels.sms.binds.SmsBinds``): one answers budget per mobile, and a receipt
    matched whichever bind its message went out on.
    """

    def __init__(self, core: Core, settings: SmsSettings, *, timings: Timings | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 short_code: ShortCode | None = None,
                 receipts: DeliveryReceipts | None = None) -> None:
        self.core = core
        self.settings = settings
        self.timings = timings = timings or Timings()
        self._clock = clock
        smpp = settings.smpp
        self.session = SmppSession(
            host=smpp.host, port=smpp.port, system_id=smpp.system_id, password=smpp.password,
            system_type=smpp.system_type, window=smpp.window,
            # The account's rate is shared by its binds, wherever they run.
            throughput_per_second=smpp.throughput_per_second / smpp.binds,
            on_deliver=self._on_deliver, may_bind=lambda: self.heartbeat.may_bind(),
            enquire_link_interval=timings.enquire_link_interval,
            silence_timeout=timings.silence_timeout,
            response_timeout=timings.response_timeout,
            reconnect_delay=timings.reconnect_delay,
            reconnect_max=timings.reconnect_max, clock=clock,
        )
        self._work = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.heartbeat = Heartbeat(
            core, settings, timings, self.session, clock, channel_alive=self._alive,
            stopping=self._stopping, in_flight=lambda: len(self.dispatch.outgoing),
            on_regained=self._claims_regained)
        self.receipts = receipts or DeliveryReceipts(core, timings, clock, self._work.set)
        self.dispatch = Dispatch(core, settings, timings, self.session, clock,
                                 heartbeat=self.heartbeat, receipts=self.receipts,
                                 work=self._work)
        # The short code's reply policy and its answers budgets: this channel's own.
        self.inbound = MobileOriginated(short_code or ShortCode(core), timings, clock,
                                        dispatch=self.dispatch, stopping=self._stopping,
                                        work=self._work)

    @property
    def bound(self) -> bool:
        return self.session.bound

    def wake(self) -> None:
        """Ask the loop for a pass (held receipts to try again, from another bind)."""
        self._work.set()

    # --- running ---------------------------------------------------------------------

    def start(self) -> None:
        # The heartbeat first: the claims this channel makes carry its holder, and another
        # channel gives back those of a holder without a live heartbeat. Should it fail,
        # its thread tries again and nothing is claimed meanwhile.
        self.heartbeat.beat()
        self.dispatch.recover_orphaned_claims()
        self.dispatch.recover_stale_claims()
        self.session.start()
        self._thread = threading.Thread(target=self._loop, name="sms-channel", daemon=True)
        self._thread.start()
        self.heartbeat.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        self._work.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.session.stop()
        if self._thread is not None and not self._thread.is_alive():
            # Answers the deliveries thread claimed while the loop was stopping: recorded
            # now that the session has ended them, before the heartbeat goes (then their
            # claims would go back at once, and be sent again).
            try:
                self.dispatch.take_handed()
                self.dispatch.record_finished()
            except Exception:
                log.exception("the SMS answers sent while stopping could not be recorded")
        # The heartbeat goes last: until the session has stopped, answers may still be in
        # flight under this channel's claims.
        self.heartbeat.stop(timeout)
        stuck = [name for name, thread_alive in (
            ("loop", self._thread is not None and self._thread.is_alive()),
            ("SMPP session", self.session.running),
            # A beat stuck in its write would write the row again after a release: a
            # heartbeat that looks live and claims no one gives back until it expires.
            ("heartbeat", self.heartbeat.alive),
        ) if thread_alive]
        if stuck:
            # Its claims are still this channel's: the heartbeat lapses on its own.
            log.warning("the SMS channel's %s thread did not stop in %.0f s; its heartbeat "
                        "is left to expire", " and ".join(stuck), timeout)
            return
        try:
            self.heartbeat.release()
        except Exception:
            log.exception("could not clear the SMS channel's heartbeat")


    def _alive(self) -> bool:
        """Whether the threads the heartbeat stands for run (or were not started yet)."""
        return self._thread is None or (self._thread.is_alive() and self.session.running)

    def _claims_regained(self) -> None:
        self.dispatch.claim_wanted = True
        self._work.set()

    def _loop(self) -> None:
        outage = Outage(log, "the SMS channel's pass")
        while not self._stopping.is_set():
            try:
                self.dispatch.recover_orphans_due()
                busy = self._pass()
            except Exception as exc:
                # The loop must outlive a database hiccup; the outbox keeps the work.
                outage.failed(exc)
                busy = False
            else:
                if busy:  # a pass with work reached the database (an idle one may not)
                    outage.succeeded()
            if not busy:
                self._idle()
        self.dispatch.abandon()

    def _idle(self) -> None:
        """Sleep until work comes or ``idle_wait`` passes. ``napping`` is said before the
        wait is chosen: answers handed over after the choice wake the loop, those handed
        over before it are seen by it (``Dispatch.idle_wait``)."""
        dispatch = self.dispatch
        dispatch.napping = True
        wait = dispatch.idle_wait()
        if wait <= SETTLE_EVERY:
            dispatch.napping = False
        self._work.wait(wait)
        dispatch.napping = False
        self._work.clear()

    def _pass(self) -> bool:
        """Answer stored messages, store expired multi-part ones, recover stale claims,
        retry held receipts, then record what finished and top the claims up; True when
        it did work."""
        answered = self.inbound.answer_stored()
        self.inbound.flush_reassembly()
        self.dispatch.recover_stale_claims()
        self.receipts.retry_due(self._clock())
        worked = self.dispatch.refill()
        return worked or bool(answered)

    # --- inbound (on the session's deliveries thread) --------------------------------

    def _on_deliver(self, pdus: list[DeliverSm]) -> list[int]:
        """One read burst: receipts applied, citizens' messages stored, all in as few
        commits as the burst allows; a status for each PDU, in order."""
        statuses = [ESME_ROK] * len(pdus)
        receipts: list[tuple[int, Receipt]] = []
        citizens: list[tuple[int, DeliverSm]] = []
        for k, pdu in enumerate(pdus):
            if is_delivery_receipt(pdu.esm_class):
                receipt = self.receipts.read(pdu)
                if receipt is not None:
                    receipts.append((k, receipt))
            else:
                citizens.append((k, pdu))
        if receipts:
            self.receipts.apply(receipts, statuses)
        if citizens:
            self.inbound.store(citizens, statuses)
        return statuses
