"""The calendar service: versions of the working calendar, written on every change and
read by id.

A version is immutable: its ``WorkingCalendar`` is cached for the life of the process
(``CACHE_SIZE`` of them) by the definition's digest, which the version's row keeps, so
one primary-key read finds it (ids alone could name another calendar in a database that
was emptied and filled again, as the tests do). The latest id is one indexed query (``max(id)``) per
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

import hashlib
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
from core.platform.db import Database
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


def digest(stored: dict[str, Any]) -> str:
    """A definition's fingerprint: what the cache keys calendars by."""
    return hashlib.sha256(json.dumps(stored, sort_keys=True, ensure_ascii=False)
                          .encode()).hexdigest()


def calendar(session: Session, version_id: int) -> WorkingCalendar:
    """The working calendar of version ``version_id``: one primary-key read of its
    digest, and the calendar from the cache (built once per process and definition)."""
    fingerprint = session.scalar(select(CalendarVersion.digest)
                                 .where(CalendarVersion.id == version_id))
    found = _CACHE.get(fingerprint) if fingerprint else None
    if found is not None:
        return found
    row = session.get(CalendarVersion, version_id)
    if row is None:
        raise LookupError(f"no calendar version {version_id}")
    stored = row.definition or {}
    if "weeks" in stored:
        return _CACHE.put(fingerprint or digest(stored), WorkingCalendar(stored))
    # Written by the provisional clock before definitions were kept: counted by the
    # default calendar, but still showing what was stored, so that ``current`` sees
    # it differ from any configuration and writes a real version.
    found = WorkingCalendar(definition(configured_part(None), [], []))
    found.definition = stored
    return _CACHE.put(("empty", version_id), found)


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
    key = digest(built)
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
    built = _definition(session, configured)
    row = CalendarVersion(reason=reason[:REASON_LENGTH], definition=built,
                          digest=digest(built))
    session.add(row)
    session.flush()
    return row.id, _CACHE.put(row.digest, WorkingCalendar(built))


def _definition(session: Session, configured: dict[str, Any]) -> dict[str, Any]:
    overrides = [{"name": row.name, "first": row.first_day.isoformat(),
                  "last": row.last_day.isoformat(), "hours": row.hours}
                 for row in session.scalars(select(CalendarOverride))]
    holidays: list[date] = list(session.scalars(select(Holiday.day)))
    return definition(configured, overrides, holidays)


def awaiting_recompute(session: Session) -> int | None:
    """The latest version, if the open cases have not yet been retimed under it."""
    row = session.execute(select(CalendarVersion.id, CalendarVersion.recomputed_at)
                          .order_by(CalendarVersion.id.desc()).limit(1)).first()
    return row.id if row is not None and row.recomputed_at is None else None


def mark_recomputed(session: Session, version_id: int, now: datetime) -> None:
    """Record that every open case is now timed with ``version_id``."""
    row = session.get(CalendarVersion, version_id)
    if row is not None and row.recomputed_at is None:
        row.recomputed_at = now


def listed(session: Session, limit: int = 20) -> list[VersionView]:
    """The latest versions, newest first."""
    rows = session.scalars(select(CalendarVersion).order_by(CalendarVersion.id.desc())
                           .limit(limit))
    return [VersionView(row.id, row.created_at, row.reason) for row in rows]


@dataclass(frozen=True)
class InForce:
    """What ``gateway calendar show`` prints: the calendar in force and its history."""

    definition: dict[str, Any]
    history: list[VersionView]
    awaiting_recompute: bool


def in_force(db: Database, config: CoreSettings, limit: int = 10) -> InForce:
    """The calendar the configuration and the tables make now (written as a version if
    it differs from the latest), the latest versions, and whether the open cases still
    wait to be retimed under the latest."""
    with db.write.begin() as session:
        _id, found = current(session, config)
        return InForce(dict(found.definition), listed(session, limit),
                       awaiting_recompute(session) is not None)


def describe_days(days: list[date]) -> str:
    """"2027-03-09" or "2027-03-09 – 2027-03-11 (3 days)", for a version's reason."""
    if len(days) == 1:
        return days[0].isoformat()
    ordered = sorted(days)
    return f"{ordered[0].isoformat()} – {ordered[-1].isoformat()} ({len(days)} days)"
