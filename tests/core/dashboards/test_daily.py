"""The daily tables (core/dashboards/daily.py) against the facts they sum, on the
hand-built week of tests/core/voice/test_dashboards.py: the figures read from them are
the facts' (counts exactly; percentiles exactly up to ``EXACT_DAYS``, within the
histogram's bound beyond), and after each incremental refresh (a case acted on either
side of midnight, a reopened case, a case sent to another agency, a full refresh
stopped halfway) the daily rows are exactly what summing every fact anew gives."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.dashboards import daily, histogram, summary
from core.dashboards.models import (
    SPECIALIST_COUNTS,
    DailyCount,
    DailySpecialistCount,
    DashboardRefresh,
    daily_times,
    weekly_times,
)
from core.dashboards.voice import (
    ALL,
    EXACT_DAYS,
    SUMMARY,
    Period,
    Scope,
    fact_tallies,
    tallies,
    week_pieces,
)
from tests.core.voice.conftest import PROOF
from tests.core.voice.test_dashboards import (  # noqa: F401  (fixtures)
    NOW,
    WEEK,
    assign,
    at,
    local,
    settings,
    start,
    week,
)

TTL = timedelta(minutes=1)
LONG = Period(date(2026, 10, 25), date(2026, 12, 31))  # 68 days: histograms
COUNTS = ("received", "acknowledged", "ack_on_time", "answered", "answer_on_time", "rated",
          "rating_sum", "satisfied", "reopened", "escalations")
TIMES = ("ack_p50", "ack_p90", "answer_p50", "answer_p90")


def rows(core) -> tuple[dict, dict, dict, dict]:
    """The daily counts, the daily times, the weekly times and the counts by
    specialist, by key."""
    with core.db.read() as session:
        counts = {tuple(row[:5]): tuple(row[5:])
                  for row in session.execute(select(DailyCount.__table__))}
        times, weeks = ({tuple(row[:2]): tuple(row[2:]) for row in session.execute(select(t))}
                        for t in (daily_times, weekly_times))
        specialists = {tuple(row[:3]): tuple(row[3:])
                       for row in session.execute(select(DailySpecialistCount.__table__))}
    return counts, times, weeks, specialists


def assert_the_sums_of_the_facts(core) -> None:
    """The daily rows are what summing every fact anew gives (nothing left at zero)."""
    kept = rows(core)
    with core.db.write.begin() as session:
        daily.reload(session)
    assert rows(core) == kept


def refresh(core, moment) -> summary.Refreshed:
    done = core.dashboards.refresh("test", TTL, now=moment)
    assert done is not None and done.complete
    return done


def compare(core, period: Period, by, scope: Scope | None = None) -> None:
    """``tallies`` (the daily tables) against ``fact_tallies`` (the facts alone)."""
    scope = scope or Scope()
    with core.db.read() as session:
        exact = fact_tallies(session, core.config.tz, period, scope, by, total=True)
        read = tallies(session, core.config.tz, period, scope, by, total=True)
    assert set(read) == set(exact), (period, by)
    for group, tally in exact.items():
        assert [getattr(read[group], n) for n in COUNTS] == \
            [getattr(tally, n) for n in COUNTS], (period, by, group)
        for name in TIMES:
            true, found = getattr(tally, name), getattr(read[group], name)
            if period.days <= EXACT_DAYS or scope.category_id is not None or by not in (
                    "agency", None):
                assert found == true, (period, by, group, name)
            elif true is None:
                assert found is None
            else:  # within one bin: exact below 32 minutes, a sixteenth above
                assert abs(found - true) <= max(0.0, true / 16), (period, by, group, name)


@pytest.mark.parametrize("period", [WEEK, LONG], ids=["week", "long"])
def test_the_daily_tables_give_the_facts_figures(core, week, period):  # noqa: F811
    assert_the_sums_of_the_facts(core)
    for by in ("agency", "category", "channel", "type", None):
        compare(core, period, by)
    mun = week.agencies["MUN"]
    compare(core, period, "agency", Scope(agency_id=mun))
    for scope in (Scope(), Scope(agency_id=mun)):  # by specialist: its own daily counts
        with core.db.read() as session:
            exact, read = (tallies_of(session, core.config.tz, period, scope, "specialist",
                                      times=False, counts=SPECIALIST_COUNTS)
                           for tallies_of in (fact_tallies, tallies))
        assert {k: (t.received, t.answered) for k, t in read.items()} == \
            {k: (t.received, t.answered) for k, t in exact.items()}
    compare(core, period, None, Scope(case_type="complaint"))
    with core.db.read() as session:
        whole = tallies(session, core.config.tz, period, Scope(), None)[None]
    assert (whole.received, whole.answered) == ((9, 5) if period == WEEK else (11, 6))


def test_the_long_periods_percentiles_come_from_the_histograms(core, week):  # noqa: F811
    """Over ``LONG``: answers of 810, 1320, 240, 120, 120 and (the week before) 420
    minutes, each inside its bin; the median is their middle two's mean within a bin.
    First responses: the week's and P's 10 minutes."""
    with core.db.read() as session:
        found = tallies(session, core.config.tz, LONG, Scope(), None, total=True)[ALL]
    assert found.answer_p50 == pytest.approx(330, abs=16)  # (240 + 420) / 2
    assert found.ack_p50 == 20.0  # [5, 10, 10, 20, 30, 30, 180]: under 32 minutes, exact
    points = core.dashboards.trend(week.users["leadership"], LONG, step="week")
    # Each week's median inside its bin: 420 minutes in [416, 431], 240 in [240, 247].
    assert [(p.label, p.received, p.answered, p.median_answer_hours) for p in points
            if p.received or p.answered] == [("2026-11-15", 1, 1, round(423.5 / 60, 2)),
                                             ("2026-11-22", 9, 5, round(243.5 / 60, 2)),
                                             ("2026-11-29", 1, 0, None)]
    assert len(points) == 10 and points[0].start == LONG.start


def test_acts_either_side_of_midnight_count_on_their_own_days(core, week):  # noqa: F811
    """I, received Thursday 3 December 08:00, is assigned at 23:55 and answered at
    00:05 on Friday, with a refresh between: the first response counts on the 3rd, the
    answer on the 4th, and nothing else moves."""
    tracking = week.cases["I"]
    thursday, friday = Period(date(2026, 12, 3), date(2026, 12, 3)), \
        Period(date(2026, 12, 4), date(2026, 12, 4))
    before = rows(core)
    assign(week, tracking, local(3, 23, 55, month=12))
    refresh(core, local(3, 23, 58, month=12))
    at(week, local(4, 0, 2, month=12)).act(week.specialist("MUN"), tracking, "start")
    at(week, local(4, 0, 4, month=12)).act(week.specialist("MUN"), tracking, "answer",
                                           text="أصلح")
    at(week, local(4, 0, 5, month=12)).act(week.coordinator("MUN"), tracking, "approve")
    done = refresh(core, local(4, 0, 10, month=12))
    assert done.cases >= 1 and not done.full
    leadership = week.users["leadership"]
    on_thursday = core.dashboards.voice_figures(leadership, thursday).current
    on_friday = core.dashboards.voice_figures(leadership, friday).current
    assert (on_thursday.received, on_thursday.acknowledged, on_thursday.answered) == (1, 1, 0)
    assert (on_friday.received, on_friday.acknowledged, on_friday.answered) == (0, 0, 1)
    counts, *_times = rows(core)
    moved = {key for key in counts if counts[key] != before[0].get(key)}
    assert {key[0] for key in moved} == {date(2026, 12, 3), date(2026, 12, 4)}
    assert_the_sums_of_the_facts(core)
    compare(core, Period(date(2026, 12, 3), date(2026, 12, 4)), "agency")


def test_a_reopened_case_counts_again_on_its_first_answers_day(core, week):  # noqa: F811
    """B, answered Thursday 26 November, is reopened a week later: its first cycle now
    counts as reopened on the 26th, and its second cycle is no case received again."""
    leadership = week.users["leadership"]
    before = core.dashboards.voice_figures(leadership, WEEK).current
    week.voice.citizen_act(week.cases["B"], "reopen", PROOF, now=NOW + timedelta(hours=1))
    refresh(core, NOW + timedelta(hours=2))
    after = core.dashboards.voice_figures(leadership, WEEK).current
    assert (before.reopened, after.reopened) == (1, 2)
    assert after.received == before.received and after.answered == before.answered
    counts, *_times = rows(core)
    mun = week.agencies["MUN"]
    assert sum(row[DailyCount.__table__.c.keys().index("reopened") - 5]
               for key, row in counts.items()
               if key[0] == date(2026, 11, 26) and key[1] == mun) == 1
    assert_the_sums_of_the_facts(core)
    for period in (WEEK, LONG):
        compare(core, period, "agency")


def test_a_case_sent_to_another_agency_moves_its_counts(core, week):  # noqa: F811
    """A case received at the emirate and sent on to HEALTH counts for HEALTH only."""
    leadership = week.users["leadership"]
    tracking = at(week, NOW + timedelta(hours=1)).file("complaint", None)
    refresh(core, NOW + timedelta(hours=2))
    today = Period(date(2026, 12, 3), date(2026, 12, 3))

    def received() -> dict[str, int]:
        found = core.dashboards.voice_figures(leadership, today)
        return {row.agency: row.current.received for row in found.by_agency
                if row.current.received}

    assert received() == {"EMIRATE": 1, "MUN": 1}
    at(week, NOW + timedelta(hours=3)).act(week.coordinator("EMIRATE"), tracking, "route",
                                           agency="HEALTH")
    refresh(core, NOW + timedelta(hours=4))
    assert received() == {"HEALTH": 1, "MUN": 1}
    assert_the_sums_of_the_facts(core)


def test_refreshing_the_same_changes_twice_moves_nothing(core, week):  # noqa: F811
    kept = rows(core)
    refresh(core, NOW + timedelta(minutes=1))  # the overlap reads the last changes again
    with core.db.write.begin() as session:
        summary.write_facts(session, list(range(1, 20)), core.config.tz)
    assert rows(core) == kept


def test_a_full_refresh_stopped_halfway_is_done_again_in_full(core, week):  # noqa: F811
    kept = rows(core)
    stopped = summary.refresh(core.db, core.config, now=NOW + timedelta(hours=1), full=True,
                              batch=3, keep_going=lambda: False)
    assert not stopped.complete and stopped.cases == 3
    with core.db.read() as session:
        assert session.get(DashboardRefresh, SUMMARY).full_pending
    resumed = refresh(core, NOW + timedelta(hours=2))
    assert resumed.full and resumed.cases == 11
    with core.db.read() as session:
        assert not session.get(DashboardRefresh, SUMMARY).full_pending
    assert rows(core) == kept
    assert refresh(core, NOW + timedelta(hours=3)).full is False


def test_the_histograms_hold_every_time_once_by_day_and_by_week(core, week):  # noqa: F811
    _counts, times, weeks, _specialists = rows(core)
    for table in (times, weeks):
        first_responses = sum(row[0] for row in table.values())
        answers = sum(row[1] for row in table.values())
        assert (first_responses, answers) == (7, 6)  # A B F F G H P; A B F F G P
        for row in table.values():
            assert sum(row[2:2 + histogram.BINS]) == row[0]
            assert sum(row[2 + histogram.BINS:]) == row[1]
    assert {week for week, _agency in weeks} == {date(2026, 11, 15), date(2026, 11, 22)}


def test_a_period_is_read_as_whole_weeks_and_the_days_around_them():
    sunday, saturday = date(2026, 11, 22), date(2026, 11, 28)
    assert week_pieces(sunday, saturday) == ((sunday, sunday), [])
    assert week_pieces(sunday + timedelta(days=1), saturday) == (None, [(date(2026, 11, 23),
                                                                     saturday)])
    assert week_pieces(date(2026, 11, 20), date(2026, 12, 9)) == (
        (date(2026, 11, 22), date(2026, 11, 29)),
        [(date(2026, 11, 20), date(2026, 11, 21)), (date(2026, 12, 6), date(2026, 12, 9))])


@pytest.mark.postgres
def test_the_daily_tables_on_postgresql(core, week):  # noqa: F811
    for period in (WEEK, LONG):
        test_the_daily_tables_give_the_facts_figures(core, week, period)
    test_the_long_periods_percentiles_come_from_the_histograms(core, week)


@pytest.mark.postgres
def test_incremental_refreshes_on_postgresql(core, week):  # noqa: F811
    test_acts_either_side_of_midnight_count_on_their_own_days(core, week)
    test_a_reopened_case_counts_again_on_its_first_answers_day(core, week)
    test_a_full_refresh_stopped_halfway_is_done_again_in_full(core, week)


def test_a_short_period_with_many_cycles_reads_the_histograms(core, week, monkeypatch):  # noqa: F811
    """Past ``EXACT_CYCLES`` first responses and answers the week's percentiles come
    from the histograms too: each within its bin of the exact one."""
    from core.dashboards import voice

    with core.db.read() as session:
        exact = fact_tallies(session, core.config.tz, WEEK, Scope(), None, total=True)[ALL]
        monkeypatch.setattr(voice, "EXACT_CYCLES", 10)  # the week has 6 + 5
        estimated = tallies(session, core.config.tz, WEEK, Scope(), None, total=True)[ALL]
    assert estimated.answer_p90 != exact.answer_p90  # 1116 minutes, estimated in its bin
    for name in TIMES:
        true, found = getattr(exact, name), getattr(estimated, name)
        assert abs(found - true) <= (true / 16 if true >= histogram.EXACT_BELOW else 0), name
    assert (estimated.answered, estimated.acknowledged) == (exact.answered, exact.acknowledged)


def test_an_alarm_raised_without_the_level_before_counts(core, week):  # noqa: F811
    """A breach raised with no warning before it (a scan that came late) counts as a
    breach on its day, from the facts and from the daily counts alike."""
    from core.voice.models import CaseAlarm, VoiceCase

    with core.db.write.begin() as session:
        case_id = session.scalar(select(VoiceCase.id).where(
            VoiceCase.tracking == week.cases["I"]))
        session.add(CaseAlarm(case_id=case_id, cycle=1, level=2,
                              raised_at=NOW + timedelta(minutes=30)))
    refresh(core, NOW + timedelta(hours=1))
    today = Period(date(2026, 12, 3), date(2026, 12, 3))
    with core.db.read() as session:
        exact = fact_tallies(session, core.config.tz, today, Scope(), None)[None]
        read = tallies(session, core.config.tz, today, Scope(), None)[None]
    assert exact.escalations == read.escalations == {"warning": 0, "breach": 1,
                                                      "leadership": 0}
    assert_the_sums_of_the_facts(core)


def test_the_backlog_is_counted_at_each_refresh(core, week):  # noqa: F811
    """Open, overdue and ageing are the live cases' at the last refresh: a case filed
    after it counts from the next one, and time alone moves the ageing."""
    leadership = week.users["leadership"]
    before = core.dashboards.voice_figures(leadership, WEEK).backlog
    assert (before.open, before.overdue) == (4, 3)
    at(week, NOW + timedelta(minutes=10)).file("complaint", "MUN")
    assert core.dashboards.voice_figures(leadership, WEEK).backlog == before
    refresh(core, NOW + timedelta(minutes=20))
    after = core.dashboards.voice_figures(leadership, WEEK).backlog
    assert (after.open, after.ageing["0-3"]) == (5, before.ageing["0-3"] + 1)
    refresh(core, NOW + timedelta(days=7))  # nothing changed; a working week went by
    later = core.dashboards.voice_figures(leadership, WEEK).backlog
    assert later.open == 5 and later.ageing["0-3"] == 0 and later.overdue == 5
    mun = core.dashboards.voice_figures(week.users["leader_MUN"], WEEK).backlog
    assert mun.open == 5  # all of them are MUN's
