"""The working calendar's arithmetic, edge by edge (core.calendar.working), and the
configuration it is made from. Pure: no database.

2026-12-06 is a Sunday; the default week works Sunday–Thursday 07:30–14:30 (420
minutes), local time in Riyadh (UTC+3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from core.calendar.definition import WEEKEND_MOVED, configured_part, definition
from core.calendar.overrides import parse_hours
from core.calendar.working import Target, WorkingCalendar
from core.platform.errors import InvalidRequest
from core.platform.settings import ConfigError
from gateway.settings import load_settings

RIYADH = ZoneInfo("Asia/Riyadh")
RAMADAN = {"name": "رمضان", "first": "2027-02-08", "last": "2027-03-09",
           "hours": {day: ["10:00-15:00"] for day in ("sun", "mon", "tue", "wed", "thu")}}


def at(text: str) -> datetime:
    """A Riyadh wall-clock time."""
    return datetime.fromisoformat(text).replace(tzinfo=RIYADH)


def local(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(RIYADH).strftime("%a %Y-%m-%d %H:%M")


def calendar(overrides=(), holidays=(), hours=None, weekend=None) -> WorkingCalendar:
    config = None
    if hours is not None or weekend is not None:
        config = load_settings(None, calendar={
            **({"working_hours": hours} if hours is not None else {}),
            **({"weekend": weekend} if weekend is not None else {})})
    return WorkingCalendar(definition(configured_part(config), list(overrides),
                                      [date.fromisoformat(day) for day in holidays]))


DEFAULT = calendar()
D1, D2, H1, H8 = (Target.parse(text) for text in ("1d", "2d", "1h", "8h"))


# --- day targets ----------------------------------------------------------------------


def test_one_day_from_sunday_ten_is_monday_ten():
    assert local(DEFAULT.due(at("2026-12-06T10:00"), D1)) == "Mon 2026-12-07 10:00"


def test_a_case_received_on_the_weekend_is_due_at_the_end_of_the_dth_working_day():
    assert local(DEFAULT.due(at("2026-12-04T10:00"), D1)) == "Sun 2026-12-06 14:30"
    assert local(DEFAULT.due(at("2026-12-05T23:59"), D2)) == "Mon 2026-12-07 14:30"


def test_before_the_window_counts_the_whole_day_and_its_end_the_next():
    assert local(DEFAULT.due(at("2026-12-06T00:00"), D1)) == "Sun 2026-12-06 14:30"
    assert local(DEFAULT.due(at("2026-12-06T07:30"), D1)) == "Sun 2026-12-06 14:30"
    assert local(DEFAULT.due(at("2026-12-06T14:30"), D1)) == "Mon 2026-12-07 14:30"
    assert local(DEFAULT.due(at("2026-12-06T20:00"), D1)) == "Mon 2026-12-07 14:30"


def test_thursday_afternoon_runs_into_sunday():
    assert local(DEFAULT.due(at("2026-12-03T12:00"), D1)) == "Sun 2026-12-06 12:00"


def test_holidays_are_skipped():
    eid = calendar(holidays=["2026-12-07", "2026-12-08"])
    assert local(eid.due(at("2026-12-06T10:00"), D1)) == "Wed 2026-12-09 10:00"
    assert not eid.is_working_day(date(2026, 12, 7))


def test_a_ramadan_day_counts_as_one_day_in_its_own_hours():
    ramadan = calendar([RAMADAN])
    # Sunday 10:00 is 150/420 of a normal day; 150/420 of Monday's 300 minutes is
    # 107.14..., rounded up to the minute: 10:00 + 108 = 11:48.
    assert local(ramadan.due(at("2027-02-07T10:00"), D1)) == "Mon 2027-02-08 11:48"
    assert local(ramadan.due(at("2027-02-08T12:30"), D1)) == "Tue 2027-02-09 12:30"
    assert ramadan.day_minutes(date(2027, 2, 8)) == 300
    assert not ramadan.is_working_day(date(2027, 2, 12))  # the weekend stays off


def test_the_weekend_was_thursday_and_friday_before_2013_06_28():
    assert date(2013, 6, 28) == WEEKEND_MOVED
    assert DEFAULT.is_working_day(date(2013, 6, 22))  # a Saturday, then a working day
    assert not DEFAULT.is_working_day(date(2013, 6, 20))  # a Thursday
    assert not DEFAULT.is_working_day(date(2013, 6, 29))  # Saturday, the new weekend
    assert DEFAULT.is_working_day(date(2013, 7, 4))  # Thursday works since
    assert local(DEFAULT.due(at("2012-06-06T10:00"), D1)) == "Sat 2012-06-09 10:00"
    # Wednesday 2013-06-26 + 2d: Thursday and Friday off (old), Saturday off (new).
    assert local(DEFAULT.due(at("2013-06-26T10:00"), D2)) == "Mon 2013-07-01 10:00"


# --- hour targets, windows --------------------------------------------------------------


def test_hours_are_working_minutes():
    assert local(DEFAULT.due(at("2026-12-06T10:00"), H8)) == "Mon 2026-12-07 11:00"
    assert local(DEFAULT.due(at("2026-12-06T14:00"), H1)) == "Mon 2026-12-07 08:00"


def test_several_windows_a_day():
    split = calendar(hours={"sun": ["07:30-12:00", "13:00-15:00"]})
    assert local(split.due(at("2026-12-06T11:30"), H1)) == "Sun 2026-12-06 13:30"
    assert split.day_minutes(date(2026, 12, 6)) == 390
    assert not split.is_working_time(at("2026-12-06T12:30"))
    assert local(split.next_working_time(at("2026-12-06T12:30"))) == "Sun 2026-12-06 13:00"


def test_a_window_ends_before_its_last_minute():
    assert DEFAULT.is_working_time(at("2026-12-06T07:30"))
    assert DEFAULT.is_working_time(at("2026-12-06T14:29"))
    assert not DEFAULT.is_working_time(at("2026-12-06T14:30"))
    assert local(DEFAULT.next_working_time(at("2026-12-03T14:30"))) == "Sun 2026-12-06 07:30"
    inside = at("2026-12-06T10:00:20")
    assert DEFAULT.next_working_time(inside) == inside


# --- seconds, pauses, shares -------------------------------------------------------------


def test_seconds_round_up_to_the_next_minute():
    assert local(DEFAULT.due(at("2026-12-06T10:00:30"), H1)) == "Sun 2026-12-06 11:01"
    assert DEFAULT.due(at("2026-12-06T10:00:00"), H1) == at("2026-12-06T11:00").astimezone(UTC)


def test_a_pause_removes_exactly_the_working_time_it_covers():
    start = at("2026-12-06T10:00")
    pause = (at("2026-12-06T11:00"), at("2026-12-08T09:00"))  # Sun 11:00 - Tue 09:00
    # Sunday 10-11 counts 60/420; from Tuesday 09:00 (90/420) another 360/420: Wed 08:00.
    assert local(DEFAULT.due(start, D1, [pause])) == "Wed 2026-12-09 08:00"
    # In hours: 60 minutes before, 420 after: 330 left on Tuesday, 90 on Wednesday.
    assert local(DEFAULT.due(start, H8, [pause])) == "Wed 2026-12-09 09:00"
    night = (at("2026-12-06T15:00"), at("2026-12-07T07:00"))  # outside working time
    assert DEFAULT.due(start, D1, [night]) == DEFAULT.due(start, D1)


def test_an_open_pause_stops_the_clock():
    assert DEFAULT.due(at("2026-12-06T10:00"), D1, [(at("2026-12-06T11:00"), None)]) is None
    # ... unless the target runs out before it.
    assert local(DEFAULT.due(at("2026-12-06T10:00"), H1,
                             [(at("2026-12-06T12:00"), None)])) == "Sun 2026-12-06 11:00"


def test_the_share_consumed_and_the_warning():
    start = at("2026-12-06T10:00")
    assert DEFAULT.consumed(start, at("2026-12-07T10:00"), D2) == Fraction(1, 2)
    assert DEFAULT.consumed(start, at("2026-12-06T12:20"), H8) == Fraction(140, 480)
    warning = DEFAULT.due(start, Target.parse("4d").share(75))
    assert local(warning) == "Wed 2026-12-09 10:00"
    assert str(Target.parse("10d").share(75)) == "7.5d"


def test_working_days_added_to_an_instant():
    breach = at("2026-12-06T14:30")
    assert local(DEFAULT.add_working_days(breach, 3)) == "Wed 2026-12-09 14:30"


def test_targets_parse_and_refuse():
    assert Target.parse("10d") == Target(Fraction(10), "d")
    for bad in ("10", "d", "0d", "3w", "-1h"):
        with pytest.raises(ValueError):
            Target.parse(bad)


def test_before_the_calendars_range_is_an_error():
    with pytest.raises(ValueError):
        DEFAULT.due(at("1999-12-01T10:00"), D1)


# --- configuration and overrides ------------------------------------------------------


@pytest.mark.parametrize(("hours", "weekend", "says"), [
    ({"sun": ["7:30-14:30"]}, None, "sun: '7:30-14:30' is not a window such as 07:30-14:30"),
    ({"sun": ["14:30-07:30"]}, None, "'14:30-07:30' ends before it starts"),
    ({"sun": ["07:30-12:00", "11:00-13:00"]}, None, "the windows overlap"),
    ({"sunday": ["07:30-14:30"]}, None, "'sunday' is not a weekday"),
    ({"fri": ["08:00-12:00"]}, None, "gives hours to fri, which calendar.weekend makes"),
])
def test_the_configuration_is_checked_with_the_key_named(hours, weekend, says):
    with pytest.raises(ConfigError) as error:
        load_settings(None, calendar={"working_hours": hours,
                                      **({"weekend": weekend} if weekend else {})})
    assert says in str(error.value)
    assert "calendar" in str(error.value)


def test_a_working_day_without_hours_of_its_own_takes_the_first_days():
    week = calendar(hours={"sun": ["08:00-13:00"]}, weekend=["fri"])
    assert week.day_minutes(date(2026, 12, 5)) == 300  # Saturday works, Sunday's hours
    assert week.day_minutes(date(2026, 12, 3)) == 420  # Thursday's own (the file's)


def test_override_hours_from_the_command_line():
    assert parse_hours("sun-thu=10:00-15:00") == {
        day: ["10:00-15:00"] for day in ("sun", "mon", "tue", "wed", "thu")}
    assert parse_hours("sat=; fri=16:00-18:00,20:00-22:00") == {
        "sat": [], "fri": ["16:00-18:00", "20:00-22:00"]}
    for bad in ("sun-thu", "thu-sun=10:00-12:00", "xyz=10:00-12:00", "sun=10-12"):
        with pytest.raises(InvalidRequest):
            parse_hours(bad)


def test_an_override_can_close_a_weekday():
    closed = calendar([{**RAMADAN, "hours": {"mon": []}}])
    assert not closed.is_working_day(date(2027, 2, 8))
    assert closed.day_minutes(date(2027, 2, 9)) == 420  # unlisted: the usual hours
