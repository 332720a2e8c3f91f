"""Quiet hours: citizens' notifications wait out the window and go, in order, when it
opens; answers to inquiries never wait; staff wait only if the operator says so."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from core.calendar.quiet_hours import QuietHours
from core.messaging import outbox
from core.platform.settings import QuietHoursSettings
from tests.conftest import make_settings

RIYADH = ZoneInfo("Asia/Riyadh")
NIGHT = QuietHours(start=time(22), end=time(7), tz=RIYADH)


def at(clock: str, day: str = "2026-11-23") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=RIYADH)


@pytest.mark.parametrize(("clock", "held"), [
    ("21:59", False), ("22:00", True), ("23:30", True), ("00:00", True), ("06:59", True),
    ("07:00", False), ("12:00", False)])
def test_the_window_spans_midnight_in_local_time(clock, held):
    assert NIGHT.in_window(at(clock)) is held


def test_a_daytime_window_and_an_empty_one():
    lunch = QuietHours(start=time(12), end=time(13), tz=RIYADH)
    assert lunch.in_window(at("12:30")) and not lunch.in_window(at("13:00"))
    assert not QuietHours(start=time(7), end=time(7), tz=RIYADH).in_window(at("07:00"))


def add(core, key: str, audience: str, priority: int | None, created: datetime) -> int:
    with core.db.write.begin() as session:
        row = outbox.enqueue(session, cause_key=key, kind="test", audience=audience,
                             recipient="+966551234567", language="ar", body=key,
                             priority=priority, not_before=created)
        session.flush()
        return row.id


def claimed(core, now: datetime, quiet: QuietHours | None = NIGHT) -> list[str]:
    return [c.body for c in outbox.claim_due(core.db, now=now, quiet_hours=quiet)]


def test_citizen_notifications_wait_for_the_window_to_open_and_go_in_order(core):
    for n in range(3):
        add(core, f"citizen-{n}", "citizen", None, at("22:30"))
    add(core, "answer", "citizen", outbox.PRIORITY_ANSWER, at("23:00"))
    add(core, "assignment", "staff", None, at("23:05"))

    assert claimed(core, at("23:10")) == ["answer", "assignment"]
    assert claimed(core, at("06:59", "2026-11-24")) == []
    assert claimed(core, at("07:00", "2026-11-24")) == ["citizen-0", "citizen-1", "citizen-2"]


def test_staff_wait_too_when_the_operator_asks(core):
    add(core, "assignment", "staff", None, at("23:00"))
    add(core, "answer", "citizen", outbox.PRIORITY_ANSWER, at("23:00"))
    strict = QuietHours(start=time(22), end=time(7), tz=RIYADH, staff_too=True)

    assert claimed(core, at("23:10"), strict) == ["answer"]
    assert claimed(core, at("07:01", "2026-11-24"), strict) == ["assignment"]


def test_without_a_policy_nothing_is_held(core):
    add(core, "citizen", "citizen", None, at("22:30"))
    assert claimed(core, at("23:00"), None) == ["citizen"]


def test_the_policy_comes_from_the_settings(database_url, tmp_path):
    # On by default (22:00-07:00 local), as an operator gets it; the suite's own settings
    # turn it off so that nothing else depends on the hour.
    settings = make_settings(database_url, tmp_path, sms={"quiet_hours": {"enabled": True}})
    assert QuietHours.of(settings) == QuietHours(start=time(22), end=time(7), tz=RIYADH)
    assert QuietHoursSettings().enabled  # the shipped default
    off = settings.model_copy(update={"sms": settings.sms.model_copy(update={
        "quiet_hours": settings.sms.quiet_hours.model_copy(update={"enabled": False})})})
    assert QuietHours.of(off) is None
