"""How fast the SMS channel polls, retries, reconnects and beats (short in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.messaging.retry import RetrySchedule
from core.platform.settings import CoreSettings


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

    def retry_schedule(self) -> RetrySchedule:
        """The outbox's one backoff schedule, with these knobs: ``retry_backoff`` after the
        first failed attempt, doubling, at most ``retry_backoff_max``; an SMS is tried
        again as long as the failures are temporary (no last attempt)."""
        return RetrySchedule(first=timedelta(seconds=self.retry_backoff),
                             most=timedelta(seconds=self.retry_backoff_max),
                             max_attempts=None)

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


def timings_for(settings: CoreSettings) -> Timings:
    """The production timings, with the stale-claim age the operator configured."""
    return Timings(stale_claims_after=timedelta(
        seconds=settings.scheduler.stale_claim_seconds))
