"""The operator's list of public holidays (days off besides Friday and Saturday)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from core.calendar.models import Holiday
from core.platform.db import Database
from core.platform.errors import InvalidRequest

MAX_SPAN_DAYS = 31


@dataclass(frozen=True)
class HolidayView:
    day: date
    name: str


def days_between(first: date, last: date | None = None) -> list[date]:
    """``first`` through ``last`` inclusive (a holiday such as Eid spans several days)."""
    last = last or first
    if last < first:
        raise InvalidRequest("the last day is before the first", code="invalid_field",
                             field="through")
    span = (last - first).days + 1
    if span > MAX_SPAN_DAYS:
        raise InvalidRequest(f"at most {MAX_SPAN_DAYS} days at once", code="invalid_field",
                             field="through")
    return [first + timedelta(days=n) for n in range(span)]


@dataclass(frozen=True)
class Added:
    """What ``add`` did: days made holidays, holidays given the new name, and days that
    were already holidays under that name (or kept theirs: no name was given)."""

    added: int
    renamed: int
    unchanged: int


def add(db: Database, days: list[date], name: str = "") -> Added:
    """Declare ``days`` holidays (named, e.g. "عيد الفطر"). A day already declared takes
    the new name when one is given, and is counted as renamed: never silently."""
    added = renamed = 0
    with db.write.begin() as session:
        for day in days:
            row = session.get(Holiday, day)
            if row is None:
                session.add(Holiday(day=day, name=name))
                added += 1
            elif name and row.name != name:
                row.name = name
                renamed += 1
    return Added(added, renamed, len(days) - added - renamed)


def remove(db: Database, days: list[date]) -> int:
    """Working days again; how many were holidays."""
    with db.write.begin() as session:
        return cast(CursorResult[Any], session.execute(
            delete(Holiday).where(Holiday.day.in_(days))
            .execution_options(synchronize_session=False))).rowcount


def listed(db: Database, since: date | None = None) -> list[HolidayView]:
    """The declared holidays in date order, from ``since`` if given."""
    query = select(Holiday).order_by(Holiday.day)
    if since is not None:
        query = query.where(Holiday.day >= since)
    with db.read() as session:
        return [HolidayView(row.day, row.name) for row in session.scalars(query)]


def all_days(session: Session) -> frozenset[date]:
    return frozenset(session.scalars(select(Holiday.day)))
