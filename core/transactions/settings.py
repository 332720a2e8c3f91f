"""The settings of transaction follow-up: the inquiry limits and the overdue rule.

``OverdueSettings`` is the rule's part of the ``scheduler`` section; the scheduler extends
it with its timers (``scheduler/settings.py``).
"""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field

from core.platform.settings import Section


class InquirySettings(Section):
    # Failed inquiries one requester may make in the window before being refused.
    max_failures: int = Field(default=10, ge=1)
    failure_window_seconds: int = Field(default=900, ge=10)


class OverdueSettings(Section):
    """The overdue rule's keys of the ``scheduler`` section (the scheduler adds its timers)."""

    overdue_reply_days: int = Field(default=10, ge=1, le=365)
    overdue_repeat_days: int = Field(default=3, ge=1, le=365)
    # How reply periods count where a department does not say: "calendar" or "working"
    # days (Friday, Saturday and the holidays of `gateway holidays` off).
    overdue_day_count: Literal["calendar", "working"] = "calendar"
    # Overdue messages (first and reminders) go from this local time on their day: managers
    # are staff, told at the start of the working day, not at the first scan after midnight.
    overdue_send_at: time = time(8, 0)


