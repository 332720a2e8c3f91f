"""Counting days for reply periods: calendar days, or working days.

Saudi government offices work Sunday to Thursday; Friday and Saturday are off (Thursday
and Friday before 2013-06-28), and so are the public holidays the operator declares
(``core.calendar.holidays``), since Eid dates are set by the moon's sighting and cannot
be computed in advance. Which days work is the working calendar's answer
(``core.calendar.working``, the one the case deadlines use): the overdue rule passes it
in. Without one (tests of the counting itself) Friday, Saturday and the given holidays
are off. Pure functions of dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, Protocol

DayCountName = Literal["calendar", "working"]
DAY_COUNTS: tuple[DayCountName, ...] = ("calendar", "working")
# date.weekday(): Monday is 0, so Friday is 4 and Saturday 5.
WEEKEND = frozenset({4, 5})
ONE_DAY = timedelta(days=1)


class WorkingDays(Protocol):
    """What a day count asks a working calendar (``core.calendar.working``)."""

    def is_working_day(self, day: date) -> bool: ...


@dataclass(frozen=True)
class DayCount:
    """How a department counts its reply period: every day, or working days only."""

    working: bool = False
    holidays: frozenset[date] = frozenset()
    weekend: frozenset[int] = WEEKEND
    calendar: WorkingDays | None = None

    @classmethod
    def named(cls, name: str, holidays: Iterable[date] = (),
              calendar: WorkingDays | None = None) -> DayCount:
        """``calendar`` decides the working days when given (its own holidays included);
        else Friday, Saturday and ``holidays`` are off."""
        if name not in DAY_COUNTS:
            raise ValueError(f"day count is calendar or working, not {name!r}")
        return cls(working=name == "working", holidays=frozenset(holidays),
                   calendar=calendar)

    def counts(self, day: date) -> bool:
        """Whether ``day`` is one of the days a period counts."""
        if not self.working:
            return True
        if self.calendar is not None:
            return self.calendar.is_working_day(day)
        return day.weekday() not in self.weekend and day not in self.holidays

    def add(self, start: date, days: int) -> date:
        """The ``days``-th counted day after ``start`` (``start`` itself is not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        if not self.working:
            return start + timedelta(days=days)
        day = start
        while days:
            day += ONE_DAY
            if self.counts(day):
                days -= 1
        return day

    def latest_start(self, today: date, days: int) -> date:
        """The latest ``start`` with ``add(start, days) <= today``.

        ``add`` never decreases as ``start`` grows, so every earlier start qualifies too:
        this turns "which periods have run out" into one range condition on the start.
        """
        start = today - timedelta(days=days)  # add(start, days) >= start + days always
        while self.add(start, days) > today:
            start -= ONE_DAY
        return start
