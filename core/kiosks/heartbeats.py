"""Kiosk heartbeats: each terminal reports who it is and how it is, operators see which
are alive.

A kiosk posts its id, software version, printer state and the time of its last inquiry
every minute or so; the latest report per kiosk id is kept (one row, overwritten). A
kiosk that has not reported for ``SILENT_AFTER`` is shown as silent. Nothing about a
citizen travels in a heartbeat.

A kiosk id belongs to the token that first reported it: a heartbeat under another
token's name is refused (``Conflict``), so one terminal cannot pass itself off as
another on the staff page. Renaming a terminal's token means a new kiosk id (or the
old row deleted by an operator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from core.kiosks.models import KioskHeartbeat
from core.platform.db import Database, utcnow
from core.platform.errors import Conflict, InvalidRequest

SILENT_AFTER = timedelta(minutes=3)
_KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A kiosk's clock can be wrong, but not by centuries: beyond these years it is garbage.
_YEARS = range(2000, 2200)


@dataclass(frozen=True)
class KioskView:
    kiosk_id: str
    token_name: str
    version: str
    printer: str
    last_inquiry_at: datetime | None
    last_seen_at: datetime
    alive: bool
    # Wrong technician PINs the kiosk reported in this heartbeat (not kept: logged).
    pin_failures: int = 0


def _text(data: dict[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"{name} must be a string of at most {limit} characters",
                             code="invalid_field", field=name)
    if required and not value:
        raise InvalidRequest(f"{name} is required", code="missing_field", field=name)
    if "\x00" in value:
        raise InvalidRequest(f"{name} must not contain NUL characters",
                             code="invalid_field", field=name)
    return value


def _count(data: dict[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**9:
        raise InvalidRequest(f"{name} must be a whole number from 0", code="invalid_field",
                             field=name)
    return value


def _moment(data: dict[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        # Normalised here, where an offset pushing the year past 9999 overflows.
        moment = moment.astimezone(UTC) if moment and moment.tzinfo else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise InvalidRequest(f"{name} must be an ISO 8601 time with its offset",
                             code="invalid_field", field=name)
    if moment.year not in _YEARS:
        raise InvalidRequest(f"{name} must be between {_YEARS.start} and {_YEARS.stop - 1}",
                             code="invalid_field", field=name)
    return moment


def record_heartbeat(db: Database, token_name: str, data: dict[str, Any], *,
                     now: datetime | None = None) -> KioskView:
    """Keep this kiosk's latest report; bad input changes nothing."""
    kiosk_id = _text(data, "kiosk_id", 64, required=True)
    if not _KIOSK_ID.match(kiosk_id):
        raise InvalidRequest("kiosk_id: letters, digits, '.', '_' or '-'",
                             code="invalid_field", field="kiosk_id")
    seen = now or utcnow()
    values = {"token_name": token_name[:100], "version": _text(data, "version", 40),
              "printer": _text(data, "printer", 200),
              "last_inquiry_at": _moment(data, "last_inquiry_at"),
              "last_seen_at": seen}
    pin_failures = _count(data, "pin_failures")
    with db.write.begin() as session:
        row = session.get(KioskHeartbeat, kiosk_id)
        if row is not None and row.token_name != values["token_name"]:
            raise Conflict(f"kiosk_id {kiosk_id!r} is reported by another kiosk token",
                           code="kiosk_id_taken", field="kiosk_id")
        if row is None:
            row = KioskHeartbeat(kiosk_id=kiosk_id, **values)
            session.add(row)
        else:
            for name, value in values.items():
                setattr(row, name, value)
    return replace(_view(row, seen), pin_failures=pin_failures)


def kiosks(db: Database, *, now: datetime | None = None) -> list[KioskView]:
    """Every kiosk that ever reported, the silent ones first, then by id."""
    now = now or utcnow()
    with db.read() as session:
        views = [_view(row, now) for row in session.scalars(select(KioskHeartbeat))]
    return sorted(views, key=lambda view: (view.alive, view.kiosk_id))


def _view(row: KioskHeartbeat, now: datetime) -> KioskView:
    return KioskView(kiosk_id=row.kiosk_id, token_name=row.token_name, version=row.version,
                     printer=row.printer, last_inquiry_at=row.last_inquiry_at,
                     last_seen_at=row.last_seen_at,
                     alive=now - row.last_seen_at <= SILENT_AFTER)


class KioskRegistry:
    """The kiosks' heartbeats over one database: the route records, the staff page lists."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, token_name: str, data: dict[str, Any]) -> KioskView:
        return record_heartbeat(self._db, token_name, data)

    def all(self) -> list[KioskView]:
        return kiosks(self._db)
