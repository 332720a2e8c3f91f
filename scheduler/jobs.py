"""The scheduler's jobs: the overdue scan, the Citizen's Voice alarm scan, closing answered
cases, notification expiry, abandoned-claim recovery, retiming the open cases after a
calendar change, and the optional daily digest.

Each job is a method that does one pass and says what it did, so tests (and an operator's
shell) call them directly with a controlled clock; ``start`` only puts them on a timer.

Several schedulers may run (one per gateway machine). The overdue scan runs in one place
at a time, under the lease ``overdue-scan`` (core.leases). The lease is short
(``LEASE_TTL``) and renewed on a heartbeat of its own (``LEASE_HEARTBEAT_SECONDS``),
whatever the scan interval and however long a scan takes; the others skip their turn
and try for the lease at each heartbeat. If the holder dies, another machine takes over
within ``LEASE_TTL``, and a process restarted on the same machine, in the same pid
namespace, at once (the dead holder's pid is gone: ``leases.reclaimable``); whoever
takes the lease over scans at once, as at start. Even without the lease a cycle could
not be sent twice (``core.overdue``). The alarm scan (every
``scheduler.voice_alarm_seconds``, while ``voice.enabled``) runs the same way under a
lease of its own, ``voice-alarms``, renewed by the same heartbeat; it too is exactly once
without the lease (``core.voice.alarms``). So does the closing of answered cases whose
reopen window has passed (every ``scheduler.voice_close_seconds``, lease
``voice-closing``; once without the lease too: ``core.voice.closing``). The voice
messages left on the phone line are fetched from Twilio into the database (every
``scheduler.voice_recordings_seconds``, while the IVR and voice are on) under the lease
``voice-recordings``, renewed between fetches; each is stored once without it too
(``core.voice.recordings``). The dashboards' summary is refreshed (every
``scheduler.dashboards_seconds``, while voice is on) under the lease
``dashboards-refresh``, once per interval whichever machine runs it
(``core.dashboards.summary``; idempotent without the lease too). Expiry and recovery
are single conditional updates, safe to run anywhere at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.platform import leases
from core.platform.clock import utcnow
from core.service import Core
from core.transactions import overdue
from core.voice import alarms, closing
from core.voice.attachments import MAX_FETCH_ATTEMPTS
from scheduler.job_queue import JobQueue
from scheduler.recordings import FetchFailed, FetchRefused, RecordingFetcher
from scheduler.settings import SchedulerConfiguration

log = logging.getLogger("gateway.scheduler")

# The scan lease: renewed every LEASE_HEARTBEAT_SECONDS, lost LEASE_TTL after the last
# renewal; several heartbeats fit in it, so a slow database write does not lose it.
LEASE_HEARTBEAT_SECONDS = 15
LEASE_TTL = timedelta(seconds=60)
ALARM_JOB = "voice-alarms"
CLOSING_JOB = "voice-closing"
RECORDINGS_JOB = "voice-recordings"
DASHBOARDS_JOB = "dashboards-refresh"
VOICE_DIGEST_JOB = "voice-digest"


class Scheduler:
    """``Scheduler(core, settings).start()`` ... ``.stop()``."""

    def __init__(self, core: Core, settings: SchedulerConfiguration, *,
                 clock: Callable[[], datetime] = utcnow,
                 fetcher: RecordingFetcher | None = None) -> None:
        self.upkeep = core.upkeep
        self.voice_enabled = core.config.voice.enabled
        # The phone line's voice messages, fetched when the line takes them.
        self.recordings = core.voice.recordings
        # The leaders' figures' summary (core.dashboards), refreshed while voice is on.
        self.dashboards = core.dashboards
        # The leaders' weekly digest links to the dashboard under the gateway's address.
        self.public_url: str = getattr(getattr(settings, "gateway", None), "public_url", "")
        self.voice_digest = core.config.voice.digest.enabled
        self.fetcher = fetcher if self.voice_enabled else None
        self.settings = settings.scheduler
        self._tz = settings.tz
        self._clock = clock
        self.holder = leases.holder_name("scheduler")
        self.lease_ttl = LEASE_TTL
        self.heartbeat_seconds: float = LEASE_HEARTBEAT_SECONDS
        self._holding = False
        self._holding_alarms = False
        self._holding_closing = False
        self._queue: JobQueue | None = None

    # --- the jobs ----------------------------------------------------------------------

    def scan_overdue(self) -> overdue.ScanResult | None:
        """One overdue scan, if this scheduler holds the scan lease (else None)."""
        now = self._clock()
        self._holding = self.upkeep.hold_scan_lease(self.holder, self.lease_ttl, now=now)
        if not self._holding:
            return None
        result = self.upkeep.scan_overdue(now=now)
        self.upkeep.record_scan(self.holder, self.lease_ttl, now=self._clock(),
                                state={"last_scan_at": now.isoformat(), **result.as_state()})
        if result.notified or result.reminded or result.stopped:
            log.info("overdue scan: %d first messages, %d reminders, %d clocks stopped",
                     result.notified, result.reminded, result.stopped)
        for code, count in sorted(result.without_manager.items()):
            log.warning("overdue scan: %d overdue in department %s not sent: the department "
                        "has no manager mobile", count, code)
        return result

    def scan_alarms(self) -> alarms.ScanResult | None:
        """One Citizen's Voice alarm scan, if this scheduler holds the alarm lease (else
        None); a line in the log when any case was due."""
        now = self._clock()
        self._holding_alarms = self.upkeep.hold_alarm_lease(self.holder, self.lease_ttl,
                                                            now=now)
        if not self._holding_alarms:
            return None
        result = self.upkeep.scan_alarms(now=now)
        self.upkeep.record_alarm_scan(self.holder, self.lease_ttl, now=self._clock(),
                                      state={"last_scan_at": now.isoformat(),
                                             **result.as_state()})
        if result.due:
            log.info("%s", result.summary())
        for level, count in sorted(result.unreachable.items()):
            log.warning("voice alarms: %d %s alarms raised with nobody to tell: no such "
                        "user with a mobile or an e-mail address", count, level)
        return result

    def close_answered(self) -> closing.ClosingResult | None:
        """Close the answered cases whose reopen window has passed, if this scheduler
        holds the closing lease (else None); a line in the log when any closed."""
        now = self._clock()
        self._holding_closing = self.upkeep.hold_closing_lease(self.holder, self.lease_ttl,
                                                               now=now)
        if not self._holding_closing:
            return None
        result = self.upkeep.close_answered(now=now)
        self.upkeep.record_closing(self.holder, self.lease_ttl, now=self._clock(),
                                   state={"last_run_at": now.isoformat(),
                                          **result.as_state()})
        if result.closed:
            log.info("voice: %d answered cases closed, their reopen window passed",
                     result.closed)
        return result

    def fetch_recordings(self) -> dict[str, int] | None:
        """Fetch the voice messages due from Twilio into the database, if this scheduler
        holds (and keeps, between fetches) the recordings lease; None otherwise. Counts
        of what it did (also kept with the lease, for /healthz)."""
        if self.fetcher is None:
            return None
        now = self._clock()
        if not self.recordings.hold_lease(self.holder, self.lease_ttl, now=now):
            return None
        done = {"fetched": 0, "failed": 0, "given_up": 0}
        for pending in self.recordings.pending(now):
            try:
                content_type, data = self.fetcher.fetch(pending.source_url)
            except FetchFailed as exc:
                refused = isinstance(exc, FetchRefused)
                attempts = self.recordings.failed(pending.id, permanent=refused)
                done["failed"] += 1
                if attempts >= MAX_FETCH_ATTEMPTS:
                    done["given_up"] += 1
                    log.warning("voice message of case %s given up after %d tries: %s",
                                pending.tracking, attempts, exc)
                else:
                    log.info("voice message of case %s not fetched (try %d): %s",
                             pending.tracking, attempts, exc)
            else:
                if self.recordings.store(pending.id, content_type, data, self._clock()):
                    done["fetched"] += 1
            if not self.recordings.hold_lease(self.holder, self.lease_ttl,
                                              now=self._clock()):
                break  # another machine took over: it carries on
        self.recordings.hold_lease(self.holder, self.lease_ttl, now=self._clock(),
                                   state={"last_run_at": now.isoformat(), **done})
        if done["fetched"]:
            log.info("voice messages: %d fetched into the database", done["fetched"])
        return done

    def refresh_dashboards(self):
        """Bring the dashboards' summary up to now (the cases changed since the last
        refresh), on one machine per ``scheduler.dashboards_seconds`` (its lease, and
        the time of the last refresh wherever it ran); None when not this one's turn."""
        every = timedelta(seconds=self.settings.dashboards_seconds)
        result = self.dashboards.refresh(self.holder, self.lease_ttl, every=every,
                                         now=self._clock())
        if result is not None and result.cases:
            log.info("dashboards: %d cases refreshed (%d cycles)%s", result.cases,
                     result.facts, "" if result.complete else " (stopped: lease lost)")
        return result

    def send_voice_digests(self) -> int:
        """Queue the leaders' weekly Citizen's Voice digests when due (``voice.digest``:
        on its weekday at or after its time; once a week whichever scheduler runs it)."""
        queued = self.dashboards.send_digests(self.public_url, self.holder, self.lease_ttl,
                                              now=self._clock())
        if queued:
            log.info("%d weekly Citizen's Voice digests queued for leaders", queued)
        return queued

    def heartbeat(self) -> bool:
        """Renew the scan leases (the overdue scan's; the alarm scan's and the closing's
        while voice is enabled), or take those that are free; whether we hold the overdue one now.

        Taking one over (its holder stopped or died, maybe in the middle of a scan) runs
        that scan at once rather than at the next interval.
        """
        now = self._clock()
        was_holding = self._holding
        self._holding = self.upkeep.hold_scan_lease(self.holder, self.lease_ttl, now=now)
        if self._holding and not was_holding and self._queue is not None:
            log.info("overdue scan lease taken over by %s: scanning now", self.holder)
            self._queue.run_now("overdue-scan")
        if self.voice_enabled:
            was_holding = self._holding_alarms
            self._holding_alarms = self.upkeep.hold_alarm_lease(self.holder, self.lease_ttl,
                                                                now=now)
            if self._holding_alarms and not was_holding and self._queue is not None:
                log.info("alarm scan lease taken over by %s: scanning now", self.holder)
                self._queue.run_now(ALARM_JOB)
            was_holding = self._holding_closing
            self._holding_closing = self.upkeep.hold_closing_lease(
                self.holder, self.lease_ttl, now=now)
            if self._holding_closing and not was_holding and self._queue is not None:
                log.info("closing lease taken over by %s: closing now", self.holder)
                self._queue.run_now(CLOSING_JOB)
        return self._holding

    def expire_notifications(self) -> int:
        """Mark messages unsent for ``notification_expiry_hours`` expired, with the reason."""
        age = timedelta(hours=self.settings.notification_expiry_hours)
        expired = self.upkeep.expire_undeliverable(age, now=self._clock())
        if expired:
            log.warning("%d notifications could not be sent within %s: marked expired",
                        expired, age)
        return expired

    def recover_claims(self) -> int:
        """Queue again the messages a dead sender claimed and never finished."""
        recovered = self.upkeep.recover_stale_claims(
            timedelta(seconds=self.settings.stale_claim_seconds), now=self._clock())
        if recovered:
            log.warning("%d messages claimed by a sender that stopped are queued again",
                        recovered)
        return recovered

    def send_digests(self) -> int:
        """Queue today's department digests once their time has come (if enabled)."""
        if not self.settings.digest_enabled:
            return 0
        queued = self.upkeep.send_digests(self.settings.digest_time, now=self._clock())
        if queued:
            log.info("%d daily digests queued for department managers", queued)
        return queued

    def recompute_deadlines(self):
        """Retime the open cases after the working calendar changed (a holiday added,
        Ramadan hours): on one machine at a time, under its own lease."""
        result = self.upkeep.recompute_deadlines(self.holder, self.lease_ttl,
                                                 now=self._clock())
        if result is not None and result.retimed:
            log.info("calendar version %s: %d open cases retimed%s", result.version,
                     result.retimed, "" if result.complete else " (stopped: lease lost)")
        return result

    def maintain_outbox(self) -> None:
        self.recover_claims()
        self.expire_notifications()
        # The inquiry failure counters past their window (they would start over anyway).
        self.upkeep.forget_old_failures(now=self._clock())
        # The portal's one-time codes and drafts no longer of use.
        self.upkeep.forget_old_codes(now=self._clock())

    # --- running -----------------------------------------------------------------------

    def start(self) -> None:
        """Put the jobs on their timers; the scans and the upkeep also run now."""
        queue = JobQueue(self._tz)
        queue.run_repeating(self.scan_overdue, self.settings.overdue_scan_seconds,
                            name="overdue-scan")
        if self.voice_enabled:
            queue.run_repeating(self.scan_alarms, self.settings.voice_alarm_seconds,
                                name=ALARM_JOB)
            queue.run_repeating(self.close_answered, self.settings.voice_close_seconds,
                                name=CLOSING_JOB)
            queue.run_repeating(self.refresh_dashboards, self.settings.dashboards_seconds,
                                name=DASHBOARDS_JOB)
        if self.fetcher is not None:
            queue.run_repeating(self.fetch_recordings,
                                self.settings.voice_recordings_seconds, name=RECORDINGS_JOB)
        queue.run_repeating(self.heartbeat, self.heartbeat_seconds, name="lease-heartbeat",
                            first_now=False)
        queue.run_repeating(self.maintain_outbox, self.settings.maintenance_seconds,
                            name="outbox-upkeep")
        queue.run_repeating(self.recompute_deadlines, self.settings.maintenance_seconds,
                            name="deadline-recompute")
        if self.settings.digest_enabled:
            queue.run_repeating(self.send_digests, self.settings.maintenance_seconds,
                                name="daily-digest")
        if self.voice_enabled and self.voice_digest:
            queue.run_repeating(self.send_voice_digests, self.settings.maintenance_seconds,
                                name=VOICE_DIGEST_JOB)
        queue.start()
        self._queue = queue
        log.info("scheduler started: overdue scan every %d s, outbox upkeep every %d s%s",
                 self.settings.overdue_scan_seconds, self.settings.maintenance_seconds,
                 f", alarm scan every {self.settings.voice_alarm_seconds} s"
                 if self.voice_enabled else "")

    def stop(self) -> None:
        """Let a running job finish, then give the scan leases up for another machine."""
        if self._queue is not None:
            self._queue.stop(wait=True)
            self._queue = None
        self.upkeep.release_scan_lease(self.holder)
        self._holding = False
        if self.voice_enabled:
            self.upkeep.release_alarm_lease(self.holder)
            self._holding_alarms = False
            self.upkeep.release_closing_lease(self.holder)
            self._holding_closing = False
            self.dashboards.release(self.holder)
        if self.fetcher is not None:
            self.recordings.release_lease(self.holder)
        log.info("scheduler stopped")

    @property
    def running(self) -> bool:
        return self._queue is not None and self._queue.running
