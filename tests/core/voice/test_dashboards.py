"""Citizen's Voice's figures (core/dashboards) against a hand-built week whose right
answers are worked out below, in working hours of the default calendar (Sunday to
Thursday 07:30-14:30 Riyadh, 04:30-11:30 UTC) with Monday 2026-11-23 a holiday, and
targets of 2 working hours to acknowledge and 14 to answer (two working days).

The week of Sunday 2026-11-22 (all times local):

- A (MUN): received Sun 09:00, assigned 09:30 (first response 30 min, on time), paused
  awaiting the citizen Sun 10:00 to Tue 10:00 (7 working hours: 4.5 on Sunday, none on the
  holiday, 2.5 on Tuesday), answered Thu 08:30. Due Thu 09:00 (Wed 09:00 without the
  pause, Tue 16:00... without the holiday): on time; 20.5 working hours less 7 = 810 min.
- B (MUN): received Sun 09:00, assigned 12:00 (180 min: late), answered Thu 10:00 (due
  Wed 09:00: late), 22 working hours = 1320 min.
- C (MUN): received, assigned, withdrawn by the citizen: out of the figures.
- D (MUN): received, assigned, merged into A as a duplicate: out of the figures.
- F (MUN): received Sun 09:00, assigned 09:10 (10 min), answered 13:00 (240 min, on time),
  reopened Tue 09:00, started 09:30 (30 min), answered again 11:00 (120 min), rated 5.
- G (HEALTH): received Sun 09:00, assigned 09:05 (5 min), answered 11:00 (120 min), rated 3.
- H (MUN): received Sun 09:00, assigned 09:20 (20 min), never answered.
- H8, H7 (MUN): received Sun 10:00 and 10:01, never taken up.
- The alarm scan runs Wed 12:00: B, H, H8 and H7 get a warning and a breach each.
- I (MUN): received Thu 2026-12-03 08:00 (next week). P (MUN): the week before, received
  Sun 2026-11-15 09:00, answered Mon 16 09:00 (420 min, on time).

Now is Thu 2026-12-03 10:00: open H, H8, H7, I; overdue H, H8, H7; working days open:
H 8 1/7, H8 exactly 8 (the edge: 8-14), H7 a minute under 8 (4-7), I 2/7 (0-3).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from core.calendar import holidays
from core.dashboards.voice import Filters, Period, percentile
from core.platform.errors import Forbidden, InvalidRequest, NotFound
from core.voice.models import VoiceCase
from tests.conftest import make_settings
from tests.core.voice.conftest import PROOF, World, build_world

WEEK = Period(date(2026, 11, 22), date(2026, 11, 28))
NOW = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)  # Thu 10:00 in Riyadh


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A Riyadh wall-clock time in 2026 as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=3)


@pytest.fixture
def settings(database_url, tmp_path):
    return make_settings(database_url, tmp_path,
                         voice={"acknowledge": "2h", "answer": "14h",
                                "dashboard_min_cases": 2})


def at(world: World, moment: datetime) -> World:
    world.clock = moment - timedelta(minutes=5)  # the next act ticks to ``moment``
    return world


def file(world: World, moment: datetime, agency: str = "MUN") -> str:
    return at(world, moment).file("complaint", agency)


def assign(world: World, tracking: str, moment: datetime, agency: str = "MUN") -> None:
    at(world, moment).act(world.coordinator(agency), tracking, "assign",
                          user=world.specialist(agency).login)


def answer(world: World, tracking: str, moment: datetime, agency: str = "MUN", *,
           started: bool = False) -> None:
    """Taken up (unless ``started``), drafted, and answered at ``moment``."""
    if not started:
        start(world, tracking, moment - timedelta(minutes=10), agency)
    at(world, moment - timedelta(minutes=5)).act(world.specialist(agency), tracking,
                                                "answer", text="أصلح")
    at(world, moment).act(world.coordinator(agency), tracking, "approve")


def start(world: World, tracking: str, moment: datetime, agency: str = "MUN") -> None:
    at(world, moment).act(world.specialist(agency), tracking, "start")


@pytest.fixture
def week(core):
    holidays.add(core.db, [date(2026, 11, 23)], "إجازة", config=core.config)
    world = build_world(core)
    cases = {}
    cases["P"] = file(world, local(15, 9))
    assign(world, cases["P"], local(15, 9, 10))
    answer(world, cases["P"], local(16, 9))
    for name, agency in (("A", "MUN"), ("B", "MUN"), ("C", "MUN"), ("D", "MUN"),
                         ("F", "MUN"), ("G", "HEALTH"), ("H", "MUN")):
        cases[name] = file(world, local(22, 9), agency)
    cases["H8"] = file(world, local(22, 10))
    cases["H7"] = file(world, local(22, 10, 1))
    assign(world, cases["G"], local(22, 9, 5), "HEALTH")
    assign(world, cases["F"], local(22, 9, 10))
    assign(world, cases["H"], local(22, 9, 20))
    assign(world, cases["A"], local(22, 9, 30))
    start(world, cases["A"], local(22, 9, 35))
    at(world, local(22, 10)).act(world.specialist("MUN"), cases["A"], "request_info",
                                 text="أين؟")
    assign(world, cases["C"], local(22, 10, 30))
    assign(world, cases["D"], local(22, 10, 35))
    at(world, local(22, 10, 40)).act(world.coordinator("MUN"), cases["D"], "merge",
                                     into=cases["A"])
    world.voice.citizen_act(cases["C"], "withdraw", PROOF, now=local(22, 10, 45))
    answer(world, cases["G"], local(22, 11), "HEALTH")
    assign(world, cases["B"], local(22, 12))
    answer(world, cases["F"], local(22, 13))
    world.voice.citizen_act(cases["G"], "rate", PROOF, rating=3, now=local(22, 13, 30))
    world.voice.citizen_act(cases["F"], "reopen", PROOF, now=local(24, 9))
    start(world, cases["F"], local(24, 9, 30))
    world.voice.citizen_act(cases["A"], "citizen_reply", PROOF, text="أمام المدرسة",
                            now=local(24, 10))
    answer(world, cases["F"], local(24, 11), started=True)
    world.voice.citizen_act(cases["F"], "rate", PROOF, rating=5, now=local(24, 12))
    core.upkeep.scan_alarms(now=local(25, 12))
    answer(world, cases["A"], local(26, 8, 30), started=True)
    answer(world, cases["B"], local(26, 10))
    cases["I"] = file(world, local(3, 8, month=12))
    world.cases = cases
    # Some writes stamp ``updated_at`` with the machine's clock, not the test's: put every
    # case's last change at the last act, as one clock would have it.
    with core.db.write.begin() as session:
        session.execute(update(VoiceCase).values(updated_at=local(3, 8, month=12)))
    refreshed = core.dashboards.refresh("test", timedelta(minutes=1), now=NOW)
    assert refreshed is not None and refreshed.complete
    return world


def test_percentiles_interpolate_between_the_nearest_ranks():
    assert percentile([], 0.5) is None
    assert percentile([7], 0.9) == 7
    assert percentile([1, 2, 3], 0.5) == 2  # odd: the middle one
    assert percentile([1, 2, 3, 10], 0.5) == 2.5  # even: the mean of the middle two
    assert percentile([120, 120, 240, 810, 1320], 0.9) == pytest.approx(1116)


def test_the_weeks_figures_are_the_hand_worked_ones(core, week):
    leadership = week.users["leadership"]
    result = core.dashboards.voice_figures(leadership, WEEK)
    now = result.current
    assert now.received == 9  # A B C D F G H H8 H7; a reopening is no new case
    assert (now.acknowledged, now.acknowledged_on_time) == (6, 5)  # C, D out; B late
    assert now.acknowledge_on_time_pct == 83.3
    # [5, 10, 20, 30, 30, 180] minutes: even count, median (20+30)/2 = 25 min
    assert now.median_first_response_hours == round(25 / 60, 2)
    assert now.p90_first_response_hours == 1.75  # 30 + (180-30)*0.5 = 105 min
    # A 810 (on time across the pause and the holiday), B 1320 late, F 240 and 120, G 120
    assert (now.answered, now.answered_on_time, now.on_time_pct) == (5, 4, 80.0)
    assert now.median_answer_hours == 4.0  # odd count: 240 min
    assert now.p90_answer_hours == 18.6  # 810 + 0.6 * 510 = 1116 min
    assert (now.rated, now.satisfaction_mean, now.satisfied_pct, now.response_rate_pct) \
        == (2, 4.0, 50.0, 40.0)
    assert (now.reopened, now.reopen_pct) == (1, 20.0)
    assert now.escalations == {"warning": 4, "breach": 4, "leadership": 0}
    assert result.previous.received == 1 and result.previous.answered == 1
    assert result.previous.median_answer_hours == 7.0 and result.previous.on_time_pct == 100.0
    assert result.previous_period == Period(date(2026, 11, 15), date(2026, 11, 21))
    assert result.backlog.open == 4 and result.backlog.overdue == 3
    assert result.backlog.ageing == {"0-3": 1, "4-7": 1, "8-14": 2, "15-30": 0, "31+": 0}
    assert result.as_of == NOW
    health, mun = result.by_agency  # by code
    assert (mun.agency, mun.current.answered, mun.current.median_answer_hours) == \
        ("MUN", 4, 8.75)  # even: (240 + 810) / 2 min
    assert (health.agency, health.current.answered, health.backlog.open) == ("HEALTH", 1, 0)
    # An agency leader's whole is their agency's row, percentiles and all.
    assert core.dashboards.voice_figures(week.users["leader_MUN"], WEEK).current == mun.current


def test_the_league_ranks_on_medians_only_agencies_with_enough_cases(core, week):
    rows = core.dashboards.league(week.users["leadership"], WEEK)
    assert [(r.agency, r.rank, r.answered) for r in rows] == [("MUN", 1, 4),
                                                              ("HEALTH", None, 1)]
    found = core.dashboards.voice_figures(week.users["leadership"], WEEK)
    assert core.dashboards.league_of(found) == rows  # the page's: from the figures read


def test_the_lists_behind_the_figures(core, week):
    leadership = week.users["leadership"]
    c = week.cases
    late = core.dashboards.cases_behind(leadership, "answered_late", WEEK, now=NOW)
    assert [r.tracking for r in late.rows] == [c["B"]] and late.after is None
    overdue = core.dashboards.cases_behind(leadership, "overdue", WEEK, now=NOW)
    assert [r.tracking for r in overdue.rows] == [c["H"], c["H8"], c["H7"]]
    assert [r.awaits for r in overdue.rows] == ["specialist", "coordinator", "coordinator"]
    first = core.dashboards.cases_behind(leadership, "overdue", WEEK, limit=2, now=NOW)
    second = core.dashboards.cases_behind(leadership, "overdue", WEEK, after=first.after, limit=2,
                                          now=NOW)
    assert [r.tracking for r in first.rows + second.rows] == [c["H"], c["H8"], c["H7"]]
    ageing = core.dashboards.cases_behind(leadership, "ageing:8-14", WEEK, now=NOW)
    assert {r.tracking for r in ageing.rows} == {c["H"], c["H8"]}
    reopened = core.dashboards.cases_behind(leadership, "reopened", WEEK, now=NOW)
    assert [(r.tracking, r.cycle) for r in reopened.rows] == [(c["F"], 1)]
    mine = core.dashboards.late_cases(week.users["leader_MUN"], now=NOW)
    assert len(mine.rows) == 3


def test_an_agency_leader_sees_their_own_agency_only_and_others_nothing(core, week):
    leader = week.users["leader_HEALTH"]
    own = core.dashboards.voice_figures(leader, WEEK)
    assert own.current.answered == 1 and [a.agency for a in own.by_agency] == ["HEALTH"]
    asked = core.dashboards.voice_figures(leader, WEEK, Filters(agency="HEALTH"))
    assert asked.current == own.current
    # Another agency is not found, exactly as one that does not exist.
    refusals = []
    for agency in ("MUN", "NOPE"):
        with pytest.raises(NotFound) as refused:
            core.dashboards.voice_figures(leader, WEEK, Filters(agency=agency))
        refusals.append((refused.value.code, refused.value.field, refused.value.message))
        with pytest.raises(NotFound):
            core.dashboards.cases_behind(leader, "answered", WEEK, Filters(agency=agency),
                                         now=NOW)
    assert refusals[0] == refusals[1] == ("unknown_agency", "agency", "no such agency")
    for user in ("spec_MUN", "coord_EMIRATE", "admin"):
        with pytest.raises(Forbidden):
            core.dashboards.voice_figures(week.users[user], WEEK)


def test_the_refresh_is_incremental_idempotent_and_once_across_machines(core, week):
    ttl = timedelta(days=1)  # held all along by "test": "other" finds it taken
    again = core.dashboards.refresh("test", ttl, now=NOW + timedelta(minutes=1))
    assert again is not None and again.cases == 0  # nothing changed since (the overlap:
    # the changes of the last ten minutes before NOW are none here)
    leadership = week.users["leadership"]
    before = core.dashboards.voice_figures(leadership, WEEK)
    week.voice.citizen_act(week.cases["A"], "rate", PROOF, rating=4,
                           now=NOW + timedelta(hours=1))
    assert core.dashboards.refresh("other", ttl, now=NOW + timedelta(hours=2)) is None
    done = core.dashboards.refresh("test", ttl, now=NOW + timedelta(hours=2))
    assert done is not None and done.cases == 1
    after = core.dashboards.voice_figures(leadership, WEEK)
    assert (after.current.rated, after.current.satisfaction_mean) == (3, 4.0)
    assert after.as_of == NOW + timedelta(hours=2)
    with pytest.raises(InvalidRequest):  # a rebuild waits for no running refresh
        core.dashboards.rebuild(now=NOW + timedelta(hours=3))
    assert core.dashboards.release("test")
    rebuilt = core.dashboards.rebuild(now=NOW + timedelta(hours=3))
    assert rebuilt.full and (rebuilt.cases, rebuilt.facts) == (11, 12)  # F has two cycles
    assert core.dashboards.voice_figures(leadership, WEEK).current == after.current
    assert before.current.answered == after.current.answered


def test_the_trend_by_week_and_by_hijri_month(core, week):
    leadership = week.users["leadership"]
    two_weeks = Period(date(2026, 11, 15), date(2026, 11, 28))
    points = core.dashboards.trend(leadership, two_weeks, step="week")
    assert [(p.label, p.received, p.answered, p.on_time_pct, p.median_answer_hours)
            for p in points] == [("2026-11-15", 1, 1, 100.0, 7.0),
                                 ("2026-11-22", 9, 5, 80.0, 4.0)]
    months = core.dashboards.trend(leadership, two_weeks, step="hijri_month")
    assert sum(p.received for p in months) == 10
    assert all(p.label.startswith("1448-") for p in months)
    assert months[0].start == two_weeks.start and months[-1].end == two_weeks.end
    month = Period.hijri_month(1448, 6)
    assert month.days in (29, 30) and Period.hijri_month(1448, 12).end.year == 2027


def test_volumes_beside_the_previous_period(core, week):
    leadership = week.users["leadership"]
    by_channel = core.dashboards.volumes(leadership, WEEK, by="channel")
    assert [(r.key, r.received, r.previous_received, r.answered, r.previous_answered)
            for r in by_channel] == [("api", 9, 1, 5, 1)]
    by_agency = core.dashboards.volumes(leadership, WEEK, by="agency")
    assert [(r.key, r.received, r.answered) for r in by_agency] == [("MUN", 8, 4),
                                                                    ("HEALTH", 1, 1)]
    mine = core.dashboards.volumes(week.users["leader_MUN"], WEEK, by="specialist")
    assert {r.key for r in mine} >= {"spec_mun"}


def test_every_read_is_audited(core, week):
    from sqlalchemy import select

    from core.access.models import AuditEntry

    core.dashboards.voice_figures(week.users["leader_MUN"], WEEK)
    with core.db.read() as session:
        rows = session.execute(select(AuditEntry.object_kind, AuditEntry.object_id)
                               .where(AuditEntry.object_kind == "voice_figures")).all()
    assert rows == [("voice_figures", "MUN")]  # the leader's own agency, as applied


# The same on PostgreSQL (CI's second pass runs the tests marked so).

@pytest.mark.postgres
def test_the_weeks_figures_on_postgresql(core, week):
    test_the_weeks_figures_are_the_hand_worked_ones(core, week)
    test_the_league_ranks_on_medians_only_agencies_with_enough_cases(core, week)
    test_the_lists_behind_the_figures(core, week)
    test_the_trend_by_week_and_by_hijri_month(core, week)


@pytest.mark.postgres
def test_the_refresh_on_postgresql(core, week):
    test_the_refresh_is_incremental_idempotent_and_once_across_machines(core, week)


def test_gateway_dashboards_rebuild(core, week, database_url, tmp_path):
    from click.testing import CliRunner

    from gateway.cli import main
    from tests.gateway.test_cli import environment

    done = CliRunner().invoke(main, ["dashboards", "rebuild"],
                              env=environment(database_url, tmp_path))
    assert done.exit_code == 0, done.output
    assert "11 cases, 12 cycles" in done.output
