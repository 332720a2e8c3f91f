"""Working time: the arithmetic of deadlines over one version of the working calendar.

A ``WorkingCalendar`` is built from a definition (``core.calendar.definition``: dated
weeks with their weekend and working windows, date-range overrides, holidays; local
time in the definition's zone) and answers in UTC, exactly, at minute resolution:

- **Minutes.** Every instant is taken at the next whole minute (an instant on a whole
  minute stays): a case received at 10:00:30 is counted from 10:01, a pause ending at
  10:00:01 ends at 10:01. Deadlines fall on whole minutes.
- **Hours targets** ("8h") are working minutes: the deadline is the first instant by
  which 480 working minutes have passed since the start, pauses not counted.
- **Day targets** ("3d"): each working day counts as one unit spread evenly over its
  working minutes, so a minute of a day with M working minutes is 1/M of a day. "1d"
  from Sunday 10:00 is Monday 10:00 when both days work the same hours; from Sunday
  10:00 on a 7-hour day into a Ramadan Monday of 5 hours it is the same share of
  Monday (10:00 is 150/420 of Sunday, so 150/420 of Monday's 300 minutes: 11:48 after
  rounding up to the minute). A case received outside working time (the night, the
  weekend, a holiday) is due at the end of the d-th working day; one received during
  a working day is due within the same share of the d-th working day after it.
  A pause removes exactly the working time it covers, in the same units.
- **Rounding.** Shares are kept as exact fractions; a deadline that falls inside a
  minute is rounded up to that minute's end (never early).

Each local day's windows are turned into UTC minutes once, with the days' running
totals of working minutes and of working days: a computation finds its days by binary
search on those totals and never steps minute by minute (``bench/calendar.py``).
The table is built from 2000-01-01 and grows on demand, a year at a time, up to 2200.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any, Literal
from zoneinfo import ZoneInfo

from core.platform.settings import WEEKDAYS, parse_windows

__all__ = [
    "Target",
    "Pause",
    "WorkingCalendar",
    "ORIGIN",
]

Unit = Literal["d", "h"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MINUTE = timedelta(minutes=1)
ORIGIN = date(2000, 1, 1)
LIMIT = date(2200, 1, 1)
CHUNK_DAYS = 366
# A pause is (start, end); end None: still paused.
Pause = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class Target:
    """An amount of working time: ``amount`` working days ("d") or working hours ("h"),
    possibly a fraction (the warning's share of a target)."""

    amount: Fraction
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Target:
        """ "10d" or "8h" (the form of ``voice.answer`` and the policies)."""
        value, unit = text[:-1], text[-1:]
        if unit not in ("d", "h") or not value.isdigit() or int(value) < 1:
            raise ValueError(f"{text!r} is not a target such as 10d or 8h")
        return cls(Fraction(int(value)), "d" if unit == "d" else "h")

    @classmethod
    def of(cls, value: int, unit: str) -> Target:
        return cls.parse(f"{value}{unit}")

    def share(self, percent: int) -> Target:
        """``percent`` of this target (the warning at 75%)."""
        return Target(self.amount * percent / 100, self.unit)

    def __str__(self) -> str:
        amount = self.amount
        text = str(amount.numerator) if amount.denominator == 1 else f"{float(amount):g}"
        return f"{text}{self.unit}"


def to_minute(moment: datetime) -> int:
    """Minutes since 1970 UTC, rounded up to the whole minute; naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    minutes, rest = divmod(delta, ONE_MINUTE)
    return minutes + (1 if rest else 0)


def from_minute(minute: int) -> datetime:
    return EPOCH + minute * ONE_MINUTE


@dataclass(frozen=True)
class _Table:
    """The computed days, from ORIGIN: each local day's start in UTC minutes, its
    working windows in UTC minutes, and running totals before each day (one more
    entry than days). Replaced whole when it grows, so readers never see it half
    extended."""

    starts: list[int]
    windows: list[tuple[tuple[int, int], ...]]
    minutes: list[int]
    cum_minutes: list[int]
    cum_days: list[int]


@dataclass(frozen=True)
class _Week:
    since: date
    weekend: frozenset[int]
    hours: Mapping[int, tuple[tuple[int, int], ...]]


@dataclass(frozen=True)
class _Override:
    first: date
    last: date
    hours: Mapping[int, tuple[tuple[int, int], ...]]


def _hours(spec: Mapping[str, Sequence[str]]) -> dict[int, tuple[tuple[int, int], ...]]:
    return {WEEKDAYS.index(day): tuple(parse_windows(list(texts)))
            for day, texts in spec.items()}


class WorkingCalendar:
    """One version of the working calendar, for computing and explaining deadlines.

    Immutable in meaning (built from one definition); safe to share between threads.
    """

    def __init__(self, definition: Mapping[str, Any]) -> None:
        self.definition = definition
        self.tz = ZoneInfo(definition["timezone"])
        weeks = [_Week(date.fromisoformat(week["from"]) if week.get("from") else date.min,
                       frozenset(WEEKDAYS.index(day) for day in week["weekend"]),
                       _hours(week["hours"]))
                 for week in definition["weeks"]]
        self._weeks = sorted(weeks, key=lambda week: week.since)
        if not self._weeks or self._weeks[0].since > ORIGIN:
            raise ValueError("the calendar's first week must have no start date")
        self._week_starts = [week.since for week in self._weeks]
        self._overrides = sorted(
            (_Override(date.fromisoformat(item["first"]), date.fromisoformat(item["last"]),
                       _hours(item["hours"]))
             for item in definition.get("overrides", ())),
            key=lambda item: item.first)
        self._override_starts = [item.first for item in self._overrides]
        self._holidays = frozenset(date.fromisoformat(day)
                                   for day in definition.get("holidays", ()))
        self._table = _Table([], [], [], [0], [0])
        self._lock = threading.Lock()

    # --- the days --------------------------------------------------------------------

    def local_windows(self, day: date) -> tuple[tuple[int, int], ...]:
        """``day``'s working windows as (start, end) minutes of the local day."""
        if day in self._holidays:
            return ()
        weekday = day.weekday()
        at = bisect_right(self._override_starts, day) - 1
        if at >= 0 and day <= self._overrides[at].last and weekday in self._overrides[at].hours:
            return self._overrides[at].hours[weekday]
        week = self._weeks[bisect_right(self._week_starts, day) - 1]
        if weekday in week.weekend:
            return ()
        return week.hours.get(weekday, ())

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` has any working time (not weekend, not a holiday)."""
        return bool(self.local_windows(day))

    def _utc_minute(self, day: date, minute_of_day: int) -> int:
        local = datetime.combine(day, datetime.min.time()) + minute_of_day * ONE_MINUTE
        return to_minute(local.replace(tzinfo=self.tz))

    def _grow(self, table: _Table) -> _Table:
        """The table with CHUNK_DAYS more days (under the lock, by one thread)."""
        with self._lock:
            if self._table is not table:
                return self._table
            first = ORIGIN + timedelta(days=len(table.starts))
            if first >= LIMIT:
                raise ValueError(f"no working time left before {LIMIT}")
            starts, windows, minutes = list(table.starts), list(table.windows), \
                list(table.minutes)
            cum_minutes, cum_days = list(table.cum_minutes), list(table.cum_days)
            for n in range(CHUNK_DAYS):
                day = first + timedelta(days=n)
                start = self._utc_minute(day, 0)
                local = self.local_windows(day)
                if local and self._utc_minute(day, 24 * 60) - start == 24 * 60:
                    utc = tuple((start + a, start + b) for a, b in local)
                else:  # a day of a clock change (or no work): convert each edge
                    utc = tuple((self._utc_minute(day, a), self._utc_minute(day, b))
                                for a, b in local)
                worked = sum(b - a for a, b in utc)
                starts.append(start)
                windows.append(utc)
                minutes.append(worked)
                cum_minutes.append(cum_minutes[-1] + worked)
                cum_days.append(cum_days[-1] + (1 if worked else 0))
            self._table = _Table(starts, windows, minutes, cum_minutes, cum_days)
            return self._table

    def _covering(self, minute: int) -> tuple[_Table, int]:
        """The table and the index of the local day holding ``minute``."""
        table = self._table
        while not table.starts or minute >= table.starts[-1]:
            table = self._grow(table)
        index = bisect_right(table.starts, minute) - 1
        if index < 0:
            raise ValueError(f"{from_minute(minute)} is before the calendar's range")
        return table, index

    def _reaching(self, value: int, totals: Callable[[_Table], list[int]]) -> _Table:
        """The table grown until the running ``totals`` reach ``value``."""
        table = self._table
        while totals(table)[-1] < value:
            table = self._grow(table)
        return table

    # --- positions: working time since ORIGIN, in minutes or in days -----------------

    @staticmethod
    def _worked_before(windows: tuple[tuple[int, int], ...], minute: int) -> int:
        worked = 0
        for start, end in windows:
            if minute <= start:
                break
            worked += min(end, minute) - start
        return worked

    def _minutes_at(self, minute: int) -> Fraction:
        table, i = self._covering(minute)
        return Fraction(table.cum_minutes[i] + self._worked_before(table.windows[i], minute))

    def _days_at(self, minute: int) -> Fraction:
        table, i = self._covering(minute)
        whole = table.minutes[i]
        if not whole:
            return Fraction(table.cum_days[i])
        return table.cum_days[i] + Fraction(self._worked_before(table.windows[i], minute),
                                            whole)

    @staticmethod
    def _nth_minute(windows: tuple[tuple[int, int], ...], n: int) -> int:
        """The instant by which ``n`` (>= 1) of the day's working minutes have passed."""
        for start, end in windows:
            if n <= end - start:
                return start + n
            n -= end - start
        raise AssertionError("beyond the day's working minutes")

    def _minute_of_minutes(self, position: Fraction) -> int:
        """The first instant whose position in working minutes is at least ``position``
        (> 0)."""
        wanted = -(-position.numerator // position.denominator)  # ceiling
        table = self._reaching(wanted, lambda t: t.cum_minutes)
        i = bisect_left(table.cum_minutes, wanted) - 1
        return self._nth_minute(table.windows[i], wanted - table.cum_minutes[i])

    def _minute_of_days(self, position: Fraction) -> int:
        """The first instant whose position in working days is at least ``position``
        (> 0): within the working day it falls in, or at the end of the day it ends."""
        whole, share = divmod(position, 1)
        day_number = int(whole) if share else int(whole) - 1  # 0-based working day
        table = self._reaching(day_number + 1, lambda t: t.cum_days)
        i = bisect_right(table.cum_days, day_number) - 1
        windows = table.windows[i]
        if not share:
            return windows[-1][1]
        needed = share * table.minutes[i]
        return self._nth_minute(windows, -(-needed.numerator // needed.denominator))

    def _units(self, unit: Unit) -> tuple[Callable[[int], Fraction],
                                          Callable[[Fraction], int], Fraction]:
        """Position, its inverse, and how many of the unit's positions make one target
        unit (a day is one day; an hour is 60 working minutes)."""
        if unit == "d":
            return self._days_at, self._minute_of_days, Fraction(1)
        return self._minutes_at, self._minute_of_minutes, Fraction(60)

    # --- what deadlines need ---------------------------------------------------------

    def due(self, start: datetime, target: Target,
            pauses: Iterable[Pause] = ()) -> datetime | None:
        """When ``target`` of working time has run from ``start``, the ``pauses`` not
        counted; None while a pause is still open (the clock is stopped)."""
        position, inverse, scale = self._units(target.unit)
        remaining = target.amount * scale
        cursor = to_minute(start)
        for pause_start, pause_end in sorted(pauses, key=lambda pause: pause[0]):
            end = None if pause_end is None else to_minute(pause_end)
            if end is not None and end <= cursor:
                continue
            begin = max(to_minute(pause_start), cursor)
            at_cursor = position(cursor)
            available = position(begin) - at_cursor
            if available >= remaining:
                return from_minute(inverse(at_cursor + remaining))
            remaining -= available
            if end is None:
                return None
            cursor = end
        return from_minute(inverse(position(cursor) + remaining))

    def worked(self, start: datetime, until: datetime, unit: Unit,
               pauses: Iterable[Pause] = ()) -> Fraction:
        """Working time between ``start`` and ``until`` outside the pauses, in working
        days ("d") or working hours ("h")."""
        position, _inverse, scale = self._units(unit)
        cursor, last = to_minute(start), to_minute(until)
        total = Fraction(0)
        for pause_start, pause_end in sorted(pauses, key=lambda pause: pause[0]):
            if cursor >= last:
                break
            begin = min(max(to_minute(pause_start), cursor), last)
            total += position(begin) - position(cursor)
            end = last if pause_end is None else to_minute(pause_end)
            cursor = max(cursor, min(end, last))
        if cursor < last:
            total += position(last) - position(cursor)
        return total / scale

    def consumed(self, start: datetime, now: datetime, target: Target,
                 pauses: Iterable[Pause] = ()) -> Fraction:
        """The share of ``target`` used by ``now`` (1 at the deadline, more after it)."""
        return self.worked(start, now, target.unit, pauses) / target.amount

    def add_working_days(self, moment: datetime, days: int) -> datetime:
        """``days`` working days after ``moment`` (the leadership alarm after the breach)."""
        due = self.due(moment, Target(Fraction(days), "d"))
        assert due is not None
        return due

    def is_working_time(self, moment: datetime) -> bool:
        minute = to_minute(moment)
        table, i = self._covering(minute)
        return any(start <= minute < end for start, end in table.windows[i])

    def next_working_time(self, moment: datetime) -> datetime:
        """``moment`` itself in working time, else the start of the next working window."""
        if self.is_working_time(moment):
            return moment
        minute = to_minute(moment)
        table, i = self._covering(minute)
        for start, _end in table.windows[i]:
            if start > minute:
                return from_minute(start)
        following = table.cum_days[i + 1]  # working days before the next one
        table = self._reaching(following + 1, lambda t: t.cum_days)
        j = bisect_right(table.cum_days, following) - 1
        return from_minute(table.windows[j][0][0])

    def day_minutes(self, day: date) -> int:
        """Working minutes on local ``day``."""
        return sum(end - start for start, end in self.local_windows(day))
