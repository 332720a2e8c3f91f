"""Closing answered cases as a scheduler job: under its lease, with a controlled clock; on
its timer from start to stop; its interval from the settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.platform import leases
from core.voice import closing
from scheduler import Scheduler
from scheduler.jobs import CLOSING_JOB, LEASE_TTL
from tests.core.test_leases import holder_of_an_exited_process
from tests.core.voice.conftest import build_world
from tests.core.voice.test_closing import WINDOW_ENDS, case_row
from tests.scheduler.test_jobs import Clock, running, wait_for


@pytest.fixture
def world(core):
    return build_world(core)


@pytest.fixture
def passed():
    """The clock of these tests stands where the world's answers' reopen window ended."""
    return Clock(WINDOW_ENDS)


def test_one_scheduler_closes_at_a_time_and_hands_over_when_it_stops(
        core, settings, world, passed):
    first_case = world.walk("complaint", "answered")
    first = Scheduler(core, settings, clock=passed)
    second = Scheduler(core, settings, clock=passed)

    assert first.close_answered().closed == 1
    assert second.close_answered() is None  # the lease is the first's
    lease = leases.current(core.db)[closing.CLOSING_LEASE]
    assert lease.holder == first.holder
    assert (lease.state["closed"], lease.state["last_run_at"]) == (1, passed.now.isoformat())
    assert case_row(core, first_case).state == "closed"

    first.stop()  # releases the lease
    later = world.walk("complaint", "answered")
    passed.now += timedelta(days=1)
    assert second.close_answered().closed == 1
    assert case_row(core, later).state == "closed"


def test_a_dead_schedulers_closing_lease_runs_out_within_a_minute(core, settings, world,
                                                                  passed):
    Scheduler(core, settings, clock=passed).close_answered()
    survivor = Scheduler(core, settings, clock=passed)

    passed.now += timedelta(seconds=59)
    assert survivor.close_answered() is None
    passed.now += timedelta(seconds=2)
    assert survivor.close_answered() is not None


def test_a_scheduler_restarted_after_a_crash_closes_at_once(core, settings, world, passed):
    tracking = world.walk("complaint", "answered")
    crashed = holder_of_an_exited_process()
    assert leases.acquire(core.db, closing.CLOSING_LEASE, crashed, LEASE_TTL, now=passed.now)

    result = Scheduler(core, settings, clock=passed).close_answered()

    assert result is not None and result.closed == 1
    assert case_row(core, tracking).state == "closed"


def test_the_heartbeat_keeps_the_closing_lease(core, settings, world, passed):
    holder, other = (Scheduler(core, settings, clock=passed) for _ in range(2))
    assert holder.close_answered() is not None
    for _ in range(20):  # five minutes of heartbeats
        passed.now += timedelta(seconds=15)
        holder.heartbeat()
        other.heartbeat()
    assert leases.current(core.db)[closing.CLOSING_LEASE].holder == holder.holder
    assert other.close_answered() is None


def test_start_closes_at_once_and_stop_releases_the_lease(core, settings, world, passed):
    tracking = world.walk("complaint", "answered")
    with running(Scheduler(core, settings, clock=passed)) as jobs:
        wait_for(lambda: case_row(core, tracking).state == "closed",
                 "the closing did not run at start")
        assert jobs[CLOSING_JOB].interval_seconds == 900
    assert closing.CLOSING_LEASE not in leases.current(core.db)


def test_the_interval_is_configurable_and_voice_off_schedules_no_closing(
        core, settings, world, passed):
    hourly = settings.model_copy(update={"scheduler": settings.scheduler.model_copy(
        update={"voice_close_seconds": 3600})})
    with running(Scheduler(core, hourly, clock=passed)) as jobs:
        assert jobs[CLOSING_JOB].interval_seconds == 3600

    core.config = core.config.model_copy(update={"voice": core.config.voice.model_copy(
        update={"enabled": False})})
    tracking = world.walk("complaint", "answered")
    off = Scheduler(core, settings, clock=passed)
    with running(off) as jobs:
        assert CLOSING_JOB not in jobs
        off.heartbeat()
    assert closing.CLOSING_LEASE not in leases.current(core.db)
    assert case_row(core, tracking).state == "answered"
