"""The SMS channel's heartbeat: the bind state where any machine's /healthz reads it, and
the lease every claim the channel makes stands on, renewed with the bind's slot.

The slot (``core.platform.slots``, ``smpp-bind:<k>``): one of the ``sms.smpp.binds`` the
SMSC grants the account, over every process and machine. A channel binds only while it
holds one, and sends at ``throughput_per_second / binds``, so the binds together never
exceed the agreed rate. One without a slot stands by (its heartbeat says so), claims
nothing and does not bind, and takes a slot over once its holder has stopped.

Written by a thread of its own, so a busy or stalled loop does not let it lapse. No claim
is made after ``valid_until`` (our clock when the last good beat began, plus its
lifetime, less a margin for a submit in flight to be answered and recorded): another
channel takes the claims of a heartbeat that has stood still for its lifetime as
orphans, and sends them again. A deadline, not a flag, so a beat that hangs (a row
lock, a dead socket) or a heartbeat thread that died stops the claims all the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from channels.sms.settings import SmsSettings
from channels.sms.smpp import SmppSession
from channels.sms.timings import Timings
from core.platform import leases
from core.platform.faults import Outage
from core.platform.slots import Slots
from core.service import Core

log = logging.getLogger(__name__)

# The slot leases' names: ``smpp-bind:0`` ... (not under ``leases.SMS_CHANNEL_PREFIX``:
# they are not heartbeats).
BIND_SLOT_PREFIX = "smpp-bind:"


def bind_slots(settings: SmsSettings, clock: Callable[[], float]) -> Slots:
    """The account's bind slots as one bind sees them."""
    return Slots(BIND_SLOT_PREFIX, settings.smpp.binds, clock)


def heartbeat_name(holder: str) -> str:
    """The heartbeat lease's name for ``holder`` (see ``leases.heartbeat_name``)."""
    return leases.heartbeat_name(leases.SMS_CHANNEL_PREFIX, holder)


class Heartbeat:
    """This channel's heartbeat lease (``holder``, ``name``) and the claims' deadline.

    ``slot`` is the bind slot held (None: standing by; see the module's docstring).
    ``channel_alive`` says whether the threads the heartbeat stands for still run (a
    dead one's claims would never be recorded: the heartbeat then lapses);
    ``in_flight`` counts the messages on the wire, for /healthz; ``on_regained`` is
    called when claims may be made again after a lapse.
    """

    def __init__(self, core: Core, settings: SmsSettings, timings: Timings,
                 session: SmppSession, clock: Callable[[], float], *,
                 channel_alive: Callable[[], bool], stopping: threading.Event,
                 in_flight: Callable[[], int], on_regained: Callable[[], None]) -> None:
        self.core = core
        self.settings = settings
        self.timings = timings
        self.session = session
        self._clock = clock
        self._channel_alive = channel_alive
        self._stopping = stopping
        self._in_flight = in_flight
        self._on_regained = on_regained
        # The database away: said once a minute, not on every beat (``Outage``).
        self._outage = Outage(log, "the SMS channel's heartbeat")
        self.holder = leases.holder_name("sms")
        self.name = heartbeat_name(self.holder)
        lifetime, self._margin = timings.heartbeat_lease()
        self.ttl = timedelta(seconds=lifetime)
        self.valid_until = 0.0
        self.epoch = 0  # one more each time the deadline is gained after a lapse
        self.slots = bind_slots(settings, clock)
        self.slot: int | None = None
        # Until when the slot is ours on our clock: the lifetime after the last good beat
        # began (a peer takes it over no sooner than a lifetime after that renewal).
        self._slot_until = 0.0
        self._standing = False
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._failing = False
        self._retry = 0.0
        self._next = 0.0
        self._last = (0.0, 0)
        self._bound: bool | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._beating, name="sms-heartbeat",
                                       daemon=True)
        self.thread.start()

    def stop(self, timeout: float) -> None:
        """Stop beating (the lease is left as it is: see ``release``)."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the heartbeat's thread still runs (maybe stuck in a write)."""
        return self.thread is not None and self.thread.is_alive()

    def release(self) -> None:
        leases.release(self.core.db, self.name, self.holder)
        self.slots.release(self.core.db, self.holder)

    def may_bind(self) -> bool:
        """Whether the session may be bound to the SMSC now: a slot is ours."""
        return self.slot is not None and self._clock() < self._slot_until

    @property
    def standing_by(self) -> bool:
        return self.slot is None

    def valid(self) -> bool:
        """Whether claims may be made now (see ``valid_until``)."""
        return self._clock() < self.valid_until

    def claims_valid(self, epoch: int) -> bool:
        """Whether claims made under the heartbeat's ``epoch`` may still be sent: the
        deadline has not passed, and has not lapsed since (a beat that came back after a
        lapse starts a new epoch: a peer may have given the old claims back meanwhile)."""
        return self.valid() and self.epoch == epoch

    def _beating(self) -> None:
        """The heartbeat's thread: on time whatever the loop is doing, and at once when
        the bind comes up or goes down (/metrics, /healthz)."""
        outage = Outage(log, "the SMS channel's heartbeat thread")
        while not self._stop.is_set():
            try:
                wait = self._next - self._clock()
                if wait > 0 and self.session.bound == self._bound:
                    self._stop.wait(min(wait, 0.25))
                    continue
                self.beat()
            except Exception as exc:
                # Never silently dead: the claims stop at the deadline anyway.
                outage.failed(exc)
                self._stop.wait(min(1.0, self.timings.heartbeat_interval))
            else:
                outage.succeeded()

    def beat(self) -> None:
        """Write the heartbeat (the bind state, the throughput); retried with backoff (up
        to the heartbeat interval) while it cannot be, and not written at all once a
        thread it stands for is dead, nor once the channel stops."""
        if self._stop.is_set():
            return
        now = self._clock()
        bound = self.session.bound
        # Noted on every attempt, written or not: a bind that changed while the database
        # fails is one more attempt, not one after another until it is back.
        self._bound = bound
        if not self._channel_alive():
            # Its claims would never be recorded: let the heartbeat lapse, so another
            # channel (or the restarted one) gives them back.
            if self.valid() and not self._stopping.is_set():
                log.error("a thread of the SMS channel has died; its heartbeat is no "
                          "longer renewed")
            self.valid_until = 0.0
            self._next = now + self.timings.heartbeat_interval
            return
        # Throughput since the last beat: segments submitted per second.
        sent, since = self.session.segments_sent, self._last
        rate = (sent - since[1]) / (now - since[0]) if now > since[0] and since[0] else 0.0
        smpp = self.settings.smpp
        slot: int | None = None
        try:
            slot = self.slots.hold(self.core.db, self.holder, self.ttl)
            # The slot alone decides whether the session may be bound (a heartbeat that
            # cannot be written stops the claims, not the bind: MO are still stored).
            self._slot_held(now, slot)
            held = leases.acquire(self.core.db, self.name, self.holder, self.ttl, state={
                "bound": bound, "binds": self.session.binds,
                "slot": None if slot is None else slot + 1, "slots": smpp.binds,
                "standby": slot is None,
                "smsc": f"{smpp.host}:{smpp.port}", "in_flight": self._in_flight(),
                "segments_per_second": round(rate, 1)})
        except Exception as exc:
            self._outage.failed(exc)
            held = False
        else:
            self._outage.succeeded()
        if not held:
            self._lapsed(now)
        elif slot is None:
            self._standing_by(now, sent)
        else:
            self._held(now, sent)

    def _held(self, now: float, sent: int) -> None:
        self._failing = False
        self._last = (now, sent)
        self._next = now + self.timings.heartbeat_interval
        was_valid = self.valid()
        if not was_valid:
            # Claims made before the lapse are not sent any more (claims_valid).
            self.epoch += 1
        # From when this beat began: the row was written after that.
        self.valid_until = now + self.ttl.total_seconds() - self._margin
        if not was_valid:
            self._on_regained()

    def _slot_held(self, now: float, slot: int | None) -> None:
        if slot is None:
            self.slot = None
            return
        if slot != self.slot:
            log.info("the SMS channel holds bind %d of %d", slot + 1, self.settings.smpp.binds)
        self.slot = slot
        self._standing = False
        self._slot_until = now + self.ttl.total_seconds()

    def _standing_by(self, now: float, sent: int) -> None:
        """Every bind slot is another live channel's: no claim, no bind; a slot is looked
        for again at the next beat."""
        if not self._standing:
            self._standing = True
            log.info("the SMS channel stands by: all %d binds are held by other channels",
                     self.settings.smpp.binds)
        self._failing = False
        self._last = (now, sent)
        self._next = now + self.timings.heartbeat_interval
        self.valid_until = 0.0

    def _lapsed(self, now: float) -> None:
        interval = self.timings.heartbeat_interval
        if not self._failing:
            log.error("the SMS channel does not hold its heartbeat %s; nothing is claimed "
                      "until it does", self.name)
            self._retry = min(1.0, interval)
        else:
            self._retry = min(self._retry * 2, interval)
        self._failing = True
        self.valid_until = 0.0
        self._next = now + self._retry
