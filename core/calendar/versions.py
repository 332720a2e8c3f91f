"""The calendar service: versions of the working calendar, written on every change and
read by id.

A version is immutable: its ``WorkingCalendar`` is cached by id for the life of the
process (``CACHE_SIZE`` of them). The latest id is one indexed query (``max(id)``) per
call, so every process on every machine sees a new version at once, with no cache to
expire. A new version is written:

- when a holiday or an override is added or removed (``record``, in that change's own
  transaction, by ``core.calendar.holidays`` and ``core.calendar.overrides``);
- when the configuration (``calendar.*``, ``locale.timezone``) differs from the latest
  version's, the first time a case is timed under it (``current``);
- the first time one is needed at all.

Two changes at once cannot lose each other's: ``record`` locks the latest version's row
(PostgreSQL; SQLite has one writer at a time) before it reads the holidays and the
overrides, so the second writer reads the first one's change once it has committed.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.calendar.definition import configured_of, configured_part, definition
from core.calendar.models import CalendarOverride, CalendarVersion, Holiday
from core.calendar.working import WorkingCalendar
from core.platform.settings import CoreSettings

CACHE_SIZE = 32
REASON_LENGTH = 200


class _Cache:
    """Calendars by key (a version id, or an unversioned definition's JSON), the least
    recently used dropped past CACHE_SIZE."""

    def __init__(self) -> None:
        self._items: OrderedDict[object, WorkingCalendar] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: object) -> WorkingCalendar | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: object, calendar: WorkingCalendar) -> WorkingCalendar:
        with self._lock:
            self._items[key] = calendar
            self._items.move_to_end(key)
            while len(self._items) > CACHE_SIZE:
                self._items.popitem(last=False)
        return calendar


_CACHE = _Cache()


@dataclass(frozen=True)
class VersionView:
    id: int
    created_at: datetime
    reason: str


def latest_id(session: Session) -> int | None:
    """The latest version's id (None before the first one is written)."""
    return session.scalar(select(func.max(CalendarVersion.id)))


def calendar(session: Session, version_id: int) -> WorkingCalendar:
    """The working calendar of version ``version_id`` (cached: versions never change)."""
    found = _CACHE.get(version_id)
    if found is not None:
        return found
    row = session.get(CalendarVersion, version_id)
    if row is None:
        raise LookupError(f"no calendar version {version_id}")
    return _CACHE.put(version_id, WorkingCalendar(row.definition))


def view(session: Session, version_id: int) -> VersionView:
    row = session.get(CalendarVersion, version_id)
    if row is None:
        raise LookupError(f"no calendar version {version_id}")
    return VersionView(row.id, row.created_at, row.reason)


def current(session: Session, config: CoreSettings) -> tuple[int, WorkingCalendar]:
    """The latest version and its calendar, written first if there is none yet or the
    configuration differs from the latest one's (in ``session``'s transaction)."""
    latest = latest_id(session)
    if latest is not None:
        found = calendar(session, latest)
        if configured_of(dict(found.definition)) == configured_part(config):
            return latest, found
    return record(session, "configuration" if latest else "first version", config)


def for_config(session: Session, config: CoreSettings) -> WorkingCalendar:
    """The calendar in force under ``config``, without writing anything: the latest
    version when the configuration still matches it, else one built from the
    configuration and the tables (the overdue rule reads it in a read-only session)."""
    latest = latest_id(session)
    if latest is not None:
        found = calendar(session, latest)
        if configured_of(dict(found.definition)) == configured_part(config):
            return found
    built = _definition(session, configured_part(config))
    key = json.dumps(built, sort_keys=True)
    return _CACHE.get(key) or _CACHE.put(key, WorkingCalendar(built))


def record(session: Session, reason: str,
           config: CoreSettings | None = None) -> tuple[int, WorkingCalendar]:
    """Write a new version from the tables as they are in ``session`` and the
    configured part of ``config`` (by default the latest version's, for a change of
    holidays or overrides made without the configuration at hand)."""
    latest = session.scalar(select(CalendarVersion).order_by(CalendarVersion.id.desc())
                            .limit(1).with_for_update())
    if config is not None or latest is None:
        configured = configured_part(config)
    else:
        configured = configured_of(latest.definition)
    row = CalendarVersion(reason=reason[:REASON_LENGTH],
                          definition=_definition(session, configured))
    session.add(row)
    session.flush()
    return row.id, _CACHE.put(row.id, WorkingCalendar(row.definition))


def _definition(session: Session, configured: dict[str, Any]) -> dict[str, Any]:
    overrides = [{"name": row.name, "first": row.first_day.isoformat(),
                  "last": row.last_day.isoformat(), "hours": row.hours}
                 for row in session.scalars(select(CalendarOverride))]
    holidays: list[date] = list(session.scalars(select(Holiday.day)))
    return definition(configured, overrides, holidays)


def listed(session: Session, limit: int = 20) -> list[VersionView]:
    """The latest versions, newest first."""
    rows = session.scalars(select(CalendarVersion).order_by(CalendarVersion.id.desc())
                           .limit(limit))
    return [VersionView(row.id, row.created_at, row.reason) for row in rows]


def describe_days(days: list[date]) -> str:
    """"2027-03-09" or "2027-03-09 – 2027-03-11 (3 days)", for a version's reason."""
    if len(days) == 1:
        return days[0].isoformat()
    ordered = sorted(days)
    return f"{ordered[0].isoformat()} – {ordered[-1].isoformat()} ({len(days)} days)"
