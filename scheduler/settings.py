"""The ``scheduler`` section: how often each job runs; the overdue rule's own keys are
the core's (``OverdueSettings``), which this extends."""

from __future__ import annotations

from datetime import time

from pydantic import Field

from core.transactions.settings import OverdueSettings


class SchedulerSettings(OverdueSettings):
    overdue_scan_seconds: int = Field(default=600, ge=5)
    # A notification still unsent this long after it was queued is expired, not sent late.
    notification_expiry_hours: float = Field(default=24.0, gt=0)
    # How often expiry and the recovery of abandoned claims run.
    maintenance_seconds: int = Field(default=60, ge=5)
    # A claim older than this belongs to a sender that died: the message is queued again.
    stale_claim_seconds: int = Field(default=300, ge=60)
    # A morning SMS to each department manager with the department's counts.
    digest_enabled: bool = False
    digest_time: time = time(8, 0)
