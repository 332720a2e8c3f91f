"""The working calendar as data: what a ``CalendarVersion`` keeps, and how it is made
from the configuration (``calendar.*``, ``locale.timezone``) and the tables (holidays,
overrides).

A definition is plain JSON, everything needed to rebuild the calendar of its time::

    {"timezone": "Asia/Riyadh",
     "weeks": [{"from": null, "weekend": ["thu", "fri"], "hours": {"sat": [...], ...}},
               {"from": "2013-06-28", "weekend": ["fri", "sat"], "hours": {"sun": [...]}}],
     "overrides": [{"name": "رمضان", "first": "2027-02-08", "last": "2027-03-09",
                    "hours": {"sun": ["10:00-15:00"], ...}}],
     "holidays": ["2027-03-10", ...]}

**Dated weeks.** Saudi Arabia's weekend was Thursday–Friday until 2013-06-28, Friday–
Saturday since. ``calendar.weekend`` and ``calendar.working_hours`` configure the week
from that day on; before it the week keeps Thursday and Friday off and its working days
keep their configured hours, Saturday (not configured, a weekend day now) taking the
hours of the first configured working day (Sunday's). A working day that
``calendar.working_hours`` leaves out takes the same hours: every day that is not in
the weekend works, unless configured with no windows (``sat: []``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from core.platform.settings import WEEKDAYS, CalendarSettings, CoreSettings, LocaleSettings

# The day Saudi Arabia's weekend moved from Thursday–Friday to Friday–Saturday.
WEEKEND_MOVED = date(2013, 6, 28)
FORMER_WEEKEND = ("thu", "fri")
# The order in which a working day with no configured hours looks for some to take.
WEEK_ORDER = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _week(since: date | None, weekend: Iterable[str],
          configured: dict[str, list[str]]) -> dict[str, Any]:
    off = [day for day in WEEK_ORDER if day in set(weekend)]
    usual = next(configured[day] for day in WEEK_ORDER if configured.get(day))
    hours = {day: list(configured.get(day, usual))
             for day in WEEK_ORDER if day not in off}
    return {"from": since.isoformat() if since else None, "weekend": off, "hours": hours}


def configured_part(config: CoreSettings | None) -> dict[str, Any]:
    """The part of a definition the configuration decides: the zone and the weeks (the
    defaults of ``calendar.*`` and ``locale.timezone`` when no configuration is given)."""
    calendar = config.calendar if config else CalendarSettings()
    timezone = config.locale.timezone if config else LocaleSettings().timezone
    hours = {day: list(windows) for day, windows in calendar.working_hours.items()}
    return {"timezone": timezone,
            "weeks": [_week(None, FORMER_WEEKEND, hours),
                      _week(WEEKEND_MOVED, calendar.weekend, hours)]}


def definition(configured: dict[str, Any], overrides: Iterable[dict[str, Any]],
               holidays: Iterable[date]) -> dict[str, Any]:
    """A whole definition: the configured part, the overrides, the holidays."""
    return {**configured,
            "overrides": sorted(overrides, key=lambda item: item["first"]),
            "holidays": sorted(day.isoformat() for day in holidays)}


def configured_of(stored: dict[str, Any]) -> dict[str, Any]:
    """The configured part of a stored definition (to compare with the configuration)."""
    return {"timezone": stored.get("timezone"), "weeks": stored.get("weeks")}


__all__ = ["WEEKDAYS", "WEEKEND_MOVED", "configured_part", "definition", "configured_of"]
