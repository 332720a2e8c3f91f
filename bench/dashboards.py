"""The leaders' Citizen's Voice figures at scale: the summary's full build and its
incremental refresh, the emirate's and one agency's figure sets and whole pages, the
league, the trend and the lists behind the figures; beside them, the same period
figures read from the facts alone (as before the daily tables) and how far the
histograms' percentiles are from the exact ones.

    .venv/bin/python bench/dashboards.py [--cases 1000000] [--database-url URL]
                                         [--rounds 5] [--keep DIR] [--reuse]
                                         [--no-rebuild]

Data: ``bench/voice.py``'s cases and events (``--cases`` cases over 24 agencies and the
emirate, about 15 % open, the rest answered or closed over three years, about nine
events each), and the alarms their clocks raised. On PostgreSQL the cases go in by
``COPY``. Then, each timed:

- **rebuild**: every case's facts and the daily tables (``gateway dashboards
  rebuild``), printed, not judged (``--no-rebuild``: the summary as it stands);
- **refresh**: 1 % of the cases changed (those in progress answered now, the rated ones
  rated again, all touched), one incremental refresh (target < 60 s);
- **emirate figures** and the **emirate page** (every call ``/dashboards/voice`` makes
  for leadership: figures, league, trend, volumes by channel and category), the last
  30 days and the last year, the previous period beside: p95 (target < 1 s);
- **agency figures** and the **agency page** (figures, trend, volumes by channel,
  category and specialist, late cases): p95 (target < 500 ms);
- **league**, **trend** by week and by Hijri month (one year): p95, printed;
- **drill-down** (one agency's cycles answered in the last year, and another's answered
  late, first page each; the overdue now, first page): p95 (target < 300 ms).

Each p95 is over ``--rounds`` calls after one untimed call (a running gateway has built
and compiled its statements); the emirate page's first call is printed apart. Pages are
timed without their HTML. SQLite's target is every page under 2 s at 100,000 cases. The
figures of each period are printed, to see they are sensible. Exit status 0 unless
something broke.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import case, func, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import voice  # noqa: E402
from bench._dataset import loading, migrate_fresh, vacuum  # noqa: E402
from bench.voice import (  # noqa: E402
    CONFIG,
    LEADERSHIP_ID,
    NOW,
    _p95,
    _user_id,
    add_database_options,
)
from core.access.actors import AGENCY_LEADER, LEADERSHIP, Actor  # noqa: E402
from core.calendar.dates import local_date  # noqa: E402
from core.dashboards import voice as figures  # noqa: E402
from core.dashboards.models import CaseCycleFact, DailyCount, daily_times  # noqa: E402
from core.dashboards.service import VoiceDashboards  # noqa: E402
from core.dashboards.voice import Filters, Period, Scope  # noqa: E402
from core.directory.models import Agency  # noqa: E402
from core.platform.db import Database  # noqa: E402
from core.voice import states  # noqa: E402
from core.voice.models import VoiceCase  # noqa: E402

LEADER = Actor(LEADERSHIP_ID, "leadership", "القيادة", LEADERSHIP, None)
AGENCY = 3
LATER = NOW + timedelta(minutes=5)  # when the pages are read: after the refresh
AGENCY_LEADER_ACTOR = Actor(_user_id(AGENCY, AGENCY_LEADER), "leader", "قائد", AGENCY_LEADER,
                            AGENCY)


# --- the data ---------------------------------------------------------------------------


def load(url: str, cases: int) -> tuple[int, float]:
    """``bench/voice.py``'s cases and events, and the alarms their clocks have raised.
    On PostgreSQL the cases go in by ``COPY`` (a million rows in about a minute, where
    executemany takes several); the events and alarms by ``INSERT ... SELECT``."""
    if make_url(url).get_backend_name() == "sqlite":
        events, seconds = voice.load(url, cases)
        started = time.perf_counter()
        with loading(url) as engine, engine.begin() as conn:
            _alarms(conn)
        return events, seconds + time.perf_counter() - started
    started = time.perf_counter()
    migrate_fresh(url)
    with loading(url) as engine:
        with engine.begin() as conn:
            voice._reference(conn)
        _copy_cases(engine, cases)
        print(f"   {cases:,} cases in {time.perf_counter() - started:.0f} s", flush=True)
        with engine.begin() as conn:
            voice._steps(conn)
            events = voice._events(conn)
            _alarms(conn)
    vacuum(url)
    return events, time.perf_counter() - started


def _copy_cases(engine: Any, cases: int) -> None:
    columns = list(voice._case(0))
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor, cursor.copy(
                f"COPY voice_cases ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(cases):
                row = voice._case(i)
                copy.write_row([row[name] for name in columns])
        raw.commit()
    finally:
        raw.close()


def _alarms(conn: Any) -> int:
    """The alarms each case's clock raised (core.voice.alarms): a warning at three
    quarters of the answer target and a breach at the deadline for the cases answered
    late; up to the case's escalation for the open ones (leadership three days after
    the deadline)."""
    if conn.dialect.name == "sqlite":
        def plus(column: str, hours: int) -> str:
            return (f"strftime('%Y-%m-%d %H:%M:%S', {column}, '+{hours} hours') "
                    "|| '.000000'")
    else:
        def plus(column: str, hours: int) -> str:
            return f"{column} + interval '{hours} hours'"
    warning_hours = int(voice.TARGET.total_seconds() * 3 / 4 // 3600)
    return conn.exec_driver_sql(
        "INSERT INTO voice_alarms (case_id, cycle, level, raised_at) "
        f"SELECT c.id, 1, l.level, CASE l.level WHEN 1 THEN {plus('c.received_at', warning_hours)} "
        f"WHEN 2 THEN c.answer_due ELSE {plus('c.answer_due', 72)} END "
        "FROM voice_cases c JOIN (SELECT 1 AS level UNION ALL SELECT 2 UNION ALL SELECT 3) l "
        "ON (c.answered_at IS NOT NULL AND c.answered_at > c.answer_due AND l.level <= 2) "
        "OR (c.answered_at IS NULL AND l.level <= c.escalation)").rowcount


class Timing(float):
    """A p95 in milliseconds, the median beside it (the machine is shared: the median
    says how much of the p95 was someone else's work)."""

    median: float


def _timed(call: Callable[[], Any], rounds: int) -> tuple[Timing, Any]:
    """The p95 of ``rounds`` calls after a first one, untimed: a running gateway has
    built and compiled each statement once (a first call after a start costs more: see
    ``_first``)."""
    result = call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    timing = Timing(_p95(samples))
    timing.median = statistics.median(samples) * 1000
    return timing, result


def _first(call: Callable[[], Any]) -> float:
    """A first call's milliseconds (statements built and compiled)."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _verdict(value: Timing, target: float) -> str:
    return (f"(median {value.median:.0f} ms; target < {target:.0f} ms: "
            f"{'PASS' if value < target else 'MISS'})")


def _rebuild_and_refresh(db: Database, dashboards: VoiceDashboards, rebuild: bool) -> None:
    if rebuild:
        started = time.perf_counter()
        built = dashboards.rebuild(now=NOW)
        print(f"   rebuild: {built.cases:,} cases, {built.facts:,} cycles in "
              f"{time.perf_counter() - started:.1f} s (printed, not judged)", flush=True)
    with db.write.begin() as session:
        # 1 % of the cases changed now: the ones in progress answered, the rated ones
        # rated again (their answers' days move), the others touched only.
        # (``updated_at`` given each time: on its own it would take the machine's clock.)
        changed, c = VoiceCase.id % 100 == 0, VoiceCase
        session.execute(update(c).where(changed, c.state == states.IN_PROGRESS)
                        .values(state=states.ANSWERED, answered_at=NOW, updated_at=LATER))
        session.execute(update(c).where(changed, c.rating.is_not(None))
                        .values(rating=case((c.rating == 5, 4), else_=5), updated_at=LATER))
        session.execute(update(c).where(changed).values(updated_at=LATER))
    started = time.perf_counter()
    refreshed = dashboards.refresh("bench", timedelta(minutes=5), now=LATER)
    seconds = time.perf_counter() - started
    assert refreshed is not None and not refreshed.full
    print(f"   refresh of 1 % changed: {refreshed.cases:,} cases in {seconds:.2f} s "
          f"(target < 60 s: {'PASS' if seconds < 60 else 'MISS'})", flush=True)
    assert dashboards.release("bench")


def _sizes(db: Database) -> None:
    with db.read() as session:
        counts = [session.scalar(select(func.count()).select_from(table))
                  for table in (CaseCycleFact.__table__, DailyCount.__table__, daily_times)]
        sizes = ""
        if not db.is_sqlite:
            sizes = " (" + ", ".join(session.scalar(text(
                f"SELECT pg_size_pretty(pg_total_relation_size('{name}'))"))
                for name in ("voice_case_facts", "voice_daily", "voice_daily_times")) + ")"
    print(f"   rows: {counts[0]:,} facts, {counts[1]:,} daily counts, {counts[2]:,} daily "
          f"times{sizes}", flush=True)


def _emirate_page(dashboards: VoiceDashboards, period: Period) -> None:
    """Every call ``/dashboards/voice`` makes for leadership."""
    dashboards.league_of(dashboards.voice_figures(LEADER, period))
    dashboards.trend(LEADER, period, step="week")
    dashboards.volumes(LEADER, period, by="channel")
    dashboards.volumes(LEADER, period, by="category")


def _agency_page(dashboards: VoiceDashboards, period: Period) -> None:
    """Every call ``/dashboards/voice`` makes for an agency leader."""
    leader = AGENCY_LEADER_ACTOR
    dashboards.voice_figures(leader, period)
    dashboards.trend(leader, period, step="week")
    for by in ("channel", "category", "specialist"):
        dashboards.volumes(leader, period, by=by)
    dashboards.late_cases(leader, now=LATER)


def _baseline(db: Database, period: Period, rounds: int) -> None:
    """The emirate's period figures (this period and the previous, by agency and in
    all) from the facts alone, as they were read before the daily tables; beside the
    same from the daily tables, and how far the histograms' percentiles are from the
    exact ones."""
    def read(source: Callable[..., dict[Any, Any]]) -> dict[Any, Any]:
        with db.read() as session:
            source(session, CONFIG.tz, period.previous(), Scope(), total=True)
            return source(session, CONFIG.tz, period, Scope(), total=True)

    facts_p95, exact = _timed(lambda: read(figures.fact_tallies), rounds)
    daily_p95, estimated = _timed(lambda: read(figures.tallies), rounds)
    print(f"   baseline, emirate period figures for {period.days} days from the facts alone: "
          f"p95 {facts_p95:.0f} ms (median {facts_p95.median:.0f}); from the daily tables: "
          f"{daily_p95:.0f} ms (median {daily_p95.median:.0f})", flush=True)
    worst = 0.0
    for group, tally in exact.items():
        other = estimated[group]
        assert (tally.received, tally.answered, tally.answer_on_time, tally.rated) == \
            (other.received, other.answered, other.answer_on_time, other.rated), group
        for name in ("ack_p50", "ack_p90", "answer_p50", "answer_p90"):
            true, guess = getattr(tally, name), getattr(other, name)
            if true:
                worst = max(worst, abs(guess - true) / true)
    print(f"      the counts agree; the histograms' percentiles are at most "
          f"{100 * worst:.2f} % from the exact ones (bound: 6.25 %)", flush=True)


def run(url: str, cases: int, rounds: int, reuse: bool, rebuild: bool,
        sqlite_target: bool) -> None:
    name = "SQLite" if make_url(url).get_backend_name() == "sqlite" else "PostgreSQL"
    print(f"{name}: {cases:,} cases", flush=True)
    if not reuse:
        events, seconds = load(url, cases)
        print(f"   loaded {cases:,} cases and {events:,} events in {seconds:.0f} s",
              flush=True)
    db = Database(url)
    dashboards = VoiceDashboards(db, CONFIG, clock=lambda: NOW)
    try:
        _rebuild_and_refresh(db, dashboards, rebuild)
        _sizes(db)
        today = local_date(NOW, CONFIG.tz)
        month = Period(today - timedelta(days=29), today)
        year = Period(today - timedelta(days=364), today)
        emirate_t, agency_t, list_t = (2000, 2000, 2000) if sqlite_target else (1000, 500, 300)
        code = f"AG{AGENCY:02d}"
        first = _first(lambda: _emirate_page(dashboards, year))
        print(f"   emirate page, one year, the first call after a start: {first:.0f} ms",
              flush=True)
        for label, period in (("30 days", month), ("one year", year)):
            p95, found = _timed(lambda p=period: dashboards.voice_figures(
                LEADER, p), rounds)
            print(f"   emirate figures, {label}: p95 {p95:.0f} ms {_verdict(p95, emirate_t)}")
            c = found.current
            print(f"      received {c.received:,}, answered {c.answered:,}, on time "
                  f"{c.on_time_pct} %, median {c.median_answer_hours} h, p90 "
                  f"{c.p90_answer_hours} h, escalations {c.escalations}, open "
                  f"{found.backlog.open:,}, overdue {found.backlog.overdue:,}, ageing "
                  f"{found.backlog.ageing}, previous received {found.previous.received:,}")
            p95, _ = _timed(lambda p=period: _emirate_page(dashboards, p), rounds)
            print(f"   emirate page (figures, league, trend, 2 volumes), {label}: p95 "
                  f"{p95:.0f} ms {_verdict(p95, emirate_t)}")
            p95, _ = _timed(lambda p=period: dashboards.voice_figures(
                AGENCY_LEADER_ACTOR, p), rounds)
            print(f"   agency figures, {label}: p95 {p95:.0f} ms {_verdict(p95, agency_t)}")
            p95, _ = _timed(lambda p=period: _agency_page(dashboards, p), rounds)
            print(f"   agency page (figures, trend, 3 volumes, late cases), {label}: p95 "
                  f"{p95:.0f} ms {_verdict(p95, agency_t)}", flush=True)
        p95, rows = _timed(lambda: dashboards.league(LEADER, year), rounds)
        print(f"   league, one year: p95 {p95:.0f} ms (median {p95.median:.0f} ms; "
              f"{sum(r.rank is not None for r in rows)}"
              " ranked)")
        p95, points = _timed(lambda: dashboards.trend(LEADER, year, step="week"), rounds)
        print(f"   trend by week, one year: p95 {p95:.0f} ms (median {p95.median:.0f} ms; "
              f"{len(points)} weeks)")
        p95, points = _timed(lambda: dashboards.trend(LEADER, year, step="hijri_month"),
                             rounds)
        print(f"   trend by Hijri month, one year: p95 {p95:.0f} ms (median "
              f"{p95.median:.0f} ms; {len(points)} months)")
        # The lists behind two figures of a year: one agency's every answer (thousands:
        # the first page of 50), and the late ones of the agency with the most (the
        # data's late answers of the last year are in a few agencies: AG03's list was
        # empty, and measured nothing, until 5 December).
        for figure, agency in (("answered", code), ("answered_late", _most_late(db, year))):
            p95, page = _timed(lambda f=figure, a=agency: dashboards.cases_behind(
                LEADER, f, year, Filters(agency=a), now=LATER), rounds)
            assert page.rows, f"the drill-down {figure} of {agency} found no case"
            print(f"   drill-down, {agency} {figure.replace('_', ' ')} in a year: p95 "
                  f"{p95:.0f} ms {_verdict(p95, list_t)} ({len(page.rows)} rows)")
        p95, page = _timed(lambda: dashboards.cases_behind(
            LEADER, "overdue", year, now=LATER), rounds)
        print(f"   drill-down, overdue now: p95 {p95:.0f} ms {_verdict(p95, list_t)} "
              f"({len(page.rows)} rows)", flush=True)
        _baseline(db, year, rounds)
    finally:
        db.dispose()


def _most_late(db: Database, period: Period) -> str:
    """The agency with the most answers late within ``period``."""
    with db.read() as session:
        return session.execute(
            select(Agency.code).join(CaseCycleFact, CaseCycleFact.agency_id == Agency.id)
            .where(CaseCycleFact.answered_on_time.is_(False),
                   CaseCycleFact.answered_day.between(period.start, period.end))
            .group_by(Agency.code).order_by(func.count().desc()).limit(1)).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_options(parser)
    parser.add_argument("--no-rebuild", action="store_true",
                        help="with --reuse: the summary as it stands, no rebuild")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboards-") as tmp:
        if args.database_url:
            url = args.database_url
        else:
            folder = Path(args.keep or tmp)
            folder.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{folder / 'voice.db'}"
        run(url, args.cases, args.rounds, args.reuse, not args.no_rebuild,
            make_url(url).get_backend_name() == "sqlite")


if __name__ == "__main__":
    main()
