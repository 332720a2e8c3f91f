"""Date-range overrides of the working hours, such as Ramadan's (`gateway calendar
overrides`).

An override gives some weekdays windows of their own between two dates, inclusive:
``{"sun": ["10:00-15:00"], ..., "thu": ["10:00-15:00"]}``. A weekday it does not list
keeps the usual rule (the weekend stays off); one listed with no windows does not
work. Holidays still win. Two overrides never cover the same day, so which one applies
is never a question. Adding or removing one writes a new calendar version in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar import versions
from core.calendar.models import CalendarOverride
from core.platform.db import Database
from core.platform.errors import Conflict, InvalidRequest, NotFound
from core.platform.settings import WEEKDAYS, CoreSettings, parse_windows

MAX_SPAN_DAYS = 400


@dataclass(frozen=True)
class OverrideView:
    id: int
    name: str
    first: date
    last: date
    hours: dict[str, list[str]]


def parse_hours(text: str) -> dict[str, list[str]]:
    """The command line's form: "sun-thu=10:00-15:00" or
    "sun,mon=10:00-13:00,21:00-23:00;fri=" (a weekday with nothing after "=" does not
    work), as an override's ``hours``."""
    hours: dict[str, list[str]] = {}
    for part in filter(None, (chunk.strip() for chunk in text.split(";"))):
        days, sep, windows = part.partition("=")
        if not sep:
            raise InvalidRequest(f"{part!r} is not such as sun-thu=10:00-15:00",
                                 code="invalid_field", field="hours")
        listed = [window.strip() for window in windows.split(",") if window.strip()]
        for day in _weekdays(days.strip()):
            hours[day] = listed
    return checked_hours(hours)


def _weekdays(text: str) -> list[str]:
    order = list(WEEKDAYS[6:] + WEEKDAYS[:6])  # sun ... sat, the local week
    days: list[str] = []
    for item in text.split(","):
        first, _sep, last = item.strip().partition("-")
        if first not in order or (last and last not in order):
            raise InvalidRequest(f"{item!r} is not a weekday or a range such as sun-thu",
                                 code="invalid_field", field="hours")
        start, end = order.index(first), order.index(last or first)
        if end < start:
            raise InvalidRequest(f"{item!r} runs backwards", code="invalid_field",
                                 field="hours")
        days += order[start:end + 1]
    return days


def checked_hours(hours: dict[str, list[str]]) -> dict[str, list[str]]:
    """``hours`` validated: known weekdays, windows such as 10:00-15:00, no overlap."""
    if not hours:
        raise InvalidRequest("an override must give the hours of at least one weekday",
                             code="invalid_field", field="hours")
    for day, windows in hours.items():
        if day not in WEEKDAYS:
            raise InvalidRequest(f"{day!r} is not a weekday", code="invalid_field",
                                 field="hours")
        try:
            parse_windows(windows)
        except ValueError as exc:
            raise InvalidRequest(f"{day}: {exc}", code="invalid_field", field="hours") from None
    return hours


def add(db: Database, first: date, last: date, hours: dict[str, list[str]], name: str = "",
        config: CoreSettings | None = None) -> int:
    """Add an override from ``first`` to ``last`` inclusive; its id."""
    if last < first:
        raise InvalidRequest("the last day is before the first", code="invalid_field",
                             field="through")
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise InvalidRequest(f"at most {MAX_SPAN_DAYS} days at once", code="invalid_field",
                             field="through")
    hours = checked_hours(hours)
    with db.write.begin() as session:
        clash = session.scalar(select(CalendarOverride).where(
            CalendarOverride.first_day <= last, CalendarOverride.last_day >= first))
        if clash is not None:
            raise Conflict(f"it overlaps override {clash.id} ({clash.first_day} – "
                           f"{clash.last_day}); remove that one first")
        row = CalendarOverride(name=name, first_day=first, last_day=last, hours=hours)
        session.add(row)
        session.flush()
        versions.record(session, f"override added {first} – {last} {name}".rstrip(), config)
        return row.id


def remove(db: Database, override_id: int, config: CoreSettings | None = None) -> OverrideView:
    """Remove an override; what it was."""
    with db.write.begin() as session:
        row = session.get(CalendarOverride, override_id)
        if row is None:
            raise NotFound(f"no override {override_id}")
        gone = _view(row)
        session.delete(row)
        session.flush()
        versions.record(session, f"override removed {gone.first} – {gone.last} "
                                 f"{gone.name}".rstrip(), config)
        return gone


def listed(session: Session) -> list[OverrideView]:
    return [_view(row) for row in session.scalars(
        select(CalendarOverride).order_by(CalendarOverride.first_day))]


def all_listed(db: Database) -> list[OverrideView]:
    """Every override in date order."""
    with db.read() as session:
        return listed(session)


def _view(row: CalendarOverride) -> OverrideView:
    return OverrideView(row.id, row.name, row.first_day, row.last_day, dict(row.hours))
