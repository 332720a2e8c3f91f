"""The ``scheduler`` section: how often each job runs. The overdue rule's keys and the
stale-claim age are the core's (``SchedulerBasics``), which this extends."""

from __future__ import annotations

from datetime import time
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import Field

from core.platform.settings import SchedulerBasics


class SchedulerSettings(SchedulerBasics):
    overdue_scan_seconds: int = Field(default=600, ge=5)
    # Seconds between Citizen's Voice alarm scans (one also runs at start).
    voice_alarm_seconds: int = Field(default=60, ge=5)
    # Seconds between runs closing the answered cases whose reopen window has passed.
    voice_close_seconds: int = Field(default=900, ge=5)
    # Seconds between passes fetching the phone line's voice messages into the database.
    voice_recordings_seconds: int = Field(default=30, ge=5)
    # Seconds between refreshes of the dashboards' summary (core/dashboards/summary.py):
    # the figures are at most this far behind (and the time a refresh takes).
    dashboards_seconds: int = Field(default=300, ge=5, le=900)
    # A notification still unsent this long after it was queued is expired, not sent late.
    notification_expiry_hours: float = Field(default=24.0, gt=0)
    # How often expiry and the recovery of abandoned claims run.
    maintenance_seconds: int = Field(default=60, ge=5)
    # A morning SMS to each department manager with the department's counts.
    digest_enabled: bool = False
    digest_time: time = time(8, 0)


class SchedulerConfiguration(Protocol):
    """What the scheduler reads of the whole configuration."""

    @property
    def scheduler(self) -> SchedulerSettings: ...

    @property
    def tz(self) -> ZoneInfo: ...
