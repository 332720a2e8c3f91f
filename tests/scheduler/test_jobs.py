"""The scheduler's jobs with a controlled clock, and its start/stop around APScheduler."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.messaging import outbox
from core.messaging.models import Notification, NotificationStatus
from core.platform import leases
from core.transactions import overdue
from scheduler import Scheduler
from scheduler.jobs import LEASE_TTL
from tests import factories as f
from tests.core.test_leases import holder_of_an_exited_process
from tests.core.test_overdue import issue, overdue_messages

RIYADH = ZoneInfo("Asia/Riyadh")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 12, 9, 0, tzinfo=RIYADH))


@contextmanager
def running(scheduler: Scheduler) -> Iterator[dict]:
    """The scheduler started for the block (its queued jobs by name), stopped after it."""
    scheduler.start()
    try:
        yield {job.name: job for job in scheduler._queue.jobs()}
    finally:
        scheduler.stop()


def test_one_scheduler_scans_at_a_time_and_hands_over_when_it_stops(reference, settings,
                                                                   clock):
    issue(reference, "4480001", "2026-11-01")
    first = Scheduler(reference, settings, clock=clock)
    second = Scheduler(reference, settings, clock=clock)

    assert first.scan_overdue().notified == 1
    assert second.scan_overdue() is None  # the lease is the first's
    state = leases.current(reference.db)[overdue.SCAN_LEASE]
    assert state.holder == first.holder and state.state["notified"] == 1

    first.stop()  # releases the lease
    clock.now += timedelta(days=3)
    assert second.scan_overdue().reminded == 1
    assert len(overdue_messages(reference)) == 2


def test_a_dead_schedulers_lease_runs_out_within_a_minute_whatever_the_scan_interval(
        reference, settings, clock):
    assert settings.scheduler.overdue_scan_seconds == 600
    issue(reference, "4480002", "2026-11-01")
    dead = Scheduler(reference, settings, clock=clock)
    dead.scan_overdue()
    survivor = Scheduler(reference, settings, clock=clock)

    clock.now += timedelta(seconds=59)
    assert survivor.scan_overdue() is None
    clock.now += timedelta(seconds=2)  # a minute without a heartbeat
    assert survivor.scan_overdue() is not None


def test_the_heartbeat_keeps_the_lease_through_a_long_scan(reference, settings, clock):
    holder, other = (Scheduler(reference, settings, clock=clock) for _ in range(2))
    assert holder.scan_overdue() is not None
    for _ in range(20):  # five minutes of heartbeats, as during a slow scan
        clock.now += timedelta(seconds=15)
        assert holder.heartbeat()
        assert not other.heartbeat()
    assert leases.current(reference.db)[overdue.SCAN_LEASE].holder == holder.holder


def test_a_scheduler_restarted_after_a_crash_scans_at_once(reference, settings, clock):
    issue(reference, "4480005", "2026-11-01")
    crashed = holder_of_an_exited_process()  # a scheduler of this machine, gone
    assert leases.acquire(reference.db, overdue.SCAN_LEASE, crashed, LEASE_TTL, now=clock.now)

    result = Scheduler(reference, settings, clock=clock).scan_overdue()

    assert result is not None and result.notified == 1


class RecordingScheduler(Scheduler):
    """Keeps what each overdue scan returned, to wait for a scan rather than sleep."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scans: list[overdue.ScanResult | None] = []

    def scan_overdue(self) -> overdue.ScanResult | None:
        result = super().scan_overdue()
        self.scans.append(result)
        return result


def wait_for(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_standby_that_takes_the_lease_over_scans_at_once(reference, settings, clock):
    issue(reference, "4480006", "2026-11-01")
    # Held by a scheduler on another machine that is about to stop renewing it. The clock
    # is ours: the lease runs out when the test says so, however late the threads run.
    assert leases.acquire(reference.db, overdue.SCAN_LEASE, "scheduler@elsewhere:1:abc123",
                          LEASE_TTL, now=clock.now)
    standby = RecordingScheduler(reference, settings, clock=clock)
    standby.heartbeat_seconds = 0.2
    standby.start()
    try:
        wait_for(lambda: standby.scans, "the scan at start did not run")
        assert standby.scans == [None]  # the lease was taken
        assert not overdue_messages(reference)

        clock.now += LEASE_TTL  # the other machine's last renewal is a lease's life ago
        wait_for(lambda: overdue_messages(reference), "the standby did not scan on taking over")
        # The scan commits its messages before it returns its result: wait for the result.
        wait_for(lambda: len(standby.scans) == 2, "the takeover scan did not return")
        # The heartbeat took the lease and ran the scan now, not at the 600 s interval.
        assert [bool(result) for result in standby.scans] == [False, True]
        assert standby.scans[1].notified == 1
    finally:
        standby.stop()
    assert leases.current(reference.db).get(overdue.SCAN_LEASE) is None


def test_expiry_marks_old_unsent_notifications_expired_with_the_reason(core, settings, clock):
    with core.db.write.begin() as session:
        for key, age in (("old", 25), ("fresh", 23)):
            row = outbox.enqueue(session, cause_key=key, kind="test", audience="citizen",
                                 recipient="+966551234567", language="ar", body=key)
            row.created_at = clock.now - timedelta(hours=age)
        session.flush()
        session.execute(Notification.__table__.update()
                        .where(Notification.cause_key == "old")
                        .values(last_error="SMSC: queue full", attempts=2))

    assert Scheduler(core, settings, clock=clock).expire_notifications() == 1

    with core.db.read() as session:
        rows = {n.cause_key: n for n in session.scalars(select(Notification))}
    assert rows["old"].status == NotificationStatus.EXPIRED
    assert rows["old"].last_error == ("expired: not sent within 1 day, 0:00:00 of being "
                                      "queued; last error: SMSC: queue full")
    assert rows["fresh"].status == NotificationStatus.PENDING


def test_the_expiry_age_is_configurable(core, settings, clock):
    shorter = settings.model_copy(update={"scheduler": settings.scheduler.model_copy(
        update={"notification_expiry_hours": 2})})
    with core.db.write.begin() as session:
        row = outbox.enqueue(session, cause_key="k", kind="test", audience="citizen",
                             recipient="+966551234567", language="ar", body="k")
        row.created_at = clock.now - timedelta(hours=3)

    assert Scheduler(core, shorter, clock=clock).expire_notifications() == 1


def test_abandoned_claims_are_queued_again(core, settings, clock):
    def queue(key: str) -> int:
        with core.db.write.begin() as session:
            outbox.enqueue(session, cause_key=key, kind="test", audience="citizen",
                           recipient="+966551234567", language="ar", body=key,
                           not_before=clock.now - timedelta(hours=1))
        return next(row.id for row in notifications(core) if row.body == key)

    abandoned = queue("abandoned")
    assert [c.id for c in outbox.claim_due(core.db, now=clock.now - timedelta(minutes=10))
            ] == [abandoned]
    live = queue("live")  # claimed a moment ago: its sender may still be at it
    assert [c.id for c in outbox.claim_due(core.db, now=clock.now - timedelta(seconds=5))
            ] == [live]

    assert Scheduler(core, settings, clock=clock).recover_claims() == 1

    rows = {row.id: row for row in notifications(core)}
    assert (rows[abandoned].status, rows[abandoned].claimed_at, rows[abandoned].claimed_by,
            rows[abandoned].attempts, rows[abandoned].last_error) == (
        "pending", None, None, 1,
        "claim expired: the sender stopped before recording the outcome")
    assert (rows[live].status, rows[live].attempts) == ("sending", 1)
    # Queued again in its old place: the next claim takes it.
    assert [c.id for c in outbox.claim_due(core.db, now=clock.now)] == [abandoned]


def notifications(core) -> list[Notification]:
    with core.db.read() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def test_start_runs_the_scan_at_once_and_stop_waits_and_releases(reference, settings,
                                                                 clock):
    issue(reference, "4480003", "2026-11-01")
    scheduler = Scheduler(reference, settings, clock=clock)  # 09:00: messages go
    scheduler.start()
    try:
        assert scheduler.running
        wait_for(lambda: overdue_messages(reference), "the scan did not run at start")
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert overdue.SCAN_LEASE not in leases.current(reference.db)
    assert len(overdue_messages(reference)) == 1


def test_healthz_shows_the_scanning_scheduler_and_its_last_scan(reference, settings, client):
    reference.upsert_department("SECURITY", f.department(manager={"name": "فيصل"}))
    issue(reference, "4480004", "2026-01-04", department="SECURITY")
    scheduler = Scheduler(reference, settings)
    scheduler.scan_overdue()

    body = client.get("/healthz").get_json()

    assert body["overdue_scan"]["holder"] == scheduler.holder
    assert body["overdue_scan"]["live"] is True
    assert body["overdue_scan"]["without_manager"] == {"SECURITY": 1}
