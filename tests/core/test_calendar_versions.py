"""Calendar versions in the database, and a case's clock through them: written on each
change, read by id, a case timed, paused, explained and retimed after a holiday.

Runs on SQLite and, with GATEWAY_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core.calendar import holidays, overrides, versions
from core.calendar.models import CalendarVersion
from core.directory.models import Agency
from core.platform.errors import Conflict, InvalidRequest
from core.voice import deadlines, states
from core.voice.models import CaseEvent, DeadlinePolicy, VoiceCase
from tests import factories as f
from tests.conftest import make_settings

RIYADH = ZoneInfo("Asia/Riyadh")
RAMADAN_HOURS = {day: ["10:00-15:00"] for day in ("sun", "mon", "tue", "wed", "thu")}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=RIYADH).astimezone(UTC)


def local(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(RIYADH).strftime("%a %Y-%m-%d %H:%M")


def version_count(core) -> int:
    with core.db.read() as session:
        return session.scalar(select(func.count()).select_from(CalendarVersion))


def latest(core) -> CalendarVersion:
    with core.db.read() as session:
        return session.scalars(select(CalendarVersion).order_by(CalendarVersion.id.desc())
                               .limit(1)).one()


# --- versions -------------------------------------------------------------------------


def test_the_first_version_is_written_once_and_then_reused(core):
    with core.db.write.begin() as session:
        first, calendar = versions.current(session, core.config)
        again, same = versions.current(session, core.config)
    assert first == again and same is calendar
    assert latest(core).reason == "first version"
    assert latest(core).definition["weeks"][1]["from"] == "2013-06-28"


def test_a_changed_configuration_writes_a_version(core, database_url, tmp_path):
    with core.db.write.begin() as session:
        first, _ = versions.current(session, core.config)
    changed = make_settings(database_url, tmp_path, calendar={
        "working_hours": {"sun": ["08:00-12:00", "13:00-16:00"]}})
    with core.db.write.begin() as session:
        second, calendar = versions.current(session, changed)
        assert versions.current(session, changed)[0] == second
        # The old version is unchanged and still read by its id.
        assert versions.calendar(session, first).day_minutes(date(2026, 12, 6)) == 420
    assert second > first and latest(core).reason == "configuration"
    assert calendar.day_minutes(date(2026, 12, 6)) == 240 + 180


def test_a_holiday_added_or_removed_writes_a_version_a_rename_does_not(core):
    holidays.add(core.db, [date(2027, 3, 9), date(2027, 3, 10)], "عيد الفطر", core.config)
    assert latest(core).reason == "holiday added 2027-03-09 – 2027-03-10 (2 days)"
    assert latest(core).definition["holidays"] == ["2027-03-09", "2027-03-10"]
    count = version_count(core)
    holidays.add(core.db, [date(2027, 3, 9)], "عيد", core.config)
    assert version_count(core) == count
    assert holidays.remove(core.db, [date(2027, 3, 10), date(2027, 3, 11)], core.config) == 1
    assert latest(core).reason == "holiday removed 2027-03-10"
    assert latest(core).definition["holidays"] == ["2027-03-09"]
    with core.db.read() as session:
        assert not versions.for_config(session, core.config).is_working_day(date(2027, 3, 9))


def test_overrides_are_versioned_and_never_overlap(core):
    ramadan = overrides.add(core.db, date(2027, 2, 8), date(2027, 3, 9), RAMADAN_HOURS,
                            "رمضان", core.config)
    assert latest(core).reason == "override added 2027-02-08 – 2027-03-09 رمضان"
    with core.db.read() as session:
        calendar = versions.for_config(session, core.config)
        assert calendar.day_minutes(date(2027, 2, 8)) == 300
        assert [item.name for item in overrides.listed(session)] == ["رمضان"]
    with pytest.raises(Conflict):
        overrides.add(core.db, date(2027, 3, 9), date(2027, 3, 20), RAMADAN_HOURS)
    with pytest.raises(InvalidRequest):
        overrides.add(core.db, date(2027, 3, 9), date(2027, 3, 1), RAMADAN_HOURS)
    with pytest.raises(InvalidRequest):
        overrides.add(core.db, date(2027, 4, 1), date(2027, 4, 2), {"sun": ["10-15"]})
    gone = overrides.remove(core.db, ramadan, core.config)
    assert gone.first == date(2027, 2, 8)
    assert latest(core).reason.startswith("override removed 2027-02-08")
    with core.db.read() as session:
        assert versions.for_config(session, core.config).day_minutes(date(2027, 2, 8)) == 420


# --- a case's clock -------------------------------------------------------------------


@pytest.fixture
def agency(core) -> int:
    core.upsert_agency("MUN", f.agency())
    with core.db.read() as session:
        return session.scalar(select(Agency.id).where(Agency.code == "MUN"))


def new_case(core, agency: int, received: datetime, **extra) -> int:
    with core.db.write.begin() as session:
        case = VoiceCase(tracking=f"9{received:%d%H%M}", case_type="complaint",
                         state=states.RECEIVED, agency_id=agency, channel="web",
                         language="ar", text="حفرة في الطريق", cycle=1,
                         received_at=received, cycle_started_at=received, escalation=0,
                         updated_at=received, **extra)
        with session.no_autoflush:
            deadlines.time_new_case(session, core.config, case, received)
        session.add(case)
        session.flush()
        _event(session, case, "file", None, states.RECEIVED, received)
        return case.id


def _event(session, case: VoiceCase, action: str, before: str | None, after: str,
           now: datetime) -> None:
    session.add(CaseEvent(case_id=case.id, at=now, actor_role="system", action=action,
                          from_state=before, to_state=after, cycle=case.cycle))


def move(core, case_id: int, to: str, now: datetime) -> VoiceCase:
    with core.db.write.begin() as session:
        case = session.get(VoiceCase, case_id)
        before, case.state = case.state, to
        _event(session, case, "move", before, to, now)
        deadlines.retime(session, core.config, case, now)
    return case


def test_a_case_is_timed_by_the_emirates_default_policy(core, agency):
    case_id = new_case(core, agency, at("2026-12-06T10:00"))  # Sunday
    with core.db.read() as session:
        case = session.get(VoiceCase, case_id)
        policy = session.get(DeadlinePolicy, case.policy_id)
        assert deadlines.scope_of(policy) == "emirate default"
        assert local(case.acknowledge_due) == "Mon 2026-12-07 10:00"  # 1d
        assert local(case.answer_due) == "Sun 2026-12-20 10:00"  # 10d
        # The warning at 75% of 10 working days comes first.
        assert local(case.next_alarm_at) == "Tue 2026-12-15 13:30"  # 7.5d
        times = deadlines.alarm_times(session, core.config, case)
        assert local(times.leadership) == "Wed 2026-12-23 10:00"


def test_the_most_specific_policy_wins(core, agency):
    with core.db.write.begin() as session:
        deadlines.set_policy(session, agency, None, None, "2d", "5d")
        typed = deadlines.set_policy(session, agency, None, "complaint", "4h", "3d")
        other = deadlines.set_policy(session, agency, None, "suggestion", "1d", "20d")
        found = deadlines.policy_for(session, core.config, agency, None, "complaint")
        assert found.id == typed.id != other.id
        assert deadlines.scope_of(found) == "agency type"
        again = deadlines.set_policy(session, agency, None, "complaint", "8h", "4d")
        assert deadlines.policy_for(session, core.config, agency, None, "complaint").id \
            == again.id
        assert session.get(DeadlinePolicy, typed.id).superseded_at is not None
        fallback = deadlines.policy_for(session, core.config, agency, None, "enquiry")
        assert (fallback.answer_value, fallback.answer_unit) == (5, "d")


def test_the_clock_pauses_while_the_case_awaits_the_citizen(core, agency):
    case_id = new_case(core, agency, at("2026-12-06T10:00"))
    move(core, case_id, states.IN_PROGRESS, at("2026-12-06T11:00"))
    paused = move(core, case_id, states.AWAITING_CITIZEN, at("2026-12-07T10:00"))
    assert paused.answer_due is None and paused.next_alarm_at is None
    assert paused.paused_since == at("2026-12-07T10:00")
    resumed = move(core, case_id, states.IN_PROGRESS, at("2026-12-09T10:00"))
    # Two working days (Mon 10:00 to Wed 10:00) were paused: due two days later.
    assert local(resumed.answer_due) == "Tue 2026-12-22 10:00"
    assert resumed.paused_since is None
    with core.db.read() as session:
        case = session.get(VoiceCase, case_id)
        told = deadlines.explain(session, core.config, case, at("2026-12-10T10:00"))
    assert told.policy_scope == "emirate default" and told.answer_target == "10d"
    assert told.pauses == [(at("2026-12-07T10:00"), at("2026-12-09T10:00"))]
    assert told.worked == 2 and told.worked_percent == 20
    assert told.answer_due == resumed.answer_due
    assert told.calendar_reason == "first version"
    assert set(told.as_dict()) >= {"policy_scope", "calendar_version", "pauses", "alarms"}


def test_an_answered_case_keeps_its_deadline_and_has_no_alarm(core, agency):
    case_id = new_case(core, agency, at("2026-12-06T10:00"))
    answered = move(core, case_id, states.ANSWERED, at("2026-12-08T10:00"))
    assert local(answered.answer_due) == "Sun 2026-12-20 10:00"
    assert answered.next_alarm_at is None


def test_a_holiday_retimes_the_open_cases_once(core, agency):
    open_id = new_case(core, agency, at("2026-12-06T10:00"))
    paused_id = new_case(core, agency, at("2026-12-06T10:01"))
    move(core, paused_id, states.AWAITING_CITIZEN, at("2026-12-06T12:00"))
    done_id = new_case(core, agency, at("2026-12-06T10:02"))
    move(core, done_id, states.ANSWERED, at("2026-12-06T12:00"))
    with core.db.read() as session:
        assert not deadlines.outdated(session)
    holidays.add(core.db, [date(2026, 12, 14)], "يوم", core.config)
    with core.db.read() as session:
        assert deadlines.outdated(session)

    result = deadlines.recompute_open(core.db, core.config, batch=1,
                                      now=at("2026-12-07T09:00"))

    assert (result.retimed, result.batches) == (2, 2)
    with core.db.read() as session:
        assert not deadlines.outdated(session)
        case = session.get(VoiceCase, open_id)
        assert case.calendar_version == result.version
        assert local(case.answer_due) == "Mon 2026-12-21 10:00"
        assert session.get(VoiceCase, paused_id).answer_due is None
        assert session.get(VoiceCase, done_id).calendar_version < result.version
        [event] = session.scalars(select(CaseEvent).where(
            CaseEvent.case_id == open_id, CaseEvent.action == deadlines.RETIMED)).all()
        assert event.detail["to_version"] == result.version
        assert event.detail["from_version"] < result.version
    assert deadlines.recompute_open(core.db, core.config).retimed == 0
    # The paused case resumes under the new calendar.
    resumed = move(core, paused_id, states.IN_PROGRESS, at("2026-12-06T13:00"))
    assert local(resumed.answer_due) == "Mon 2026-12-21 11:01"


def test_next_working_time_follows_the_latest_calendar(core):
    holidays.add(core.db, [date(2026, 12, 6)], "", core.config)
    with core.db.read() as session:
        assert local(deadlines.next_working_time(session, core.config,
                                                 at("2026-12-04T10:00"))) \
            == "Mon 2026-12-07 07:30"


# --- the scheduler's recomputation ----------------------------------------------------


def test_the_scheduler_retimes_after_a_new_version_once_on_one_machine(core, agency,
                                                                        settings):
    from core.operations.upkeep import RECOMPUTE_LEASE
    from core.platform import leases
    from scheduler.jobs import Scheduler

    now = at("2026-12-07T09:00")
    case_id = new_case(core, agency, at("2026-12-06T10:00"))
    first = Scheduler(core, settings, clock=lambda: now)
    first.recompute_deadlines()  # the first version: nothing to retime, marked done
    assert first.recompute_deadlines() is None

    holidays.add(core.db, [date(2026, 12, 14)], "", core.config)
    other = Scheduler(core, settings, clock=lambda: now)
    assert leases.acquire(core.db, RECOMPUTE_LEASE, other.holder, other.lease_ttl, now=now)
    assert first.recompute_deadlines() is None  # another machine is at it
    leases.release(core.db, RECOMPUTE_LEASE, other.holder)

    result = first.recompute_deadlines()
    assert (result.retimed, result.complete) == (1, True)
    assert first.recompute_deadlines() is None and other.recompute_deadlines() is None
    with core.db.read() as session:
        assert local(session.get(VoiceCase, case_id).answer_due) == "Mon 2026-12-21 10:00"
    assert RECOMPUTE_LEASE not in leases.current(core.db)  # given up after the run


def test_a_lost_lease_stops_the_run_and_the_next_carries_on(core, agency):
    for minute in range(3):
        new_case(core, agency, at(f"2026-12-06T10:0{minute}"))
    holidays.add(core.db, [date(2026, 12, 14)], "", core.config)
    answers = iter([True, False])
    stopped = deadlines.recompute_open(core.db, core.config, batch=1,
                                       keep_going=lambda: next(answers))
    assert (stopped.retimed, stopped.complete) == (1, False)
    with core.db.read() as session:
        assert versions.awaiting_recompute(session) == stopped.version
    rest = deadlines.recompute_open(core.db, core.config, batch=1)
    assert (rest.retimed, rest.complete) == (2, True)
    with core.db.read() as session:
        assert versions.awaiting_recompute(session) is None


@pytest.mark.postgres
def test_two_changes_at_once_both_reach_the_latest_version(core):
    """``record`` locks the latest version's row before reading the tables: a second
    change waits for the first to commit and then includes it (PostgreSQL; SQLite has
    one writer at a time anyway)."""
    import threading
    import time

    from core.calendar.models import Holiday

    with core.db.write.begin() as session:
        versions.current(session, core.config)
    first = core.db.write.begin()
    session = first.__enter__()
    session.add(Holiday(day=date(2027, 3, 9), name=""))
    session.flush()
    versions.record(session, "holiday added 2027-03-09")
    second = threading.Thread(target=holidays.add,
                              args=(core.db, [date(2027, 3, 10)], "", core.config))
    second.start()
    time.sleep(0.5)
    assert second.is_alive(), "the second change waits for the first"
    first.__exit__(None, None, None)
    second.join(10)
    assert latest(core).definition["holidays"] == ["2027-03-09", "2027-03-10"]


# --- the overdue rule counts the same working days ------------------------------------


def test_the_overdue_rule_counts_the_calendars_working_days(core):
    from core.transactions.overdue import load_rules

    overrides.add(core.db, date(2027, 2, 8), date(2027, 2, 14), {"mon": []}, "", core.config)
    holidays.add(core.db, [date(2027, 2, 9)], "", core.config)
    with core.db.read() as session:
        [general] = load_rules(session, core.config.model_copy(update={
            "scheduler": core.config.scheduler.model_copy(
                update={"overdue_day_count": "working"})}))
    count = general.day_count
    assert not count.counts(date(2027, 2, 8))  # the override leaves Monday without work
    assert not count.counts(date(2027, 2, 9))  # the holiday
    assert count.counts(date(2027, 2, 10))
    assert not count.counts(date(2012, 6, 7))  # a Thursday, weekend before 2013-06-28
    assert count.counts(date(2012, 6, 9))  # a Saturday, then a working day
    # Wednesday 2027-02-03 + 3 working days: Thu 4, Sun 7, Wed 10 (Mon 8, Tue 9 off).
    assert count.add(date(2027, 2, 3), 3) == date(2027, 2, 10)


def test_a_version_written_without_a_definition_reads_as_the_default_calendar(core):
    """The provisional clock wrote versions with an empty definition."""
    with core.db.write.begin() as session:
        row = CalendarVersion(reason="first version", definition={})
        session.add(row)
        session.flush()
        calendar = versions.calendar(session, row.id)
        assert calendar.day_minutes(date(2026, 12, 6)) == 420
        assert versions.current(session, core.config)[0] > row.id  # a real one written
