"""The leaders' Citizen's Voice figures at scale: the summary's full build and its
incremental refresh, the emirate's and one agency's figure sets, the league, the trend
and the lists behind the figures.

    .venv/bin/python bench/dashboards.py [--cases 1000000] [--database-url URL]
                                         [--rounds 5] [--keep DIR] [--reuse]

Data: ``bench/voice.py``'s loader (``--cases`` cases over 24 agencies and the emirate,
about 15 % open, the rest answered or closed over three years, about ten events each).
Then, each timed:

- **rebuild**: every case's facts (``gateway dashboards rebuild``), printed, not judged;
- **refresh**: 1 % of the cases changed (their ``updated_at`` moved to now), one
  incremental refresh (target < 60 s);
- **emirate figures** (leadership, every agency, the last 30 days and the last year, the
  previous period beside): p95 over ``--rounds`` (target < 1 s);
- **agency figures** (its leader, one agency, the same periods): p95 (target < 500 ms);
- **league** and **trend by week** (emirate, one year): p95, printed;
- **drill-down** (one agency's cycles answered late in the last year, first page; the
  overdue now, first page): p95 (target < 300 ms).

SQLite's target is every page under 2 s at 100,000 cases. The figures of the last
period are printed, to see they are sensible. Exit status 0 unless something broke.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import update  # noqa: E402
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
from core.dashboards.service import VoiceDashboards  # noqa: E402
from core.dashboards.voice import Filters, Period  # noqa: E402
from core.platform.db import Database  # noqa: E402
from core.voice.models import VoiceCase  # noqa: E402

LEADER = Actor(LEADERSHIP_ID, "leadership", "القيادة", LEADERSHIP, None)
AGENCY = 3
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


def _timed(call: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    return _p95(samples), result


def _verdict(value: float, target: float) -> str:
    return f"(target < {target:.0f} ms: {'PASS' if value < target else 'MISS'})"


def run(url: str, cases: int, rounds: int, reuse: bool, sqlite_target: bool) -> None:
    name = "SQLite" if make_url(url).get_backend_name() == "sqlite" else "PostgreSQL"
    print(f"{name}: {cases:,} cases", flush=True)
    if not reuse:
        events, seconds = load(url, cases)
        print(f"   loaded {cases:,} cases and {events:,} events in {seconds:.0f} s",
              flush=True)
    db = Database(url)
    dashboards = VoiceDashboards(db, CONFIG, clock=lambda: NOW)
    try:
        started = time.perf_counter()
        built = dashboards.rebuild(now=NOW)
        print(f"   rebuild: {built.cases:,} cases, {built.facts:,} cycles in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        later = NOW + timedelta(minutes=5)
        with db.write.begin() as session:
            session.execute(update(VoiceCase).where(VoiceCase.id % 100 == 0)
                            .values(updated_at=later))
        started = time.perf_counter()
        refreshed = dashboards.refresh("bench", timedelta(minutes=5), now=later)
        seconds = time.perf_counter() - started
        assert refreshed is not None
        print(f"   refresh of 1 % changed: {refreshed.cases:,} cases in {seconds:.2f} s "
              f"(target < 60 s: {'PASS' if seconds < 60 else 'MISS'})", flush=True)
        today = local_date(NOW, CONFIG.tz)
        month = Period(today - timedelta(days=29), today)
        year = Period(today - timedelta(days=364), today)
        emirate_t, agency_t, list_t = (2000, 2000, 2000) if sqlite_target else (1000, 500, 300)
        code = f"AG{AGENCY:02d}"
        for label, period in (("30 days", month), ("one year", year)):
            p95, figures = _timed(lambda p=period: dashboards.voice_figures(
                LEADER, p, now=later), rounds)
            print(f"   emirate figures, {label}: p95 {p95:.0f} ms {_verdict(p95, emirate_t)}")
            c = figures.current
            print(f"      received {c.received:,}, answered {c.answered:,}, on time "
                  f"{c.on_time_pct} %, median {c.median_answer_hours} h, p90 "
                  f"{c.p90_answer_hours} h, open {figures.backlog.open:,}, overdue "
                  f"{figures.backlog.overdue:,}, ageing {figures.backlog.ageing}, "
                  f"previous received {figures.previous.received:,}")
            p95, _ = _timed(lambda p=period: dashboards.voice_figures(
                AGENCY_LEADER_ACTOR, p, now=later), rounds)
            print(f"   agency figures, {label}: p95 {p95:.0f} ms {_verdict(p95, agency_t)}")
        p95, rows = _timed(lambda: dashboards.league(LEADER, year), rounds)
        print(f"   league, one year: p95 {p95:.0f} ms ({sum(r.rank is not None for r in rows)}"
              " ranked)")
        p95, points = _timed(lambda: dashboards.trend(LEADER, year, step="week"), rounds)
        print(f"   trend by week, one year: p95 {p95:.0f} ms ({len(points)} weeks)")
        p95, page = _timed(lambda: dashboards.cases_behind(
            LEADER, "answered_late", year, Filters(agency=code), now=later), rounds)
        print(f"   drill-down, {code} answered late in a year: p95 {p95:.0f} ms "
              f"{_verdict(p95, list_t)} ({len(page.rows)} rows)")
        p95, page = _timed(lambda: dashboards.cases_behind(
            LEADER, "overdue", year, now=later), rounds)
        print(f"   drill-down, overdue now: p95 {p95:.0f} ms {_verdict(p95, list_t)} "
              f"({len(page.rows)} rows)")
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_database_options(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboards-") as tmp:
        if args.database_url:
            url = args.database_url
        else:
            folder = Path(args.keep or tmp)
            folder.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{folder / 'voice.db'}"
        run(url, args.cases, args.rounds, args.reuse,
            make_url(url).get_backend_name() == "sqlite")


if __name__ == "__main__":
    main()
