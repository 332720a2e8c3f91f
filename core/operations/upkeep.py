"""The scheduler's chores, each one call into the core: the overdue scan, the Citizen's
Voice alarm scan and the closing of answered cases under their leases, outbox expiry and
recovery, old failure counters, the daily digests, retiming the open cases after the
working calendar changed. When and where they run is the scheduler's business
(scheduler/jobs.py); what each does is here."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from core.calendar import versions
from core.messaging import codes as one_time_codes
from core.messaging import outbox
from core.platform import leases
from core.platform.db import Database
from core.platform.ratelimit import DatabaseFailureCounts
from core.platform.settings import CoreSettings
from core.transactions import digest, overdue
from core.voice import alarms, closing, deadlines
from core.voice import limits as filing_limits
from core.voice.service import VoiceService

# The lease under which one machine retimes the open cases after a calendar change.
RECOMPUTE_LEASE = deadlines.RECOMPUTE_LEASE


class Upkeep:
    """The chores over one database and configuration."""

    def __init__(self, db: Database, config: CoreSettings) -> None:
        self._db = db
        self._config = config
        self._failures = DatabaseFailureCounts(db, config.inquiry.failure_window_seconds)
        self._filings = DatabaseFailureCounts(db, filing_limits.LONGEST_WINDOW)
        self._codes = DatabaseFailureCounts(db, one_time_codes.WINDOW)

    def hold_scan_lease(self, holder: str, ttl: timedelta, *, now: datetime) -> bool:
        """Take or renew the overdue scan's lease; whether ``holder`` holds it now."""
        return leases.acquire(self._db, overdue.SCAN_LEASE, holder, ttl, now=now)

    def scan_overdue(self, *, now: datetime) -> overdue.ScanResult:
        return overdue.scan(self._db, self._config, now=now)

    def record_scan(self, holder: str, ttl: timedelta, *, now: datetime,
                    state: dict[str, Any]) -> bool:
        """Renew the scan lease with the last scan's figures (shown on /healthz)."""
        return leases.renew(self._db, overdue.SCAN_LEASE, holder, ttl, now=now, state=state)

    def release_scan_lease(self, holder: str) -> bool:
        return leases.release(self._db, overdue.SCAN_LEASE, holder)

    def hold_alarm_lease(self, holder: str, ttl: timedelta, *, now: datetime) -> bool:
        """Take or renew the alarm scan's lease; whether ``holder`` holds it now."""
        return leases.acquire(self._db, alarms.ALARM_LEASE, holder, ttl, now=now)

    def scan_alarms(self, *, now: datetime) -> alarms.ScanResult:
        """Raise the Citizen's Voice alarms due (core.voice.alarms)."""
        return alarms.scan(self._db, self._config, now=now)

    def record_alarm_scan(self, holder: str, ttl: timedelta, *, now: datetime,
                          state: dict[str, Any]) -> bool:
        """Renew the alarm lease with the last scan's figures (shown on /healthz)."""
        return leases.renew(self._db, alarms.ALARM_LEASE, holder, ttl, now=now, state=state)

    def release_alarm_lease(self, holder: str) -> bool:
        return leases.release(self._db, alarms.ALARM_LEASE, holder)

    def hold_closing_lease(self, holder: str, ttl: timedelta, *, now: datetime) -> bool:
        """Take or renew the lease of closing answered cases; whether ``holder`` holds it."""
        return leases.acquire(self._db, closing.CLOSING_LEASE, holder, ttl, now=now)

    def close_answered(self, *, now: datetime) -> closing.ClosingResult:
        """Close the answered cases whose reopen window has passed (core.voice.closing)."""
        return closing.close_answered(self._db, self._config, now=now)

    def record_closing(self, holder: str, ttl: timedelta, *, now: datetime,
                       state: dict[str, Any]) -> bool:
        """Renew the closing lease with the last run's figures (shown on /healthz)."""
        return leases.renew(self._db, closing.CLOSING_LEASE, holder, ttl, now=now,
                            state=state)

    def release_closing_lease(self, holder: str) -> bool:
        return leases.release(self._db, closing.CLOSING_LEASE, holder)

    def expire_undeliverable(self, max_age: timedelta, *, now: datetime) -> int:
        return outbox.expire_undeliverable(self._db, max_age, now=now)

    def recover_stale_claims(self, older_than: timedelta, *, now: datetime) -> int:
        return outbox.recover_stale_claims(self._db, older_than, now=now)

    def forget_old_failures(self, *, now: datetime) -> int:
        """Delete the failure counters (inquiries', filings', codes') whose window has
        passed."""
        return (self._failures.forget_expired(
                    now, except_prefix=(filing_limits.KEY_PREFIX, one_time_codes.KEY_PREFIX))
                + self._filings.forget_expired(now, prefix=filing_limits.KEY_PREFIX)
                + self._codes.forget_expired(now, prefix=one_time_codes.KEY_PREFIX))

    def forget_old_codes(self, *, now: datetime) -> int:
        """Delete the one-time codes long ended and the portal's drafts left without
        their code (``core.messaging.codes``, ``core.voice.drafts``); how many."""
        voice = VoiceService(self._db, self._config)
        return voice.drafts.forget_old(now) + voice.codes.forget_old(now)

    def send_digests(self, at: time, *, now: datetime) -> int:
        return digest.send_digests(self._db, self._config, at, now=now)

    def recompute_deadlines(self, holder: str, ttl: timedelta, *,
                            now: datetime) -> deadlines.Recomputed | None:
        """After a new calendar version (a holiday, an override, the configuration):
        retime the open cases under it, on one machine (the lease ``RECOMPUTE_LEASE``,
        renewed between batches; lost, the run stops and the next holder carries on).
        None when there is nothing to do or another machine is at it. The check is one
        query on the latest version's row."""
        with self._db.read() as session:
            if versions.awaiting_recompute(session) is None:
                return None
        if not leases.acquire(self._db, RECOMPUTE_LEASE, holder, ttl, now=now):
            return None
        try:
            return deadlines.recompute_open(
                self._db, self._config, now=now,
                keep_going=lambda: leases.renew(self._db, RECOMPUTE_LEASE, holder, ttl))
        finally:
            leases.release(self._db, RECOMPUTE_LEASE, holder)
