"""The operator's list of public holidays (days off besides the weekend).

Adding or removing one writes a new version of the working calendar in the same
transaction (``core.calendar.versions``): cases are timed against versions, and the
scheduler retimes the open ones under the new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from core.calendar import versions
from core.calendar.models import Holiday
from core.platform.db import Database
from core.platform.errors import InvalidRequest
from core.platform.settings import CoreSettings

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


def add(db: Database, days: list[date], name: str = "",
        config: CoreSettings | None = None) -> Added:
    """Declare ``days`` holidays (named, e.g. "عيد الفطر"). A day already declared takes
    the new name when one is given, and is counted as renamed: never silently. A new
    calendar version is written when a day was added (a name is not part of it)."""
    added = renamed = 0
    with db.write.begin() as session:
        new_days = []
        for day in days:
            row = session.get(Holiday, day)
            if row is None:
                session.add(Holiday(day=day, name=name))
                new_days.append(day)
            elif name and row.name != name:
                row.name = name
                renamed += 1
        added = len(new_days)
        if new_days:
            session.flush()
            versions.record(session, f"holiday added {versions.describe_days(new_days)}",
                            config)
    return Added(added, renamed, len(days) - added - renamed)


def remove(db: Database, days: list[date], config: CoreSettings | None = None) -> int:
    """Working days again; how many were holidays (a new calendar version if any)."""
    with db.write.begin() as session:
        gone = list(session.scalars(select(Holiday.day).where(Holiday.day.in_(days))))
        removed = cast(CursorResult[Any], session.execute(
            delete(Holiday).where(Holiday.day.in_(gone))
            .execution_options(synchronize_session=False))).rowcount
        if removed:
            versions.record(session, f"holiday removed {versions.describe_days(gone)}",
                            config)
        return removed


def listed(db: Database, since: date | None = None) -> list[HolidayView]:
    """The declared holidays in date order, from ``since`` if given."""
    query = select(Holiday).order_by(Holiday.day)
    if since is not None:
        query = query.where(Holiday.day >= since)
    with db.read() as session:
        return [HolidayView(row.day, row.name) for row in session.scalars(query)]


def all_days(session: Session) -> frozenset[date]:
    return frozenset(session.scalars(select(Holiday.day)))
