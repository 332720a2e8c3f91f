"""The scheduler's jobs: the overdue scan, notification expiry, abandoned-claim recovery,
and the optional daily digest.

Each job is a method that does one pass and says what it did, so tests (and an operator's
shell) call them directly with a controlled clock; ``start`` only puts them on a timer.

Several schedulers may run (one per gateway machine). The overdue scan runs in one place
at a time, under the lease ``overdue-scan`` (core.leases): the holder keeps renewing it
and the others skip their turn; if the holder dies its lease runs out and another takes
over. Even without the lease a cycle could not be sent twice (``core.overdue``). Expiry
and recovery are single conditional updates, safe to run anywhere at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core import digest, leases, outbox, overdue
from core.db import utcnow
from core.service import Core
from core.settings import Settings
from scheduler.job_queue import JobQueue

log = logging.getLogger("gateway.scheduler")


class Scheduler:
    """``Scheduler(core, settings).start()`` ... ``.stop()``."""

    def __init__(self, core: Core, settings: Settings, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.core = core
        self.settings = settings.scheduler
        self._tz = settings.tz
        self._clock = clock
        self.holder = leases.holder_name("scheduler")
        # Long enough to survive a slow scan; short enough for a quick takeover.
        self.lease_ttl = timedelta(seconds=max(3 * self.settings.overdue_scan_seconds, 120))
        self._queue: JobQueue | None = None

    # --- the jobs ----------------------------------------------------------------------

    def scan_overdue(self) -> overdue.ScanResult | None:
        """One overdue scan, if this scheduler holds the scan lease (else None)."""
        db, now = self.core.db, self._clock()
        if not leases.acquire(db, overdue.SCAN_LEASE, self.holder, self.lease_ttl, now=now):
            return None
        result = overdue.scan(db, self.core.config, now=now)
        leases.renew(db, overdue.SCAN_LEASE, self.holder, self.lease_ttl, now=self._clock(),
                     state={"last_scan_at": now.isoformat(), **result.as_state()})
        if result.notified or result.reminded or result.stopped:
            log.info("overdue scan: %d first messages, %d reminders, %d clocks stopped",
                     result.notified, result.reminded, result.stopped)
        for code, count in sorted(result.without_manager.items()):
            log.warning("overdue scan: %d overdue in department %s not sent: the department "
                        "has no manager mobile", count, code)
        return result

    def expire_notifications(self) -> int:
        """Mark messages unsent for ``notification_expiry_hours`` expired, with the reason."""
        age = timedelta(hours=self.settings.notification_expiry_hours)
        expired = outbox.expire_undeliverable(self.core.db, age, now=self._clock())
        if expired:
            log.warning("%d notifications could not be sent within %s: marked expired",
                        expired, age)
        return expired

    def recover_claims(self) -> int:
        """Queue again the messages a dead sender claimed and never finished."""
        recovered = outbox.recover_stale_claims(
            self.core.db, timedelta(seconds=self.settings.stale_claim_seconds),
            now=self._clock())
        if recovered:
            log.warning("%d messages claimed by a sender that stopped are queued again",
                        recovered)
        return recovered

    def send_digests(self) -> int:
        """Queue today's department digests once their time has come (if enabled)."""
        if not self.settings.digest_enabled:
            return 0
        queued = digest.send_digests(self.core.db, self.core.config,
                                     self.settings.digest_time, now=self._clock())
        if queued:
            log.info("%d daily digests queued for department managers", queued)
        return queued

    def maintain_outbox(self) -> None:
        self.recover_claims()
        self.expire_notifications()

    # --- running -----------------------------------------------------------------------

    def start(self) -> None:
        """Put the jobs on their timers; the overdue scan and the upkeep also run now."""
        queue = JobQueue(self._tz)
        queue.run_repeating(self.scan_overdue, self.settings.overdue_scan_seconds,
                            name="overdue-scan")
        queue.run_repeating(self.maintain_outbox, self.settings.maintenance_seconds,
                            name="outbox-upkeep")
        if self.settings.digest_enabled:
            queue.run_repeating(self.send_digests, self.settings.maintenance_seconds,
                                name="daily-digest")
        queue.start()
        self._queue = queue
        log.info("scheduler started: overdue scan every %d s, outbox upkeep every %d s",
                 self.settings.overdue_scan_seconds, self.settings.maintenance_seconds)

    def stop(self) -> None:
        """Let a running job finish, then give the scan lease up for another machine."""
        if self._queue is not None:
            self._queue.stop(wait=True)
            self._queue = None
        leases.release(self.core.db, overdue.SCAN_LEASE, self.holder)
        log.info("scheduler stopped")

    @property
    def running(self) -> bool:
        return self._queue is not None and self._queue.running
