"""When callers may be put through to an employee: working days and hours, local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkingHours:
    days: frozenset[str]
    start: time
    end: time
    tz: ZoneInfo

    def open_at(self, moment: datetime) -> bool:
        """Whether ``moment`` (aware; naive is UTC) falls on a working day, in the hours."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(self.tz)
        return (WEEKDAYS[local.weekday()] in self.days
                and self.start <= local.time().replace(tzinfo=None) < self.end)
