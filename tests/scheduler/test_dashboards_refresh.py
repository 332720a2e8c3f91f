"""The dashboards' summary refreshed as a scheduler job: one machine per interval, under
its lease, with a controlled clock; the figures say when they were refreshed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.dashboards.voice import Period
from core.platform import leases
from scheduler import Scheduler
from tests.core.voice.conftest import build_world
from tests.scheduler.test_jobs import Clock

START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


@pytest.fixture
def world(core):
    return build_world(core)


def test_one_refresh_per_interval_whichever_scheduler_runs_it(core, settings, world):
    clock = Clock(START)
    world.clock = START - timedelta(hours=1)
    world.file("complaint", "MUN")
    first = Scheduler(core, settings, clock=clock)
    second = Scheduler(core, settings, clock=clock)

    done = first.refresh_dashboards()
    assert done is not None and done.cases == 1
    assert second.refresh_dashboards() is None  # the lease is the first's
    assert leases.current(core.db)["dashboards-refresh"].state["cases"] == 1

    clock.now += timedelta(minutes=2)  # the lease has run out, the interval not
    assert second.refresh_dashboards() is None
    clock.now += timedelta(seconds=settings.scheduler.dashboards_seconds)
    world.clock = clock.now - timedelta(minutes=1)
    world.file("complaint", "MUN")
    again = second.refresh_dashboards()
    assert again is not None and again.cases >= 1
    figures = core.dashboards.voice_figures(world.users["leadership"],
                                            Period(date(2026, 11, 22), date(2026, 11, 22)))
    assert figures.current.received == 2 and figures.as_of == clock.now
    first.stop()
    second.stop()
