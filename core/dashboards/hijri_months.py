"""Hijri (Umm al-Qura) months as periods of Gregorian days, for the dashboards' period
choice: leaders count in Hijri months, the tables hold Gregorian moments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from hijridate import Gregorian, Hijri

from core.calendar.dates import HIJRI_MONTHS_AR, HIJRI_MONTHS_EN
from core.platform.errors import InvalidRequest


@dataclass(frozen=True)
class HijriMonth:
    year: int
    month: int
    first: date  # Gregorian
    last: date

    @property
    def key(self) -> str:
        """"1448-06": what a page's month list sends back."""
        return f"{self.year:04d}-{self.month:02d}"

    def name(self, lang: str) -> str:
        names = HIJRI_MONTHS_AR if lang == "ar" else HIJRI_MONTHS_EN
        return f"{names[self.month - 1]} {self.year}" + ("هـ" if lang == "ar" else " AH")


def hijri_month(year: int, month: int) -> HijriMonth:
    try:
        start = Hijri(year, month, 1)
        first = start.to_gregorian()
    except (OverflowError, ValueError) as exc:
        raise InvalidRequest("No such Hijri month.", field="month") from exc
    first_day = date(first.year, first.month, first.day)
    return HijriMonth(year, month, first_day,
                      first_day + timedelta(days=start.month_length() - 1))


def parse_month(key: str) -> HijriMonth:
    """A month as "1448-06" (digits as typed: Arabic-Indic ones are normalised first)."""
    year, _, month = key.partition("-")
    if not (year.isascii() and year.isdigit() and month.isascii() and month.isdigit()):
        raise InvalidRequest("Choose a Hijri month from the list.", field="month")
    return hijri_month(int(year), int(month))


def month_of(day: date) -> HijriMonth:
    hijri = Gregorian(day.year, day.month, day.day).to_hijri()
    return hijri_month(hijri.year, hijri.month)


def last_months(today: date, count: int) -> list[HijriMonth]:
    """The month ``today`` falls in and the ``count - 1`` before it, newest first."""
    months = [month_of(today)]
    while len(months) < count:
        months.append(month_of(months[-1].first - timedelta(days=1)))
    return months
