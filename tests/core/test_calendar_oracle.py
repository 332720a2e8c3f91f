"""An independent oracle for the working calendar: every minute of 2011-12 to 2031-12
gets a weight computed straight from the definition (numpy arrays, nothing shared with
core.calendar but the definition's JSON form), and a deadline is the first minute by
which the weights since the start, pauses zeroed, reach the target. It must agree
EXACTLY with the service on 10,000+ random cases over 2012–2030: the 2013 weekend
change, holidays, Ramadan windows, several windows a day, pauses, starts at midnight,
on the weekend and on window edges, day and hour targets, shares of a target.

The oracle's units: an hour target is 60 working minutes, each of weight 1. A day
target gives each working day one unit spread evenly over its minutes; with L the least
common multiple of all the days' working minutes, a minute of a day with M working
minutes weighs L / M (an integer), and a day target of n is n * L.

Riyadh keeps UTC+3 all year (no daylight saving since 1950s), so local minute k is
UTC minute k - 180 from the same origin. The seed is printed on failure; set
CALENDAR_ORACLE_SEED to replay one.
"""

from __future__ import annotations

import math
import os
import random
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import numpy as np
import pytest
from hijridate import Hijri

from core.calendar.working import Target, WorkingCalendar

FIRST_DAY = date(2011, 12, 1)
LAST_DAY = date(2031, 12, 31)
DAYS = (LAST_DAY - FIRST_DAY).days + 1
OFFSET = timedelta(hours=3)  # Asia/Riyadh
ORIGIN_UTC = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC) - OFFSET
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SUN_THU = ("sun", "mon", "tue", "wed", "thu")
CASES = 10_500


# --- the calendars under test (definitions, as core.calendar.definition writes them) ---


def _hijri_span(year: int, month: int, first: int, last: int) -> tuple[date, date]:
    start = Hijri(year, month, first).to_gregorian()
    end = Hijri(year, month, last).to_gregorian()
    return date(start.year, start.month, start.day), date(end.year, end.month, end.day)


def _ramadans(hours: dict[str, list[str]]) -> list[dict]:
    overrides = []
    for year in range(1432, 1453):  # 2011 ... 2031
        first, _ = _hijri_span(year, 9, 1, 1)
        shawwal, _ = _hijri_span(year, 10, 1, 1)
        overrides.append({"name": f"رمضان {year}", "first": first.isoformat(),
                          "last": (shawwal - timedelta(days=1)).isoformat(), "hours": hours})
    return overrides


def _holidays(rng: random.Random) -> list[str]:
    days: set[date] = set()
    for year in range(1432, 1453):
        fitr, _ = _hijri_span(year, 10, 1, 1)
        adha, _ = _hijri_span(year, 12, 9, 9)
        days.update(fitr + timedelta(days=n) for n in range(rng.randint(3, 9)))
        days.update(adha + timedelta(days=n) for n in range(rng.randint(4, 7)))
    for year in range(2012, 2032):
        days.add(date(year, 9, 23))
        if year >= 2022:
            days.add(date(year, 2, 22))
        days.update(date(year, rng.randint(1, 12), rng.randint(1, 28)) for _ in range(2))
    return sorted(day.isoformat() for day in days if FIRST_DAY <= day <= LAST_DAY)


def _weeks(hours: dict[str, list[str]], weekend: list[str],
           former: dict[str, list[str]]) -> list[dict]:
    return [{"from": None, "weekend": ["thu", "fri"], "hours": former},
            {"from": "2013-06-28", "weekend": weekend, "hours": hours}]


def definitions() -> dict[str, dict]:
    rng = random.Random(1447)
    usual = {day: ["07:30-14:30"] for day in SUN_THU}
    former = {day: ["07:30-14:30"] for day in ("sat", "sun", "mon", "tue", "wed")}
    split = {"sun": ["07:30-12:00", "13:00-15:00"], "mon": ["08:00-14:00"],
             "tue": ["08:00-14:00"], "wed": ["08:00-14:00"], "thu": ["08:00-12:00"]}
    split_former = {"sat": ["07:30-12:00", "13:00-15:00"], "sun": ["08:00-14:00"],
                    "mon": ["08:00-14:00"], "tue": ["08:00-14:00"], "wed": ["08:00-12:00"]}
    edges = {"sun": ["00:00-02:00", "22:00-24:00"], "mon": ["07:00-15:00"],
             "tue": ["07:00-15:00"], "wed": ["07:00-15:00"], "thu": ["07:00-15:00"],
             "sat": ["09:00-13:00"]}
    return {
        "usual": {"timezone": "Asia/Riyadh", "weeks": _weeks(usual, ["fri", "sat"], former),
                  "overrides": _ramadans({day: ["10:00-15:00"] for day in SUN_THU}),
                  "holidays": _holidays(rng)},
        "split": {"timezone": "Asia/Riyadh",
                  "weeks": _weeks(split, ["fri", "sat"], split_former),
                  "overrides": _ramadans({**{day: ["10:00-13:00", "21:00-23:30"]
                                             for day in SUN_THU},
                                          "fri": [], "sat": ["20:00-22:00"]}),
                  "holidays": _holidays(rng)},
        "edges": {"timezone": "Asia/Riyadh", "weeks": _weeks(edges, ["fri"], former),
                  "overrides": [], "holidays": _holidays(rng)},
    }


# --- the oracle -----------------------------------------------------------------------


def _minutes(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return (int(start[:2]) * 60 + int(start[3:]), int(end[:2]) * 60 + int(end[3:]))


class Oracle:
    """Per-minute weights of one definition, local minutes from FIRST_DAY 00:00."""

    def __init__(self, definition: dict) -> None:
        holidays = {date.fromisoformat(day) for day in definition["holidays"]}
        overrides = [(date.fromisoformat(o["first"]), date.fromisoformat(o["last"]),
                      o["hours"]) for o in definition["overrides"]]
        weeks = sorted(((date.fromisoformat(w["from"]) if w["from"] else date.min, w)
                        for w in definition["weeks"]), key=lambda pair: pair[0])
        self.working = np.zeros(DAYS * 1440, dtype=np.int8)
        self.day_minutes = np.zeros(DAYS, dtype=np.int64)
        self.windows: list[list[tuple[int, int]]] = []
        for n in range(DAYS):
            day = FIRST_DAY + timedelta(days=n)
            name = WEEKDAYS[day.weekday()]
            texts: list[str] = []
            if day not in holidays:
                override = next((hours for first, last, hours in overrides
                                 if first <= day <= last and name in hours), None)
                if override is not None:
                    texts = override[name]
                else:
                    week = [w for since, w in weeks if since <= day][-1]
                    if name not in week["weekend"]:
                        texts = week["hours"].get(name, [])
            spans = [_minutes(text) for text in texts]
            self.windows.append(spans)
            for start, end in spans:
                self.working[n * 1440 + start:n * 1440 + end] = 1
            self.day_minutes[n] = sum(end - start for start, end in spans)
        self.L = math.lcm(*{int(m) for m in self.day_minutes if m})
        per_minute_day = np.repeat(self.day_minutes, 1440)
        self.day_weight = np.where(self.working == 1,
                                   self.L // np.maximum(per_minute_day, 1), 0).astype(np.int64)
        self.hour_weight = self.working.astype(np.int64)

    def weights(self, unit: str) -> np.ndarray:
        return self.hour_weight if unit == "h" else self.day_weight

    def due(self, start: int, unit: str, amount: Fraction,
            pauses: list[tuple[int, int]]) -> int:
        """The first minute boundary t with the weights of [start, t) outside the pauses
        summing to at least the target."""
        scale = 60 if unit == "h" else self.L
        needed = amount * scale
        horizon = 60 * 1440
        while True:
            end = min(start + horizon, DAYS * 1440)
            slice_ = self.weights(unit)[start:end].copy()
            for a, b in pauses:
                slice_[max(a - start, 0):max(b - start, 0)] = 0
            total = np.cumsum(slice_)
            # cumsum[i] >= needed  <=>  cumsum[i] * den >= num (exact integers)
            index = int(np.searchsorted(total * needed.denominator >= needed.numerator,
                                        True))
            if index < len(total) and total[index] * needed.denominator >= needed.numerator:
                return start + index + 1
            assert end < DAYS * 1440, "the oracle's years are too few for this case"
            horizon *= 2

    def worked(self, start: int, until: int, unit: str,
               pauses: list[tuple[int, int]]) -> Fraction:
        slice_ = self.weights(unit)[start:until].copy()
        for a, b in pauses:
            slice_[max(a - start, 0):max(b - start, 0)] = 0
        return Fraction(int(slice_.sum()), 60 if unit == "h" else self.L)

    def next_working(self, minute: int) -> int:
        return minute + int(np.argmax(self.working[minute:] == 1))


def to_utc(minute: int) -> datetime:
    return ORIGIN_UTC + timedelta(minutes=minute)


def from_utc(moment: datetime) -> int:
    return int((moment - ORIGIN_UTC) / timedelta(minutes=1))


# --- random cases ---------------------------------------------------------------------


def random_start(rng: random.Random, oracle: Oracle) -> int:
    first = (date(2012, 1, 1) - FIRST_DAY).days
    last = (date(2030, 12, 31) - FIRST_DAY).days
    n = rng.randint(first, last)
    kind = rng.random()
    if kind < 0.15:
        return n * 1440  # local midnight
    if kind < 0.40 and oracle.windows[n]:
        start, end = rng.choice(oracle.windows[n])
        return n * 1440 + rng.choice((start, end, start - 1, end - 1, start + 1))
    if kind < 0.55:  # a day off: the weekend or a holiday
        while oracle.day_minutes[n]:
            n += 1
        return n * 1440 + rng.randrange(1440)
    return n * 1440 + rng.randrange(1440)


def random_pauses(rng: random.Random, start: int, oracle: Oracle) -> list[tuple[int, int]]:
    pauses = []
    cursor = start - rng.choice((0, 0, 0, 600))  # sometimes one began before the start
    for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
        a = cursor + rng.randrange(0, 8 * 1440)
        if rng.random() < 0.3:  # on a window's edge
            day = a // 1440
            if oracle.windows[day]:
                a = day * 1440 + rng.choice(oracle.windows[day])[rng.randrange(2)]
        b = a + rng.choice((1, 30, 419, 1440, rng.randrange(1, 6 * 1440)))
        pauses.append((a, b))
        cursor = b + rng.randrange(0, 2 * 1440)
    return pauses


@pytest.fixture(scope="module")
def calendars() -> dict[str, tuple[WorkingCalendar, Oracle]]:
    return {name: (WorkingCalendar(definition), Oracle(definition))
            for name, definition in definitions().items()}


def test_the_service_agrees_with_the_minute_by_minute_oracle(calendars):
    seed = int(os.environ.get("CALENDAR_ORACLE_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    names = sorted(calendars)
    checked = 0
    for number in range(CASES):
        name = names[number % len(names)]
        service, oracle = calendars[name]
        unit = rng.choice(("d", "h"))
        amount = Fraction(rng.randint(1, 15) if unit == "d" else rng.randint(1, 80))
        if rng.random() < 0.2:  # the warning's share of a target
            amount = amount * rng.choice((50, 75, 90, 99)) / 100
        start = random_start(rng, oracle)
        pauses = random_pauses(rng, start, oracle)
        expected = oracle.due(start, unit, amount, pauses)
        got = service.due(to_utc(start), Target(amount, unit),
                          [(to_utc(a), to_utc(b)) for a, b in pauses])
        assert got is not None and from_utc(got) == expected, (
            f"seed {seed}, case {number} ({name}): {amount}{unit} from {to_utc(start)} "
            f"with pauses {[(str(to_utc(a)), str(to_utc(b))) for a, b in pauses]}: "
            f"service {got}, oracle {to_utc(expected)}")
        if number % 5 == 0:
            until = start + rng.randrange(1, 20 * 1440)
            assert service.worked(to_utc(start), to_utc(until), unit,
                                  [(to_utc(a), to_utc(b)) for a, b in pauses]) \
                == oracle.worked(start, until, unit, pauses), (
                f"seed {seed}, case {number} ({name}): worked until {to_utc(until)}")
            assert from_utc(service.next_working_time(to_utc(until))) \
                == oracle.next_working(until), f"seed {seed}, case {number}: next working"
        checked += 1
    assert checked >= 10_000
