"""The operator's declared public holidays, date-range overrides of the working hours,
and the versions of the working calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.platform.db import utcnow
from core.platform.models import Base, BigId


class Holiday(Base):
    """A day off the operator declared (Eid dates are set by sighting): working-day reply
    periods skip it, as they skip Friday and Saturday."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class CalendarVersion(Base):
    """One version of the working calendar (weekend periods, working windows, date-range
    overrides, holidays), immutable once written: a case timed with it can be explained
    and recomputed later. A new version is written whenever the calendar changes."""

    __tablename__ = "calendar_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Why it changed ("holiday added 2027-03-30", "configuration"), for the case page.
    reason: Mapped[str] = mapped_column(String(200), default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    # sha256 of the definition (core.calendar.versions.digest): what processes cache
    # calendars by. Null on versions written before it was kept.
    digest: Mapped[str | None] = mapped_column(String(64))
    # When the open cases timed with older versions were all retimed under this one
    # (core.voice.deadlines.recompute_open): bookkeeping, not part of the calendar.
    recomputed_at: Mapped[datetime | None]


class CalendarOverride(Base):
    """Working hours of their own over a range of dates, such as Ramadan's: for each
    weekday listed, its windows replace the usual ones (an empty list: no work that day);
    weekdays not listed keep the usual rule. Holidays still win. Ranges never overlap."""

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    first_day: Mapped[date] = mapped_column(Date, index=True)
    last_day: Mapped[date] = mapped_column(Date)
    # {"sun": ["10:00-15:00"], ...}: the windows of each weekday listed, local time.
    hours: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
