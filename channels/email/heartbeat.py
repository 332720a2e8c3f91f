"""The e-mail sender's heartbeat: the lease every claim of this process's SMTP sender
stands on. A sender that dies (SIGKILL, its machine gone) has its claims given back as
soon as its heartbeat is seen stopped, by any e-mail channel (at once when restarted on
the same machine; else after the heartbeat's lifetime), not after the stale-claim age.

Written by a thread of its own, so an IMAP poll or an SMTP session that takes long does
not let it lapse. The sender claims, and starts a message, only before ``valid_until``:
our clock when the last good beat began, plus the lease's lifetime, less ``margin`` (the
longest one message's SMTP exchange may take, and some). Another channel gives the claims
back no sooner than a lifetime after that beat was written, as its own clock counts
(``outbox.Heartbeats``), so a message begun before the deadline has been sent, or has
failed, by then. A beat that comes back after a lapse starts a new ``epoch``: the claims
made before it may have been given back meanwhile, and are not sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from core.platform import leases
from core.platform.faults import Outage
from core.service import Core

log = logging.getLogger(__name__)


class SenderHeartbeat:
    """``holder``'s heartbeat lease (``name``) and the claims' deadline.

    ``alive`` says whether the thread that sends still runs: a dead one's claims would
    never be recorded, so the heartbeat then lapses and another channel (or the restarted
    one) gives them back."""

    def __init__(self, core: Core, holder: str, *, interval: float, lifetime: float,
                 margin: float, alive: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        if margin >= lifetime - interval:
            raise ValueError("the heartbeat's margin leaves no time to claim between beats")
        self.core = core
        self.holder = holder
        self.name = leases.heartbeat_name(leases.EMAIL_SENDER_PREFIX, holder)
        self.interval = interval
        self.ttl = timedelta(seconds=lifetime)
        self.margin = margin
        self._alive = alive
        self._clock = clock
        self.valid_until = 0.0
        self.epoch = 0  # one more each time the deadline is gained after a lapse
        self._outage = Outage(log, "the e-mail sender's heartbeat")
        self._lapsed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Beat once (claims may be made as soon as this returns, if it was written), then
        keep beating on a thread of its own."""
        self._stop.clear()
        self.beat()
        self._thread = threading.Thread(target=self._beating, name="email-heartbeat",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop beating; no claim is made after this (the lease stays: see ``release``)."""
        self._stop.set()
        self.valid_until = 0.0
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def release(self) -> None:
        """Give the lease up (a clean stop): claims left behind go back at once."""
        leases.release(self.core.db, self.name, self.holder)

    def valid(self) -> bool:
        """Whether a claim may be made, or a claimed message begun, now."""
        return self._clock() < self.valid_until

    def claims_valid(self, epoch: int) -> bool:
        """Whether claims made under ``epoch`` may still be sent (see the module)."""
        return self.valid() and self.epoch == epoch

    def _beating(self) -> None:
        while not self._stop.wait(self.interval if not self._lapsed
                                  else min(1.0, self.interval)):
            try:
                self.beat()
            except Exception:  # never silently dead: the claims stop at the deadline anyway
                log.exception("the e-mail sender's heartbeat failed")

    def beat(self) -> None:
        """Renew the lease; move the deadline on from when this beat began."""
        now = self._clock()
        if not self._alive():
            if self.valid():
                log.error("the e-mail channel's thread has died; its sender's heartbeat "
                          "is no longer renewed")
            self.valid_until = 0.0
            return
        try:
            held = leases.acquire(self.core.db, self.name, self.holder, self.ttl,
                                  state={"component": "email-sender"})
        except Exception as exc:
            self._outage.failed(exc)
            held = False
        else:
            self._outage.succeeded()
        if self._stop.is_set():
            self.valid_until = 0.0
            return
        if not held:
            if not self._lapsed:
                log.error("the e-mail sender does not hold its heartbeat %s; nothing is "
                          "claimed until it does", self.name)
            self._lapsed = True
            self.valid_until = 0.0
            return
        self._lapsed = False
        if not self.valid():
            self.epoch += 1  # claims made before the lapse are not sent any more
        self.valid_until = now + self.ttl.total_seconds() - self.margin
