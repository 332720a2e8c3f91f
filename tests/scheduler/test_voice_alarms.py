"""The alarm scan as a scheduler job: under its lease, with a controlled clock; on its
timer from start to stop; its interval from the settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.platform import leases
from core.voice import alarms, deadlines
from scheduler import Scheduler
from scheduler.jobs import ALARM_JOB, LEASE_TTL
from tests.core.test_leases import holder_of_an_exited_process
from tests.core.voice.test_alarms import alarm_time, messages, office, open_case, to
from tests.scheduler.test_jobs import Clock, running, wait_for

__all__ = ["office"]  # the fixture, used by name


@pytest.fixture
def due(core, office):
    """A case whose breach is due: the clock of these tests stands at it."""
    case = open_case(core, office)
    return Clock(alarm_time(core, case, deadlines.BREACH))


def test_one_scheduler_scans_for_alarms_at_a_time_and_hands_over_when_it_stops(
        core, settings, due, office):
    first = Scheduler(core, settings, clock=due)
    second = Scheduler(core, settings, clock=due)

    assert first.scan_alarms().raised == {"warning": 1, "breach": 1}
    assert second.scan_alarms() is None  # the lease is the first's
    state = leases.current(core.db)[alarms.ALARM_LEASE]
    assert state.holder == first.holder
    assert state.state["raised"] == {"warning": 1, "breach": 1}
    assert state.state["last_scan_at"] == due.now.isoformat()

    first.stop()  # releases the lease
    later = open_case(core, office)
    due.now = alarm_time(core, later, deadlines.WARNING)
    assert second.scan_alarms().raised == {"warning": 1}
    assert len(to(core, "+966500000004")) == 1


def test_a_dead_schedulers_alarm_lease_runs_out_within_a_minute(core, settings, due):
    dead = Scheduler(core, settings, clock=due)
    dead.scan_alarms()
    survivor = Scheduler(core, settings, clock=due)

    due.now += timedelta(seconds=59)
    assert survivor.scan_alarms() is None
    due.now += timedelta(seconds=2)
    assert survivor.scan_alarms() is not None


def test_a_scheduler_restarted_after_a_crash_scans_for_alarms_at_once(core, settings, due):
    crashed = holder_of_an_exited_process()  # a scheduler of this machine, gone
    assert leases.acquire(core.db, alarms.ALARM_LEASE, crashed, LEASE_TTL, now=due.now)

    result = Scheduler(core, settings, clock=due).scan_alarms()

    assert result is not None and result.raised["breach"] == 1


def test_the_heartbeat_keeps_the_alarm_lease_through_a_long_scan(core, settings, due):
    holder, other = (Scheduler(core, settings, clock=due) for _ in range(2))
    assert holder.scan_alarms() is not None
    for _ in range(20):  # five minutes of heartbeats
        due.now += timedelta(seconds=15)
        holder.heartbeat()
        other.heartbeat()
    assert leases.current(core.db)[alarms.ALARM_LEASE].holder == holder.holder
    assert other.scan_alarms() is None


def test_start_scans_for_alarms_at_once_and_stop_releases_the_lease(core, settings, due):
    with running(Scheduler(core, settings, clock=due)) as jobs:
        wait_for(lambda: to(core, "+966500000004"), "the alarm scan did not run at start")
        assert jobs[ALARM_JOB].interval_seconds == 60
    assert alarms.ALARM_LEASE not in leases.current(core.db)
    assert len(messages(core, "voice_breach")) == 1


def test_the_alarm_interval_is_configurable_and_voice_off_schedules_no_scan(
        core, settings, due):
    every_ten = settings.model_copy(update={"scheduler": settings.scheduler.model_copy(
        update={"voice_alarm_seconds": 10})})
    with running(Scheduler(core, every_ten, clock=due)) as jobs:
        assert jobs[ALARM_JOB].interval_seconds == 10

    core.config = core.config.model_copy(update={"voice": core.config.voice.model_copy(
        update={"enabled": False})})
    off = Scheduler(core, settings, clock=due)
    with running(off) as jobs:
        assert ALARM_JOB not in jobs
        off.heartbeat()
    assert alarms.ALARM_LEASE not in leases.current(core.db)
